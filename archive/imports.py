"""Reading WARC collections storycrawl did not write: wget's, Heritrix's, Browsertrix's
(WACZ), Common Crawl's CC-NEWS, or storycrawl's own from another data directory.

An imported page is no copy: its row points at the record where it lies, in the file the
user gave (an absolute path), so export, re-extraction and replay read the original bytes.
A WACZ keeps its WARC files uncompressed inside the zip (ZIP_STORED, as the WACZ spec
asks), so a record inside one lies at a plain offset of the .wacz file itself.

Files are streamed a record at a time, whatever their size. What is not an HTML page with
status 200 is skipped, and counted; a malformed or truncated record ends the reading of
its file (a WARC has no way to find the next record after a broken one), and is counted.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from archive.warc import WarcRef

#: The endings of the files an import reads (a directory is searched for these).
COLLECTION_SUFFIXES = (".warc", ".warc.gz", ".wacz")
#: A zip local file header's fixed part: the name and extra field follow it.
_ZIP_LOCAL_HEADER = 30
_CHUNK = 1 << 16


@dataclass(frozen=True)
class ImportedPage:
    """An HTML response found in a collection, with where its record lies."""

    url: str
    status: int
    content_type: str | None
    fetched_at: datetime
    warc: WarcRef


@dataclass
class FileReading:
    """What reading one file found: its pages, and why the other records were skipped."""

    path: Path
    pages: list[ImportedPage] = field(default_factory=list)
    records: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def skip(self, why: str) -> None:
        self.skipped[why] += 1


def collection_files(paths: list[Path]) -> list[Path]:
    """The files to read: the paths given, and the WARC and WACZ files under a directory.
    ValueError, with one line to show, for a path that is neither."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and _is_collection(p.name))
            )
        elif path.is_file():
            if not _is_collection(path.name):
                endings = ", ".join(COLLECTION_SUFFIXES)
                raise ValueError(f"{str(path)!r} is not a WARC or WACZ file ({endings})")
            found.append(path)
        else:
            raise ValueError(f"{str(path)!r} not found")
    return [p.resolve() for p in found]


def _is_collection(name: str) -> bool:
    return name.lower().endswith(COLLECTION_SUFFIXES)


def read_collection(path: Path) -> FileReading:
    """Every HTML page of a WARC or WACZ file, with the skipped records counted."""
    reading = FileReading(path)
    if path.name.lower().endswith(".wacz"):
        _read_wacz(path, reading)
    else:
        with open(path, "rb") as stream:
            _read_warc(stream, 0, reading)
    return reading


def _read_wacz(path: Path, reading: FileReading) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        reading.skip("not a readable zip file")
        return
    with archive, open(path, "rb") as raw:
        for member in archive.infolist():
            if not member.filename.startswith("archive/") or not _is_collection(member.filename):
                continue
            if member.compress_type != zipfile.ZIP_STORED:
                # Its records lie at no offset of the .wacz that a page row could name.
                reading.skip("WARC compressed inside the WACZ")
                continue
            start = _member_data_offset(raw, member)
            raw.seek(start)
            _read_warc(_Window(raw, member.file_size), start, reading)


def _member_data_offset(raw: BinaryIO, member: zipfile.ZipInfo) -> int:
    """Where a stored member's bytes begin: after its local header, whose name and extra
    field lengths may differ from the central directory's."""
    raw.seek(member.header_offset + 26)
    lengths = raw.read(4)
    name_length = int.from_bytes(lengths[:2], "little")
    extra_length = int.from_bytes(lengths[2:], "little")
    return member.header_offset + _ZIP_LOCAL_HEADER + name_length + extra_length


class _Window(io.RawIOBase):
    """The next ``size`` bytes of a stream, as a stream of its own."""

    def __init__(self, stream: BinaryIO, size: int):
        self._stream = stream
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            return 0
        data = self._stream.read(min(len(buffer), self._left))
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)


def _read_warc(stream: BinaryIO | io.RawIOBase, base: int, reading: FileReading) -> None:
    """The records of one WARC stream; offsets are ``base`` plus the stream's own."""
    iterator = ArchiveIterator(stream, arc2warc=True)
    try:
        for record in iterator:
            reading.records += 1
            found = _page(record)
            while record.raw_stream.read(_CHUNK):
                pass
            if getattr(record.raw_stream, "limit", 0) > 0:
                # The file ends inside the record: warcio reads what there is, silently.
                raise EOFError("record cut short")
            iterator.read_to_end(record)
            if isinstance(found, str):
                reading.skip(found)
                continue
            url, status, content_type, fetched_at, digest = found
            ref = WarcRef(
                file=str(reading.path),
                offset=base + iterator.get_record_offset(),
                length=iterator.get_record_length(),
                record_id=record.rec_headers.get_header("WARC-Record-ID") or "",
                payload_digest=digest,
            )
            reading.pages.append(ImportedPage(url, status, content_type, fetched_at, ref))
    except (ArchiveLoadFailed, EOFError, zlib.error, ValueError, OSError):
        reading.skip("malformed or truncated record (the rest of the file is unread)")


def _page(record) -> tuple[str, int, str | None, datetime, str | None] | str:
    """The facts of an HTML page's response record, or why the record is not one."""
    if record.rec_type != "response":
        return f"{record.rec_type} record"
    http = record.http_headers
    if http is None or not http.protocol.upper().startswith("HTTP"):
        return "response without HTTP headers"
    content_type = http.get_header("Content-Type")
    if not content_type or not content_type.lower().startswith("text/html"):
        return "not HTML"
    try:
        status = int(http.get_statuscode())
    except ValueError:
        return "response without a status"
    if status != 200:
        return f"status {status}"
    headers = record.rec_headers
    url = headers.get_header("WARC-Target-URI") or ""
    if not url.startswith(("http://", "https://")):
        return "not an http(s) URL"
    return (
        url,
        status,
        content_type,
        _warc_moment(headers.get_header("WARC-Date")),
        (headers.get_header("WARC-Payload-Digest")),
    )


def _warc_moment(value: str | None) -> datetime:
    """A WARC-Date as naive UTC, as page rows keep times (wget writes whole seconds,
    Browsertrix milliseconds)."""
    if not value:
        return datetime.now(UTC).replace(tzinfo=None)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(UTC).replace(tzinfo=None)

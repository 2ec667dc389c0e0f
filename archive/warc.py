"""WARC writing and reading: one gzip member per record, rotation between fetch groups.

Files are written as ``….warc.gz.open`` and renamed when closed, so any file without the
suffix is complete, and a tool that lists finished WARCs never picks up one still growing.
The writer holds an flock on its open file: the recovery of files a killed crawl left open
passes over those a live crawl (of any story sharing the folder) is writing.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import socket
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

from cdxj_indexer.main import write_cdx_index
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from archive.coding import DEFAULT_LIMIT, TooLarge, UnsupportedCoding, codings_of, decode
from archive.crashpoints import crash_point

OPEN_SUFFIX = ".open"
NOT_MODIFIED_PROFILE = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
DEFAULT_MAX_SIZE = 1_000_000_000
#: zlib's default: see WarcWriter._append.
COMPRESSION_LEVEL = 6
#: For a payload compressed already: deflating 25 KB of gzip again costs 0.3 ms and saves
#: nothing, so the record's gzip member stores it as it is (valid gzip all the same).
STORED = 0

#: Headers that Scrapy has already undone (the chunking) and whose values therefore no
#: longer describe the stored body; kept under these names, as Common Crawl's news crawler
#: does, so nothing the server sent is lost.
_RENAMED = {
    "transfer-encoding": "X-Crawler-Transfer-Encoding",
    "content-length": "X-Crawler-Content-Length",
}


@dataclass(frozen=True)
class WarcRef:
    """Where a record lives: what a page row keeps to find its capture again."""

    file: str
    offset: int
    length: int
    record_id: str
    payload_digest: str | None
    rec_type: str = "response"


@dataclass(frozen=True, slots=True)  # a crawl keeps one per page it archives
class Original:
    """An earlier capture of the same payload, which a revisit record refers to."""

    url: str
    date: str  # its WARC-Date
    record_id: str
    digest: str | None = None  # its payload digest


@dataclass(frozen=True)
class Recovery:
    """What was done with a file a killed crawl left open."""

    file: str
    records: int
    cut_bytes: int
    set_aside: bool

    def __str__(self) -> str:
        if self.set_aside:
            return f"{self.file}: no complete record, set aside as {self.file}.corrupt"
        cut = f", cut {self.cut_bytes} bytes of a partial record" if self.cut_bytes else ""
        return f"{self.file}: closed with its {self.records} complete records{cut}"


@dataclass(frozen=True)
class Exchange:
    """One HTTP fetch as it went over the wire (less the chunking the client removed)."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    protocol: str
    status: int
    response_headers: list[tuple[str, str]]
    body: bytes
    fetched_at: datetime
    ip_address: str | None = None
    truncated: str | None = None  # "length" or "disconnect", the WARC-Truncated reasons
    #: The URL actually requested when it is not ``url``: a web archive's replay URL of a
    #: capture of ``url`` (the request record keeps what went over the wire).
    requested: str | None = None


def _host_name() -> str:
    return socket.gethostname().replace("-", "_")


@dataclass
class WarcWriterConfig:
    directory: Path
    prefix: str = "storycrawl"
    max_size: int = DEFAULT_MAX_SIZE
    info: dict[str, str] = field(default_factory=dict)
    host: str = field(default_factory=_host_name)  # in file names: parallel writers' apart


def status_line(status: int) -> str:
    """Status and the standard reason phrase: what the server said is not kept by Scrapy."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    return f"{status} {reason}".rstrip()


def response_headers_as_stored(headers: Iterable[tuple[str, str]], body_length: int) -> list:
    """Headers for the response block: the received ones, chunking renamed, a true length."""
    stored = []
    for name, value in headers:
        renamed = _RENAMED.get(name.lower())
        if renamed and not (name.lower() == "content-length" and value == str(body_length)):
            stored.append((renamed, value))
        elif not renamed:
            stored.append((name, value))
    stored.append(("Content-Length", str(body_length)))
    return stored


def is_compressed(headers: Iterable[tuple[str, str]]) -> bool:
    """Whether a response's body is compressed already: by a Content-Encoding, or by its
    format (images other than SVG, audio, video)."""
    fields = {name.lower(): value.strip().lower() for name, value in headers}
    if fields.get("content-encoding", "identity") not in ("", "identity"):
        return True
    media = fields.get("content-type", "")
    return media.startswith(("image/", "audio/", "video/")) and "svg" not in media


def warc_date(moment: datetime) -> str:
    """WARC 1.1 date with microseconds; naive datetimes are taken as UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return datetime_to_iso_date(moment, use_micros=True)


def payload_digest(body: bytes) -> str:
    """The WARC-Payload-Digest a response with this body gets: the key revisits are found by."""
    digester = Digester("sha1")
    digester.update(body)
    return str(digester)


def index_file(path: Path) -> Path:
    """Write the file's CDXJ index beside it, as pywb and other replay tools read it.

    Written whole or not at all (a ``.partial`` renamed): a crawl killed while indexing
    left a short index, which replay tools read as records missing."""
    output = path.with_name(path.name + ".cdxj")
    partial = output.with_name(output.name + ".partial")
    try:
        write_cdx_index(str(partial), [str(path)], {"sort": True})
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return output


def _lock(stream: io.BufferedIOBase) -> bool:
    """Take the exclusive flock of an open WARC file; False when a live process holds it.
    The kernel drops it when its holder exits, however it exits."""
    try:
        fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class _RecordMaker(WARCWriter):
    """warcio's record builder, taking record ids and the warcinfo's date from the
    WarcWriter's factories: injected, they make a file byte-comparable from run to run (the
    idea of warcio's own FixedTestWARCWriter)."""

    def __init__(
        self, out: io.BytesIO, clock: Callable[[], datetime], ids: Callable[[], str] | None
    ) -> None:
        super().__init__(out, gzip=False, warc_version="1.1")
        self._clock, self._ids = clock, ids

    def _make_warc_id(self) -> str:  # type: ignore[override]
        return self._ids() if self._ids else super()._make_warc_id()

    def _make_warc_date(self, use_micros: bool = False) -> str:  # type: ignore[override]
        return warc_date(self._clock())


class WarcWriter:
    """Appends fetch groups to rotating WARC files in one directory.

    One writer per crawl process: the serial in the file name, with the timestamp and the
    host name, keeps files of parallel workers apart. ``clock`` and ``record_ids`` default
    to the wall clock and warcio's random UUIDs.
    """

    def __init__(
        self,
        config: WarcWriterConfig,
        clock: Callable[[], datetime] | None = None,
        on_open: Callable[[str], None] | None = None,
        record_ids: Callable[[], str] | None = None,
    ):
        self.config = config
        self._clock = clock or (lambda: datetime.now(UTC))
        self._record_ids = record_ids
        #: Told each file's name before the file exists: a crawl records its files, so that
        #: a resume finds the records it wrote and never stored (crawler.replay).
        self._on_open = on_open
        #: The first write that failed (a full disk): the file ends before that record, and
        #: nothing more is written to it.
        self.failed: OSError | None = None
        self._serial = 0
        self._file: io.FileIO | None = None
        self._writer: WARCWriter | None = None
        self._name = ""
        self._warcinfo_id = ""
        self._record_buffer = io.BytesIO()  # one record, serialised, before it is compressed
        config.directory.mkdir(parents=True, exist_ok=True)

    # -- files ----------------------------------------------------------------------------

    def _open(self) -> None:
        stamp = self._clock().strftime("%Y%m%d%H%M%S%f")[:17]
        self._name = f"{self.config.prefix}-{stamp}-{self._serial:05d}-{self.config.host}.warc.gz"
        self._serial += 1
        if self._on_open:
            self._on_open(self._name)
        self._file = open(self.config.directory / (self._name + OPEN_SUFFIX), "wb", buffering=0)  # noqa: SIM115
        _lock(self._file)
        self._writer = _RecordMaker(self._record_buffer, self._clock, self._record_ids)
        record = self._writer.create_warcinfo_record(self._name, self.config.info)
        self._warcinfo_id = record.rec_headers.get_header("WARC-Record-ID")
        self._append(record)

    def close(self) -> None:
        """Close the current file and drop its ``.open`` suffix; safe to call twice. A file
        whose writes failed stays ``.open``, for the next crawl's recovery to check."""
        if self._file is None:
            return
        if self.failed:
            self._file = self._writer = None
            return
        os.fsync(self._file.fileno())
        self._file.close()
        final = self.config.directory / self._name
        os.replace(self.config.directory / (self._name + OPEN_SUFFIX), final)
        index_file(final)
        self._file = None
        self._writer = None

    def _writer_for_group(self) -> WARCWriter:
        if self.failed:
            raise OSError(self.failed.errno, f"WARC writing stopped: {self.failed.strerror}")
        # Rotation happens only here, before a group, so a fetch's records share a file.
        if self._file is not None and self._file.tell() >= self.config.max_size:
            self.close()
        if self._writer is None:
            self._open()
        assert self._writer is not None
        return self._writer

    # -- records --------------------------------------------------------------------------

    def _append(self, record: ArcWarcRecord, level: int = COMPRESSION_LEVEL) -> tuple[int, int]:
        """Write one record as a gzip member of its own; return its offset and length.

        warcio compresses at zlib's level 9, which costs 6 times level 6 on an uncompressed
        page (9 ms against 1.5 ms for 70 KB) for 5% less space: the record is serialised
        uncompressed by warcio and compressed here, at COMPRESSION_LEVEL.
        """
        assert self._file is not None and self._writer is not None
        self._record_buffer.seek(0)
        self._record_buffer.truncate()
        self._writer.write_record(record)
        packer = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        member = packer.compress(self._record_buffer.getbuffer()) + packer.flush()
        offset = self._file.tell()
        # The file is unbuffered: each record reaches the OS before anything refers to it,
        # and a failed write leaves no bytes behind in a buffer. A kill test point sits
        # halfway through a record.
        half = len(member) // 2
        try:
            self._write_all(memoryview(member)[:half])
            crash_point("warc")
            self._write_all(memoryview(member)[half:])
        except OSError as exc:
            self.failed = exc
            self._cut(offset)
            raise
        return offset, len(member)

    def _write_all(self, data: memoryview) -> None:
        assert self._file is not None
        while data:
            data = data[self._file.write(data) :]

    def _cut(self, offset: int) -> None:
        """After a failed write (a full disk), end the file where the failed record began:
        truncating frees space, so it works on a full disk. If it fails, the next crawl's
        recovery cuts the partial record instead."""
        assert self._file is not None
        with contextlib.suppress(OSError):
            self._file.truncate(offset)
        self._file.close()

    def _write(self, record: ArcWarcRecord, level: int = COMPRESSION_LEVEL) -> WarcRef:
        record.rec_headers.add_header("WARC-Warcinfo-ID", self._warcinfo_id)
        offset, length = self._append(record, level)
        return WarcRef(
            file=self._name,
            offset=offset,
            length=length,
            record_id=record.rec_headers.get_header("WARC-Record-ID"),
            payload_digest=record.rec_headers.get_header("WARC-Payload-Digest"),
            rec_type=record.rec_type,
        )

    def write_exchange(
        self, exchange: Exchange, original: Original | None = None, not_modified: bool = False
    ) -> WarcRef:
        """Write the response record, then the request record; return the first's place.

        With ``original`` the first is a revisit record referring to it: of the
        identical-payload-digest profile, or, for a 304 answer to a conditional request
        (``not_modified``), of the server-not-modified profile.
        """
        writer = self._writer_for_group()
        date = warc_date(exchange.fetched_at)
        protocol = exchange.protocol or "HTTP/1.1"
        response_headers = {"WARC-Date": date}
        if exchange.ip_address:
            response_headers["WARC-IP-Address"] = exchange.ip_address
        if exchange.truncated:
            response_headers["WARC-Truncated"] = exchange.truncated
        http_headers = StatusAndHeaders(
            status_line(exchange.status),
            response_headers_as_stored(exchange.response_headers, len(exchange.body)),
            protocol=protocol,
        )
        if original is None:
            response = writer.create_warc_record(
                exchange.url,
                "response",
                payload=io.BytesIO(exchange.body),
                length=len(exchange.body),
                http_headers=http_headers,
                warc_headers_dict=response_headers,
            )
        elif not_modified:
            response_headers |= {
                "WARC-Profile": NOT_MODIFIED_PROFILE,
                "WARC-Refers-To": original.record_id,
                "WARC-Refers-To-Target-URI": original.url,
                "WARC-Refers-To-Date": original.date,
            }
            if original.digest:
                response_headers["WARC-Payload-Digest"] = original.digest
            response = writer.create_warc_record(
                exchange.url, "revisit", http_headers=http_headers,
                warc_headers_dict=response_headers,
            )  # fmt: skip
        else:
            response_headers["WARC-Refers-To"] = original.record_id
            response = writer.create_revisit_record(
                exchange.url,
                payload_digest(exchange.body),
                original.url,
                original.date,
                http_headers=http_headers,
                warc_headers_dict=response_headers,
            )
        compressed = original is None and is_compressed(exchange.response_headers)
        ref = self._write(response, STORED if compressed else COMPRESSION_LEVEL)
        requested = exchange.requested or exchange.url
        request = writer.create_warc_record(
            requested,
            "request",
            payload=io.BytesIO(exchange.request_body),
            length=len(exchange.request_body),
            http_headers=StatusAndHeaders(
                f"{exchange.method} {request_target(requested)} {protocol}",
                exchange.request_headers,
                is_http_request=True,
            ),
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": ref.record_id},
        )
        self._write(request)
        return ref

    def write_text(self, url: str, text: str, refers_to: str, moment: datetime) -> WarcRef:
        """The cleaned text of a capture, as Browsertrix Crawler stores it: a resource record
        for ``urn:text:<url>`` that refers to the response it was extracted from."""
        data = text.encode("utf-8")
        return self._write_about(
            f"urn:text:{url}", "resource", "text/plain; charset=utf-8", data, refers_to, moment
        )

    def write_metadata(
        self, url: str, fields: dict[str, str], refers_to: str, moment: datetime
    ) -> WarcRef:
        """A metadata record about the capture of ``url`` (``application/warc-fields``),
        referring to its response: where a page fetched from a web archive came from."""
        data = "".join(f"{name}: {value}\r\n" for name, value in fields.items()).encode()
        return self._write_about(
            url, "metadata", "application/warc-fields", data, refers_to, moment
        )

    def _write_about(
        self, uri: str, kind: str, content_type: str, data: bytes, refers_to: str, moment: datetime
    ) -> WarcRef:
        """A record of storycrawl's own about a response (``WARC-Refers-To``), in its group."""
        record = self._writer_for_group().create_warc_record(
            uri,
            kind,
            payload=io.BytesIO(data),
            length=len(data),
            warc_content_type=content_type,
            warc_headers_dict={"WARC-Date": warc_date(moment), "WARC-Refers-To": refers_to},
        )
        return self._write(record)


def _complete_prefix(stream: io.BufferedReader) -> tuple[int, int]:
    """How many bytes from the start hold whole records whose digests check, each a gzip
    member that inflates to its end, and how many records that is: what survives of a file
    whose writer was killed. (warcio reads a member cut inside its gzip trailer as whole.)"""
    end = records = 0
    iterator = ArchiveIterator(stream, check_digests="raise")
    try:
        for _record in iterator:
            iterator.read_to_end()
            offset, length = iterator.get_record_offset(), iterator.get_record_length()
            if not _whole_member(stream, offset, length):
                break
            end, records = offset + length, records + 1
    except (ArchiveLoadFailed, EOFError, OSError, zlib.error, ValueError):
        pass
    return end, records


def _whole_member(stream: io.BufferedReader, offset: int, length: int) -> bool:
    """Whether the bytes at offset are one gzip member, trailer included, and nothing more."""
    resume = stream.tell()
    stream.seek(offset)
    data = stream.read(length)
    stream.seek(resume)
    inflater = zlib.decompressobj(zlib.MAX_WBITS + 16)
    while data and not inflater.eof:
        inflater.decompress(data, 1 << 20)  # bounded: a record may inflate to megabytes
        data = inflater.unconsumed_tail
    return inflater.eof and not inflater.unused_data and not data


def recover_open_files(directory: Path) -> list[Recovery]:
    """Close what a killed crawl left open: keep its complete records, cut a partial tail,
    index it; a file with no complete record is set aside. A file a live process writes
    (it holds the file's flock) is left alone. New records always go to new files, so
    nothing is ever appended after garbage. A finished file a crawl was killed while
    indexing gets its index."""
    done = []
    for path in sorted(directory.glob(f"*.warc.gz{OPEN_SUFFIX}")):
        final = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
        with open(path, "r+b") as stream:
            if not _lock(stream):
                continue  # a live crawl's
            end, records = _complete_prefix(stream)
            size = stream.seek(0, os.SEEK_END)
            if records:
                stream.truncate(end)
                os.fsync(stream.fileno())
                os.replace(path, final)
            else:
                os.replace(path, final.with_name(final.name + ".corrupt"))
        if records:
            index_file(final)
        done.append(Recovery(final.name, records, size - end, set_aside=records == 0))
    for path in sorted(directory.glob("*.warc.gz")):
        if not path.with_name(path.name + ".cdxj").exists():
            index_file(path)
    return done


def request_target(url: str) -> str:
    """The request line's target: path and query string, as the client sent it."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


@dataclass(frozen=True)
class StoredRecord:
    """A record read back: its headers and its payload exactly as stored."""

    rec_type: str
    url: str
    record_id: str
    warc_headers: StatusAndHeaders
    http_headers: StatusAndHeaders | None
    payload: bytes
    length: int  # of the record's gzip member in the file

    def decoded(self, limit: int = DEFAULT_LIMIT) -> bytes:
        """The payload with its Content-Encoding undone: the body a browser would render.
        A record another crawler wrote (wget) may keep the chunking too: undone first.
        TooLarge past ``limit`` bytes (a decompression bomb archived before the crawl cut
        them, or by another crawler); a coding without a bounded decoder is left as is."""
        http = self.http_headers
        payload = self.payload
        if http and (http.get_header("Transfer-Encoding") or "").lower() == "chunked":
            payload = ChunkedDataReader(io.BytesIO(payload)).read()
        headers = http.headers if http else []
        codings = codings_of(v for name, v in headers if name.lower() == "content-encoding")
        if not codings:
            return payload
        try:
            decoded = decode(payload, codings, limit)
        except UnsupportedCoding:
            return payload
        if decoded.over_limit:
            raise TooLarge(f"{self.url} decodes to more than {limit} bytes")
        return decoded.body


def read_record(path: Path, offset: int) -> StoredRecord:
    """The record at ``offset``; ArchiveLoadFailed when there is none to read there."""
    with open(path, "rb") as stream:
        stream.seek(offset)
        iterator = ArchiveIterator(stream)
        record = next(iter(iterator), None)
        if record is None:
            raise ArchiveLoadFailed(f"no record at offset {offset} of {path.name}")
        headers = record.rec_headers
        payload = record.raw_stream.read()
        iterator.read_to_end()
        return StoredRecord(
            rec_type=record.rec_type,
            url=headers.get_header("WARC-Target-URI") or "",
            record_id=headers.get_header("WARC-Record-ID"),
            warc_headers=headers,
            http_headers=record.http_headers,
            payload=payload,
            length=iterator.get_record_length(),
        )

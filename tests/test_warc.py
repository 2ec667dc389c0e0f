"""WARC writing: records, digests, header fidelity, rotation, the .open suffix.

Whole records are compared with golden ones (tests/data/golden.warc, the file's gzip
members decompressed), written with fixed record ids and dates: a change of a header, its
order, a digest or a length shows as a difference. After a deliberate change of the format,
check the written file (the test names it) with `warcio check` and copy it over the golden.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archive.warc import (
    Exchange,
    Original,
    WarcWriter,
    WarcWriterConfig,
    read_record,
    recover_open_files,
)

PAGE = b"<html><body><p>Japan says its missile shield is purely defensive.</p></body></html>"
FETCHED = datetime(2018, 1, 16, 6, 17, 0, 250_000, tzinfo=UTC)
GOLDEN = Path(__file__).parent / "data" / "golden.warc"


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def exchange(url: str = "http://127.0.0.2:8080/news?id=7&page=2", **changes) -> Exchange:
    values = dict(
        url=url,
        method="GET",
        request_headers=[("Host", "127.0.0.2:8080"), ("User-Agent", "storycrawl/test")],
        request_body=b"",
        protocol="HTTP/1.1",
        status=200,
        response_headers=[
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Encoding", "gzip"),
            ("Transfer-Encoding", "chunked"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
        ],
        body=gzip.compress(PAGE, mtime=0),
        fetched_at=FETCHED,
        ip_address="127.0.0.2",
    )
    values.update(changes)
    return Exchange(**values)


def records(path: Path) -> list:
    with open(path, "rb") as stream:
        out = []
        for record in ArchiveIterator(stream):
            payload = record.raw_stream.read()
            out.append((record.rec_type, record.rec_headers, record.http_headers, payload))
        return out


def numbered_ids() -> Callable[[], str]:
    """Record ids 1, 2, 3... in the urn:uuid form warcio writes."""
    numbers = itertools.count(1)
    return lambda: f"<urn:uuid:00000000-0000-4000-8000-{next(numbers):012d}>"


def test_records_are_the_golden_ones_byte_for_byte(tmp_path: Path) -> None:
    """warcinfo; a gzip page fetched chunked with two cookies and a query string, as response
    and request; its text; the same payload again, as an identical-payload revisit; a 304, as
    a server-not-modified revisit."""
    config = WarcWriterConfig(directory=tmp_path, info={"operator": "tests"}, host="golden")
    writer = WarcWriter(config, clock=lambda: FETCHED, record_ids=numbered_ids())
    ref = writer.write_exchange(exchange())
    assert list(tmp_path.glob("*.warc.gz.open")), "a file being written keeps its .open suffix"
    url = exchange().url
    writer.write_text(url, PAGE.decode(), ref.record_id, FETCHED)
    original = Original(url, "2018-01-16T06:17:00.250000Z", ref.record_id, ref.payload_digest)
    writer.write_exchange(exchange(), original=original)
    writer.write_exchange(
        exchange(status=304, body=b"", response_headers=[("ETag", '"v1"')]),
        original=original, not_modified=True,
    )  # fmt: skip
    writer.close()
    [path] = tmp_path.glob("*.warc.gz")
    assert path.name == ref.file == "storycrawl-20180116061700250-00000-golden.warc.gz"
    assert not list(tmp_path.glob("*.open"))
    written = gzip.decompress(path.read_bytes())
    assert written == GOLDEN.read_bytes(), f"{path} differs from {GOLDEN}"
    with open(path, "rb") as stream:
        iterator = ArchiveIterator(stream, check_digests="raise")
        for _ in iterator:
            iterator.read_to_end()
    # And it reads back: the page, content-coded as received, decoded.
    stored = read_record(path, ref.offset)
    assert stored.record_id == ref.record_id and stored.decoded() == PAGE


def test_a_payload_the_server_compressed_is_stored_not_deflated_again(tmp_path: Path) -> None:
    """Deflating gzip again saves nothing and costs the crawl CPU; the record is still one
    valid gzip member, read back byte for byte."""
    body = gzip.compress(PAGE * 50)
    writer = WarcWriter(WarcWriterConfig(directory=tmp_path))
    gzipped = writer.write_exchange(exchange(body=body))
    plain = writer.write_exchange(exchange(body=PAGE * 50, response_headers=[]))
    writer.close()
    raw = (tmp_path / gzipped.file).read_bytes()
    assert body in raw[gzipped.offset : gzipped.offset + gzipped.length]
    assert PAGE * 2 not in raw, "an uncompressed payload is deflated"
    assert read_record(tmp_path / gzipped.file, gzipped.offset).decoded() == PAGE * 50
    assert read_record(tmp_path / plain.file, plain.offset).decoded() == PAGE * 50
    assert [record[0] for record in records(tmp_path / gzipped.file)] == [
        "warcinfo", "response", "request", "response", "request",
    ]  # fmt: skip


def test_block_digest_covers_headers_and_payload(tmp_path: Path) -> None:
    writer = WarcWriter(WarcWriterConfig(directory=tmp_path))
    ref = writer.write_exchange(exchange())
    writer.close()
    raw = (tmp_path / ref.file).read_bytes()[ref.offset : ref.offset + ref.length]
    record = gzip.decompress(raw)
    head, _, block = record.partition(b"\r\n\r\n")
    block = block[: -len(b"\r\n\r\n")]
    assert f"WARC-Block-Digest: {sha1_b32(block)}".encode() in head


def test_stale_content_length_is_kept_renamed(tmp_path: Path) -> None:
    writer = WarcWriter(WarcWriterConfig(directory=tmp_path))
    ref = writer.write_exchange(exchange(response_headers=[("Content-Length", "9999")]))
    writer.close()
    headers = read_record(tmp_path / ref.file, ref.offset).http_headers
    assert headers.get_header("X-Crawler-Content-Length") == "9999"
    assert headers.get_header("Content-Length") == str(len(gzip.compress(PAGE)))


def test_rotation_starts_each_file_with_warcinfo_and_never_splits_a_fetch(tmp_path: Path) -> None:
    writer = WarcWriter(WarcWriterConfig(directory=tmp_path, max_size=2_000))
    refs = [writer.write_exchange(exchange(url=f"http://127.0.0.2/a{i}")) for i in range(12)]
    writer.close()
    files = sorted(tmp_path.glob("*.warc.gz"))
    assert len(files) > 2 and len({ref.file for ref in refs}) == len(files)
    for path in files:
        kinds = [r[0] for r in records(path)]
        assert kinds[0] == "warcinfo" and kinds.count("warcinfo") == 1
        assert kinds[1:] == ["response", "request"] * ((len(kinds) - 1) // 2)


# -- recovery of files a killed crawl left open ---------------------------------------------


def test_recovery_leaves_alone_a_file_a_live_writer_holds(tmp_path: Path) -> None:
    writer = WarcWriter(WarcWriterConfig(tmp_path))
    writer.write_exchange(exchange())
    # Another crawl sharing the folder (another story, or a run about to exit 75) recovers.
    assert recover_open_files(tmp_path) == []
    assert len(list(tmp_path.glob("*.warc.gz.open"))) == 1
    second = writer.write_exchange(exchange(url="http://127.0.0.2:8080/second"))
    writer.close()
    path = tmp_path / second.file
    kinds = ["warcinfo", "response", "request", "response", "request"]
    assert [r[0] for r in records(path)] == kinds
    index = path.with_name(path.name + ".cdxj").read_text()
    assert "/second" in index and not list(tmp_path.glob("*.partial"))


def test_recovery_cuts_a_record_cut_inside_its_gzip_trailer(tmp_path: Path) -> None:
    """warcio reads such a member as whole; the file would then fail `warcio check`."""
    writer = WarcWriter(WarcWriterConfig(tmp_path))
    writer.write_exchange(exchange())
    last = writer.write_exchange(exchange(url="http://127.0.0.2:8080/second"))
    writer.close()
    path = tmp_path / last.file
    data = path.read_bytes()
    path.unlink()
    # The killed writer got the request record of the second fetch out but for 4 bytes.
    (tmp_path / (last.file + ".open")).write_bytes(data[:-4])
    (recovery,) = recover_open_files(tmp_path)
    assert recovery.records == 4 and recovery.cut_bytes > 4
    assert [r[0] for r in records(path)] == ["warcinfo", "response", "request", "response"]
    with open(path, "rb") as stream:
        assert [r.rec_type for r in ArchiveIterator(stream, check_digests="raise")]


def test_a_file_closed_but_not_indexed_when_killed_gets_its_index(tmp_path: Path) -> None:
    writer = WarcWriter(WarcWriterConfig(tmp_path))
    ref = writer.write_exchange(exchange())
    writer.close()
    index = tmp_path / (ref.file + ".cdxj")
    whole = index.read_text()
    index.unlink()
    assert recover_open_files(tmp_path) == []
    assert index.read_text() == whole

"""WARC writing: records, digests, header fidelity, rotation, the .open suffix."""

from __future__ import annotations

import base64
import gzip
import hashlib
from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archive.warc import Exchange, WarcWriter, WarcWriterConfig, read_record, recover_open_files

PAGE = b"<html><body><p>Japan says its missile shield is purely defensive.</p></body></html>"


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
        body=gzip.compress(PAGE),
        fetched_at=datetime(2018, 1, 16, 6, 17, tzinfo=UTC),
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


def test_exchange_is_response_then_request_with_true_headers(tmp_path: Path) -> None:
    writer = WarcWriter(WarcWriterConfig(directory=tmp_path, info={"operator": "tests"}))
    ref = writer.write_exchange(exchange())
    assert list(tmp_path.glob("*.warc.gz.open")), "a file being written keeps its .open suffix"
    writer.close()
    [path] = tmp_path.glob("*.warc.gz")
    assert path.name == ref.file and not list(tmp_path.glob("*.open"))

    (info_type, info, _, _), (resp_type, resp, resp_http, body), (req_type, req, req_http, _) = (
        records(path)
    )
    assert (info_type, resp_type, req_type) == ("warcinfo", "response", "request")
    assert resp.get_header("WARC-Warcinfo-ID") == info.get_header("WARC-Record-ID")
    assert req.get_header("WARC-Concurrent-To") == resp.get_header("WARC-Record-ID")
    assert resp.get_header("WARC-IP-Address") == "127.0.0.2"
    assert resp.protocol == "WARC/1.1"

    # The content-coded body as received; chunking renamed; a true Content-Length.
    assert body == gzip.compress(PAGE) and gzip.decompress(body) == PAGE
    assert resp_http.statusline == "200 OK"
    assert resp_http.get_header("Content-Encoding") == "gzip"
    assert resp_http.get_header("Transfer-Encoding") is None
    assert resp_http.get_header("X-Crawler-Transfer-Encoding") == "chunked"
    assert resp_http.get_header("Content-Length") == str(len(body))
    assert [v for k, v in resp_http.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert resp.get_header("WARC-Payload-Digest") == sha1_b32(body)
    assert resp.get_header("WARC-Payload-Digest") == ref.payload_digest

    # The request line keeps the query string.
    assert req_http.protocol == "GET" and req_http.statusline == "/news?id=7&page=2 HTTP/1.1"

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

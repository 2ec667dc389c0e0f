"""The archive as an archivist checks it, with the tools an archivist uses.

One crawl of a site made of awkward fetches (gzip, chunked, cookies, a query string, a
redirect, a 404, binaries, a duplicate, an oversized page, a cut connection, a robots.txt
refusal) is read back byte by byte and with `warcio`, `cdxj-indexer` and pywb. Then the
archive across runs: rotation, SIGTERM and SIGKILL mid-crawl, and revisits on a re-crawl.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator

from archive.db import models
from crawler.demo import load_articles
from crawler.storyfile import build_story
from tests.conftest import (
    ROTATE_AT,
    CrawlRun,
    settings_args,
    storycrawl,
    storycrawl_process,
    write_story_file,
)
from tests.servers import (
    LoopbackServer,
    Reply,
    binary,
    chunked,
    drop_mid_body,
    gzipped,
    page,
    redirect,
    slow,
    status,
)
from tests.wayback import opener, poll, running_wayback, wait_for

BIN = Path(sys.executable).parent
#: Loopback serves in microseconds; a retry would hide what a single fetch gave.
FAST = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "RETRY_ENABLED": False,
    "STORYCRAWL_EXTRACT_WORKERS": 1,
}
MAXSIZE = 50_000
REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
#: Records that describe a fetch or what was made of it, and so carry both digests.
DIGESTED = ("response", "request", "revisit", "resource")
INDEX_FIELDS = "warc-type,warc-record-id,warc-concurrent-to"


# -- pages --------------------------------------------------------------------------------

ARTICLES = {a.id: a for a in load_articles()}
SEED_ID = "japan-dismisses-russia-concerns-missile-systems"
OTHER_IDS = [a for a in ARTICLES if a != SEED_ID]


def article(article_id: str, links: str = "", filler: int = 0) -> str:
    """An article page; ``filler`` repeats its paragraphs until the page is that long."""
    found = ARTICLES[article_id]
    body = "".join(f"<p>{p}</p>" for p in found.paragraphs)
    while len(body) < filler:
        body += body
    return (
        f'<html lang="en"><head><title>{found.title}</title>'
        f'<meta property="og:type" content="article"></head>'
        f"<body><article><h1>{found.title}</h1>{body}</article>{links}</body></html>"
    )


def tiny_png() -> bytes:
    """A valid one-pixel RGBA PNG: signature, IHDR, IDAT and IEND with their CRCs."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xcc\x00\x00\xff")  # filter byte, then one red pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def tiny_pdf() -> bytes:
    """A valid one-page PDF whose cross-reference table points at its objects."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


SAME = article(OTHER_IDS[5])
HUGE = article(OTHER_IDS[6], filler=200_000)
CUT_PAGE, CUT_AT = article(OTHER_IDS[7]), 700
ROBOTS = b"User-agent: *\nDisallow: /private/\n"

#: Path → route; the seed links to every one of them.
FIDELITY: dict[str, Callable[[], Reply]] = {
    "/gzip-page": gzipped(article(OTHER_IDS[0])),
    "/chunked-page": chunked(article(OTHER_IDS[1]), chunk_size=500),
    "/cookie-page": page(
        article(OTHER_IDS[2]),
        (("Set-Cookie", "edition=asia; Path=/"), ("Set-Cookie", "consent=no; Path=/; HttpOnly")),
    ),
    "/page?id=7&lang=en": page(article(OTHER_IDS[3])),
    "/moved": redirect("/moved-here"),
    "/moved-here": page(article(OTHER_IDS[4])),
    "/missing": status(404, "<html><body><p>No such article.</p></body></html>"),
    "/media/pixel": binary("image/png", tiny_png()),
    "/files/report": binary("application/pdf", tiny_pdf()),
    "/media/pixel.png": binary("image/png", tiny_png()),
    "/files/report.pdf": binary("application/pdf", tiny_pdf()),
    "/same-a": page(SAME),
    "/same-b": page(SAME),
    "/huge-page": page(HUGE),
    "/cut-page": drop_mid_body(CUT_PAGE, CUT_AT),
    "/private/report": page(article(OTHER_IDS[8])),
}


def fidelity_routes() -> dict[str, Callable[[], Reply]]:
    links = "".join(
        f'<p><a href="{path}">Aegis Ashore missile defense in Japan, part {n}</a></p>'
        for n, path in enumerate(FIDELITY)
    )
    return {
        "/robots.txt": lambda: Reply(headers=[("Content-Type", "text/plain")], body=ROBOTS),
        "/seed": page(article(SEED_ID, links)),
        **FIDELITY,
    }


def served(server: LoopbackServer, path: str) -> bytes:
    return server.routes[path]().body


# -- reading WARC files without warcio ------------------------------------------------------


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


@dataclass(frozen=True)
class Raw:
    """A record as its bytes lie in the file: one gzip member, headers, block."""

    file: Path
    offset: int
    length: int
    headers: dict[str, str]  # WARC headers (none is repeated in our records)
    block: bytes

    @property
    def type(self) -> str:
        return self.headers["WARC-Type"]

    @property
    def id(self) -> str:
        return self.headers["WARC-Record-ID"]

    @property
    def url(self) -> str:
        return self.headers.get("WARC-Target-URI", "")

    @property
    def http_head(self) -> bytes:
        """The HTTP status or request line and headers, blank line included."""
        end = self.block.index(b"\r\n\r\n") + 4
        return self.block[:end]

    @property
    def payload(self) -> bytes:
        if self.type in ("response", "request", "revisit"):
            return self.block[len(self.http_head) :]
        return self.block

    @property
    def first_line(self) -> str:
        return self.http_head.decode("latin-1").split("\r\n")[0]

    def http_headers(self, name: str) -> list[str]:
        """Every value of an HTTP header, in order, repeated ones kept apart."""
        lines = self.http_head.decode("latin-1").split("\r\n")[1:]
        pairs = [line.split(":", 1) for line in lines if line]
        return [value.strip() for key, value in pairs if key.lower() == name.lower()]


def raw_records(path: Path) -> list[Raw]:
    """Every record of a file, each a whole gzip member whose Content-Length is exact."""
    data = path.read_bytes()
    records, offset = [], 0
    while offset < len(data):
        member = zlib.decompressobj(wbits=31)
        record = member.decompress(data[offset:])
        assert member.eof, f"{path.name}: the gzip member at {offset} is cut short"
        length = len(data) - offset - len(member.unused_data)
        head, _, rest = record.partition(b"\r\n\r\n")
        lines = head.decode("utf-8").split("\r\n")
        assert lines[0] == "WARC/1.1", f"{path.name}@{offset}: {lines[0]!r}"
        headers = dict(line.split(": ", 1) for line in lines[1:])
        size = int(headers["Content-Length"])
        assert rest[size:] == b"\r\n\r\n", f"{path.name}@{offset}: block is not Content-Length"
        records.append(Raw(path, offset, length, headers, rest[:size]))
        offset += length
    return records


def warcio_check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "warcio"), "check", "-v", str(path)], capture_output=True, text=True, timeout=60
    )


def warc_ids(path: Path) -> list[str]:
    with open(path, "rb") as stream:
        return [r.rec_headers.get_header("WARC-Record-ID") for r in ArchiveIterator(stream)]


def complete_records(path: Path) -> list[str]:
    """Ids of the records warcio reads whole, digests checked, before any error."""
    ids = []
    with open(path, "rb") as stream:
        iterator = ArchiveIterator(stream, check_digests="raise")
        try:
            for record in iterator:
                iterator.read_to_end()
                ids.append(record.rec_headers.get_header("WARC-Record-ID"))
        except Exception:  # a partial record at the end: the point where the kill struck
            pass
    return ids


# -- the fidelity crawl -------------------------------------------------------------------


@dataclass
class Crawl:
    server: LoopbackServer
    data: Path
    requested: list[str]  # what the server saw during this crawl

    @property
    def warc_dir(self) -> Path:
        return self.data / "warc"

    @cached_property
    def warc_files(self) -> list[Path]:
        return sorted(self.warc_dir.glob("*.warc.gz"))

    @cached_property
    def records(self) -> list[Raw]:
        return [record for path in self.warc_files for record in raw_records(path)]

    def url(self, path: str) -> str:
        return self.server.url + path

    def captures(self, path: str) -> list[Raw]:
        """The response and revisit records of one URL."""
        return [
            r for r in self.records if r.url == self.url(path) and r.type in ("response", "revisit")
        ]

    def capture(self, path: str) -> Raw:
        found = self.captures(path)
        assert len(found) == 1, f"{path}: {len(found)} captures, not one"
        return found[0]


def crawl_story(server: LoopbackServer, data: Path, *args: str, **settings: object):
    story = build_story(
        {}, {"name": "fidelity", "seeds": (f"{server.url}/seed",), "data": str(data), "broad": True}
    )
    story_file = write_story_file(data / "story.toml", story)
    before = len(server.requested)
    done = storycrawl_process(
        "crawl", str(story_file), *args, *settings_args({**FAST, **settings}), timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return Crawl(server, data, server.requested[before:])


@pytest.fixture(scope="module")
def site() -> Iterator[LoopbackServer]:
    with LoopbackServer("127.0.0.7", fidelity_routes()) as server:
        yield server


@pytest.fixture(scope="module")
def crawl(site: LoopbackServer, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    data = tmp_path_factory.mktemp("fidelity")
    return crawl_story(site, data, DOWNLOAD_MAXSIZE=MAXSIZE)


# -- every record: warcio, digests, pairing -------------------------------------------------


def test_every_file_passes_warcio_check_with_digests_present_and_correct(crawl: Crawl) -> None:
    assert crawl.warc_files, "the crawl wrote no WARC file"
    for path in crawl.warc_files:
        check = warcio_check(path)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "fail" not in check.stdout.lower(), check.stdout
    responses = {r.id: r for r in crawl.records if r.type == "response"}
    checked = Counter()
    for record in crawl.records:
        if record.type not in DIGESTED:
            continue
        where = f"{record.type} {record.url}"
        block_digest = record.headers.get("WARC-Block-Digest")
        payload_digest = record.headers.get("WARC-Payload-Digest")
        assert block_digest and payload_digest, f"{where}: a digest is missing"
        assert block_digest == sha1_b32(record.block), f"{where}: wrong WARC-Block-Digest"
        if record.type == "revisit":
            # No payload of its own: the digest is the original's, which must be archived.
            original = responses[record.headers["WARC-Refers-To"]]
            assert payload_digest == sha1_b32(original.payload), f"{where}: wrong payload digest"
        else:
            assert payload_digest == sha1_b32(record.payload), f"{where}: wrong payload digest"
        checked[record.type] += 1
    assert set(checked) == set(DIGESTED), f"record types seen: {dict(checked)}"


def test_warcio_index_shows_warcinfo_first_and_every_request_beside_its_capture(crawl: Crawl):
    for path in crawl.warc_files:
        index = subprocess.run(
            [str(BIN / "warcio"), "index", "-f", INDEX_FIELDS, str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        rows = [json.loads(line) for line in index.stdout.splitlines()]
        types = [row["warc-type"] for row in rows]
        assert types[0] == "warcinfo" and types.count("warcinfo") == 1, types
        for n, row in enumerate(rows):
            if row["warc-type"] in ("response", "revisit"):
                # The fetch group: the capture, then at once the request concurrent to it.
                following = rows[n + 1]
                assert following["warc-type"] == "request", f"{path.name}: {types}"
                assert following["warc-concurrent-to"] == row["warc-record-id"]
            elif row["warc-type"] == "request":
                assert rows[n - 1]["warc-type"] in ("response", "revisit")
    warcinfo = {r.file: r.id for r in crawl.records if r.type == "warcinfo"}
    for record in crawl.records:
        if record.type != "warcinfo":
            assert record.headers["WARC-Warcinfo-ID"] == warcinfo[record.file]


# -- what each awkward fetch became ---------------------------------------------------------


def test_gzip_page_keeps_its_gzip_bytes_and_content_encoding(crawl: Crawl) -> None:
    record = crawl.capture("/gzip-page")
    sent = served(crawl.server, "/gzip-page")
    assert record.type == "response"
    assert record.http_headers("Content-Encoding") == ["gzip"]
    assert record.payload[:2] == b"\x1f\x8b" and record.payload == sent
    assert gzip.decompress(record.payload) == article(OTHER_IDS[0]).encode()


def test_chunked_page_is_stored_dechunked_with_a_true_length(crawl: Crawl) -> None:
    """Twisted drops Transfer-Encoding before Scrapy sees the headers (the warcinfo record
    says so), so the record cannot name the chunking; it must hold the de-chunked body with
    a Content-Length that is true."""
    # The route really sends chunks: the premise of this test.
    address = urlsplit(crawl.server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request("GET", "/chunked-page")
        with connection.getresponse() as answer:
            assert answer.chunked and answer.getheader("Transfer-Encoding") == "chunked"
            answer.read()
    finally:
        connection.close()
    record = crawl.capture("/chunked-page")
    assert record.payload == article(OTHER_IDS[1]).encode()
    assert record.http_headers("Transfer-Encoding") == []
    assert record.http_headers("Content-Length") == [str(len(record.payload))]


def test_repeated_set_cookie_headers_stay_two(crawl: Crawl) -> None:
    assert crawl.capture("/cookie-page").http_headers("Set-Cookie") == [
        "edition=asia; Path=/",
        "consent=no; Path=/; HttpOnly",
    ]


def test_show_gives_a_reason_for_every_url_an_error_page_its_status(crawl: Crawl) -> None:
    shown = storycrawl("show", "fidelity", "--data", str(crawl.data), "--format", "jsonl")
    assert shown.returncode == 0, shown.stderr
    rows = {row["url"]: row for row in map(json.loads, shown.stdout.splitlines())}
    assert [url for url, row in rows.items() if not row["why"]] == []
    missing = rows[crawl.url("/missing")]
    assert (missing["state"], missing["why"]) == ("failed", "answered HTTP 404")
    assert rows[crawl.url("/private/report")]["why"] == "disallowed by robots.txt"


def test_request_record_keeps_the_query_string(crawl: Crawl) -> None:
    capture = crawl.capture("/page?id=7&lang=en")
    [request] = [
        r
        for r in crawl.records
        if r.type == "request" and r.headers["WARC-Concurrent-To"] == capture.id
    ]
    assert request.url == crawl.url("/page?id=7&lang=en")
    assert request.first_line == "GET /page?id=7&lang=en HTTP/1.1"
    assert request.http_headers("Host") == [urlsplit(crawl.server.url).netloc]


def test_status_line_has_the_standard_reason_phrase(crawl: Crawl) -> None:
    assert crawl.capture("/missing").first_line == "HTTP/1.1 404 Not Found"
    assert crawl.capture("/missing").payload == served(crawl.server, "/missing")
    assert crawl.capture("/seed").first_line == "HTTP/1.1 200 OK"


def test_redirect_and_its_target_are_both_archived(crawl: Crawl) -> None:
    moved = crawl.capture("/moved")
    assert moved.type == "response" and moved.first_line == "HTTP/1.1 302 Found"
    assert moved.http_headers("Location") == ["/moved-here"]
    target = crawl.capture("/moved-here")
    assert target.first_line == "HTTP/1.1 200 OK"
    assert target.payload == served(crawl.server, "/moved-here")


def test_png_and_pdf_are_archived_byte_for_byte(crawl: Crawl) -> None:
    # Each file is served at two URLs (with and without its extension): whichever was
    # fetched first is the response, the other a revisit of it.
    for paths, body, content_type in (
        (("/media/pixel", "/media/pixel.png"), tiny_png(), "image/png"),
        (("/files/report", "/files/report.pdf"), tiny_pdf(), "application/pdf"),
    ):
        [response] = [r for p in paths for r in crawl.captures(p) if r.type == "response"]
        assert response.payload == body
        assert response.http_headers("Content-Type") == [content_type]


def test_broad_crawl_follows_links_to_png_and_pdf_files(crawl: Crawl) -> None:
    """`--broad` follows every in-site link: a .pdf report or a .png chart is one."""
    missed = [p for p in ("/media/pixel.png", "/files/report.pdf") if p not in crawl.requested]
    assert missed == [], f"linked from the seed, never fetched: {missed}"


def test_identical_body_becomes_a_revisit_of_the_first_capture(crawl: Crawl) -> None:
    first, second = sorted(
        crawl.captures("/same-a") + crawl.captures("/same-b"), key=lambda r: (r.file, r.offset)
    )
    assert (first.type, second.type) == ("response", "revisit")
    assert second.headers["WARC-Profile"] == REVISIT_PROFILE
    assert second.headers["WARC-Refers-To"] == first.id
    assert second.headers["WARC-Refers-To-Target-URI"] == first.url
    assert second.headers["WARC-Refers-To-Date"] == first.headers["WARC-Date"]
    assert second.headers["WARC-Payload-Digest"] == first.headers["WARC-Payload-Digest"]
    # The revisit keeps the response's own status line and headers, and no body.
    assert second.first_line == "HTTP/1.1 200 OK" and second.payload == b""
    assert second.http_headers("Content-Type") == ["text/html; charset=utf-8"]
    assert second.http_headers("Content-Length") == [str(len(SAME.encode()))]
    assert first.payload == SAME.encode()


def test_oversized_page_is_kept_truncated_by_length(crawl: Crawl) -> None:
    record = crawl.capture("/huge-page")
    assert record.headers.get("WARC-Truncated") == "length"
    assert MAXSIZE <= len(record.payload) < len(HUGE.encode())
    assert HUGE.encode().startswith(record.payload)
    assert record.http_headers("Content-Length") == [str(len(record.payload))]
    assert record.http_headers("X-Crawler-Content-Length") == [str(len(HUGE.encode()))]


def test_connection_cut_mid_body_is_kept_truncated_by_disconnect(crawl: Crawl) -> None:
    record = crawl.capture("/cut-page")
    assert record.headers.get("WARC-Truncated") == "disconnect"
    assert record.payload == CUT_PAGE.encode()[:CUT_AT]
    assert record.http_headers("X-Crawler-Content-Length") == [str(len(CUT_PAGE.encode()))]


def test_robots_disallowed_path_is_never_fetched_nor_archived(crawl: Crawl) -> None:
    assert crawl.requested[0] == "/robots.txt"
    assert "/private/report" not in crawl.server.requested
    assert [r for r in crawl.records if "/private/" in r.url] == []
    assert crawl.capture("/robots.txt").payload == ROBOTS


def test_every_stored_document_has_a_text_record(crawl: Crawl) -> None:
    engine = create_engine(f"sqlite:///{crawl.data / 'storycrawl.db'}")
    try:
        with Session(engine) as session:
            stored = session.execute(
                select(models.Page.url, models.Page.warc_record_id, models.Document.text).join(
                    models.Document, models.Document.page_id == models.Page.id
                )
            ).all()
    finally:
        engine.dispose()
    texts = {r.url: r for r in crawl.records if r.type == "resource"}
    assert stored and len(texts) == len(stored)
    for url, record_id, text in stored:
        record = texts[f"urn:text:{url}"]
        assert record.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert record.headers["WARC-Refers-To"] == record_id
        assert record.payload == text.encode("utf-8")
    # Every whole HTML page fetched is among them; no text for cut, binary or error pages.
    html = {
        r.url
        for r in crawl.records
        if r.type in ("response", "revisit")
        and r.first_line.endswith("200 OK")
        and "WARC-Truncated" not in r.headers
        and r.http_headers("Content-Type") == ["text/html; charset=utf-8"]
    }
    assert {url.removeprefix("urn:text:") for url in texts} == html


# -- the tools of the trade -----------------------------------------------------------------


def test_cdxj_index_beside_each_file_lists_its_captures_and_texts(crawl: Crawl) -> None:
    assert crawl.warc_files, "the crawl wrote no WARC file"
    for path in crawl.warc_files:
        index = path.with_name(path.name + ".cdxj")
        assert index.exists(), f"no {index.name}"
        lines = index.read_text(encoding="utf-8").splitlines()
        entries = [json.loads(line.split(" ", 2)[2]) for line in lines]
        assert {entry["filename"] for entry in entries} == {path.name}
        indexed = sorted(int(entry["offset"]) for entry in entries)
        records = {r.offset: r for r in raw_records(path)}
        expected = sorted(
            o for o, r in records.items() if r.type in ("response", "revisit", "resource")
        )
        assert indexed == expected, [records[o].type for o in set(indexed) ^ set(expected)]
        for entry in entries:
            assert records[int(entry["offset"])].url == entry["url"]


@pytest.fixture(scope="module")
def wayback(crawl: Crawl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """pywb serving the crawl's WARCs as collection `fidelity`: its base URL."""
    with running_wayback(tmp_path_factory.mktemp("pywb"), "fidelity", crawl.warc_files) as base:
        yield base


def timestamp(record: Raw) -> str:
    return re.sub(r"\D", "", record.headers["WARC-Date"])[:14]


def replay(base: str, record: Raw) -> bytes:
    """The original bytes pywb gives for a capture (`id_`: no rewriting)."""
    with opener().open(f"{base}/fidelity/{timestamp(record)}id_/{record.url}", timeout=30) as r:
        assert r.status == 200
        return r.read()


def test_pywb_replays_pages_revisits_gzip_and_query_strings(crawl: Crawl, wayback: str) -> None:
    seed = crawl.capture("/seed")
    assert replay(wayback, seed) == served(crawl.server, "/seed")
    [revisit] = [
        r for r in crawl.captures("/same-a") + crawl.captures("/same-b") if r.type == "revisit"
    ]
    assert replay(wayback, revisit) == SAME.encode()
    assert replay(wayback, crawl.capture("/gzip-page")) == article(OTHER_IDS[0]).encode()
    query = crawl.capture("/page?id=7&lang=en")
    assert replay(wayback, query) == served(crawl.server, "/page?id=7&lang=en")
    assert replay(wayback, crawl.capture("/media/pixel")) == tiny_png()


# -- across files and runs ------------------------------------------------------------------


def test_rotation_starts_each_file_with_warcinfo_and_never_splits_a_fetch(
    story_crawl: CrawlRun,
) -> None:
    assert story_crawl.returncode == 0, story_crawl.stderr[-3000:]
    files = story_crawl.warc_files
    assert len(files) >= 3, [f"{f.name}: {f.stat().st_size}" for f in files]
    serials = [re.fullmatch(r"storycrawl-\d{17}-(\d{5})-[^-]+\.warc\.gz", f.name) for f in files]
    assert [int(m[1]) for m in serials if m] == list(range(len(files)))
    home: dict[str, Path] = {}
    for path in files:
        assert warcio_check(path).returncode == 0, path.name
        records = raw_records(path)
        assert records[0].type == "warcinfo" and [r.type for r in records].count("warcinfo") == 1
        home.update({r.id: path for r in records})
        for record in records:
            if record.type == "request":
                assert home.get(record.headers["WARC-Concurrent-To"]) == path, (
                    f"{record.url}: its request and its capture are in different files"
                )
    # A file is closed only once it has reached the limit: all but the last are full.
    assert all(f.stat().st_size >= ROTATE_AT for f in files[:-1])


def slow_routes() -> dict[str, Callable[[], Reply]]:
    """A seed and twelve pages, each trickled out over about a second."""
    links = "".join(
        f'<p><a href="/slow/{n}">Aegis Ashore in Japan, part {n}</a></p>' for n in range(12)
    )
    routes = {"/seed": page(article(SEED_ID, links))}
    routes.update({f"/slow/{n}": slow(article(OTHER_IDS[n]), 5, 0.25) for n in range(12)})
    return routes


def start_crawl(server: LoopbackServer, data: Path) -> tuple[Path, subprocess.Popen]:
    """`storycrawl crawl` in a session of its own, two fetches at a time, output to files
    (its extractor workers inherit them: a pipe would stay open while any of them lives)."""
    story = build_story(
        {}, {"name": "slow", "seeds": (f"{server.url}/seed",), "data": str(data), "broad": True}
    )
    story_file = write_story_file(data / "story.toml", story)
    command = [
        sys.executable,
        "-c",
        "import sys; from crawler.cli import main; sys.exit(main())",
        "crawl",
        str(story_file),
        *settings_args({**FAST, "CONCURRENT_REQUESTS": 2}),
    ]
    with open(data / "stdout", "wb") as out, open(data / "stderr", "wb") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, start_new_session=True)
    return story_file, process


def live_in_group(group: int) -> list[str]:
    """The processes still alive in a process group (zombies aside), with their commands."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, _parent, pgrp = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # ended meanwhile
            continue
        if int(pgrp) == group and state != "Z":
            alive.append(f"{entry.name}: {command[:110]}")
    return alive


def end_group(process: subprocess.Popen) -> None:
    """Kill what is left of a crawl this test started: its process and everything it spawned."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


@pytest.fixture
def slow_site() -> Iterator[LoopbackServer]:
    with LoopbackServer("127.0.0.8", slow_routes()) as server:
        yield server


def test_sigterm_mid_crawl_leaves_only_closed_files_that_pass_warcio_check(
    slow_site: LoopbackServer, tmp_path: Path
) -> None:
    _, process = start_crawl(slow_site, tmp_path)
    try:
        poll(lambda: len(slow_site.answered) >= 4, 60, "the server to answer four requests")
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        wait_for(lambda: not live_in_group(process.pid), 5)
        left = live_in_group(process.pid)
    finally:
        end_group(process)
    stderr = (tmp_path / "stderr").read_text(errors="replace")
    assert len(slow_site.requested) < 14, "the crawl ended before it was interrupted"
    assert list(tmp_path.rglob("*.open")) == []
    files = sorted((tmp_path / "warc").glob("*.warc.gz"))
    assert files, f"no WARC file; exit {process.returncode}: {stderr[-2000:]}"
    for path in files:
        check = warcio_check(path)
        assert check.returncode == 0, check.stdout + check.stderr
        assert path.with_name(path.name + ".cdxj").exists()
    captured = {r.url for path in files for r in raw_records(path) if r.type == "response"}
    answered = {slow_site.url + p for p in slow_site.answered}
    assert answered <= captured, f"answered, not archived: {sorted(answered - captured)}"
    assert left == [], "processes of the crawl still running after it exited"


@dataclass
class Killed:
    data: Path
    left_open: Path  # the .open file the killed crawl left
    before: list[str]  # ids of its complete records, read right after the kill
    survivors: list[str]  # processes of the killed crawl still alive 3 s later
    again: subprocess.CompletedProcess  # the next run, into the same data directory


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Killed]:
    data = tmp_path_factory.mktemp("killed")
    warc_dir = data / "warc"
    with LoopbackServer("127.0.0.8", slow_routes()) as server:
        story_file, process = start_crawl(server, data)
        try:
            # Killed once a slow page is archived: warcinfo, robots.txt, seed, a page, texts.
            poll(
                lambda: any(len(complete_records(p)) >= 7 for p in warc_dir.glob("*.open")),
                60,
                "the open WARC file to hold seven complete records",
            )
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            wait_for(lambda: not live_in_group(process.pid), 3)
            survivors = live_in_group(process.pid)
        finally:
            end_group(process)
        left_open = sorted(warc_dir.glob("*.warc.gz.open"))
        assert len(left_open) == 1, sorted(p.name for p in warc_dir.iterdir())
        before = complete_records(left_open[0])
        server.routes.update({f"/slow/{n}": page(article(OTHER_IDS[n])) for n in range(12)})
        again = storycrawl_process("crawl", str(story_file), *settings_args(FAST), timeout=120)
    yield Killed(data, left_open[0], before, survivors, again)


def test_after_sigkill_the_next_run_recovers_every_complete_record(killed: Killed) -> None:
    assert killed.again.returncode == 0, killed.again.stderr[-3000:]
    assert len(killed.before) >= 7
    warc_dir = killed.data / "warc"
    assert list(killed.data.rglob("*.open")) == []
    for path in warc_dir.glob("*.warc.gz"):
        check = warcio_check(path)
        assert check.returncode == 0, f"{path.name}:\n{check.stdout}{check.stderr}"
    recovered = killed.left_open.with_name(killed.left_open.name.removesuffix(".open"))
    assert recovered.exists(), sorted(p.name for p in warc_dir.iterdir())
    assert warc_ids(recovered) == killed.before
    assert recovered.with_name(recovered.name + ".cdxj").exists()
    # The user is told, in the log of the run that recovered it.
    log = (killed.data / "storycrawl.log").read_text(encoding="utf-8", errors="replace")
    assert [line for line in log.splitlines() if "WARNING" in line and recovered.name in line]


def test_sigkill_leaves_no_process_of_the_crawl_running(killed: Killed) -> None:
    """A crawl killed by the OOM killer or `kill -9` must not leave workers behind, each
    holding a Python with trafilatura loaded, one more after every killed scheduled run."""
    assert killed.survivors == []


# -- a second crawl -------------------------------------------------------------------------


@dataclass
class Recrawls:
    first: Crawl
    deduped: list[Raw]  # the records a second crawl of the same pages wrote
    no_dedup: list[Raw]  # and those of a third, with --no-dedup


@pytest.fixture(scope="module")
def recrawls(crawl: Crawl, tmp_path_factory: pytest.TempPathFactory) -> Recrawls:
    data = tmp_path_factory.mktemp("recrawl") / "data"
    shutil.copytree(crawl.data, data)
    written = []
    # --recrawl-after 0: fetch every archived page again (conditionally), however recent.
    for args in (["--recrawl-after", "0"], ["--recrawl-after", "0", "--no-dedup"]):
        before = set(os.listdir(data / "warc"))
        again = crawl_story(crawl.server, data, *args, DOWNLOAD_MAXSIZE=MAXSIZE)
        new = sorted(p for p in again.warc_files if p.name not in before)
        written.append([r for path in new for r in raw_records(path)])
    return Recrawls(crawl, *written)


def whole_pages(crawl: Crawl) -> set[str]:
    """URLs the first crawl captured whole with a 200 and a body (robots.txt aside)."""
    return {
        r.url
        for r in crawl.records
        if r.type in ("response", "revisit")
        and r.first_line.endswith(" 200 OK")
        and "WARC-Truncated" not in r.headers
        and (r.payload or r.type == "revisit")
        and not r.url.endswith("/robots.txt")
    }


def test_second_crawl_writes_revisits_not_responses(recrawls: Recrawls) -> None:
    pages = whole_pages(recrawls.first)
    assert pages, "the first crawl captured no whole page"
    originals = {r.id: r for r in recrawls.first.records if r.type == "response"}
    captures = {r.url: r for r in recrawls.deduped if r.type in ("response", "revisit")}
    assert pages <= set(captures), f"not fetched again: {sorted(pages - set(captures))}"
    responses = sorted(url for url in pages if captures[url].type == "response")
    assert responses == [], f"archived again in full: {responses}"
    for url in pages:
        revisit = captures[url]
        # It points at a capture of the first crawl, which pywb can find and serve.
        original = originals[revisit.headers["WARC-Refers-To"]]
        assert revisit.headers["WARC-Profile"] == REVISIT_PROFILE
        assert revisit.headers["WARC-Payload-Digest"] == original.headers["WARC-Payload-Digest"]
        assert revisit.headers["WARC-Refers-To-Target-URI"] == original.url
        assert revisit.headers["WARC-Refers-To-Date"] == original.headers["WARC-Date"]


def test_second_crawl_writes_robots_txt_in_full(recrawls: Recrawls) -> None:
    """robots.txt is archived in full by every crawl, as the record of the rules that crawl
    obeyed; the digest index behind revisits holds the pages (robots.txt is not one)."""
    [robots] = [
        r
        for r in recrawls.deduped
        if r.url.endswith("/robots.txt") and r.type in ("response", "revisit")
    ]
    assert robots.type == "response" and robots.payload


def test_no_dedup_writes_every_page_as_a_response_again(recrawls: Recrawls) -> None:
    pages = whole_pages(recrawls.first)
    types = Counter(r.type for r in recrawls.no_dedup)
    assert types["revisit"] == 0, types
    responses = {r.url: r for r in recrawls.no_dedup if r.type == "response"}
    assert pages <= set(responses)
    first = {r.url: r for r in recrawls.first.records if r.type == "response"}
    assert pages & set(first), "no page the first crawl archived in full"
    for url in pages & set(first):
        assert responses[url].payload == first[url].payload

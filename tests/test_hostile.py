"""Crawls against hostile or broken servers on loopback: other ports of a named host,
robots.txt that fails, decompression bombs, pages with a flood of links."""

from __future__ import annotations

import asyncio
import gzip
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import brotli
import pytest
from backports import zstd
from scrapy.crawler import CrawlerRunner
from scrapy.utils.defer import deferred_f_from_coro_f
from trafilatura.utils import load_html
from warcio.archiveiterator import ArchiveIterator

from archive.coding import BROTLI_BOUNDED, TooLarge
from archive.db.engine import open_engine
from archive.db.repository import Store
from archive.extract import MAX_LINKS_PER_PAGE, extract, prune_links
from archive.warc import Exchange, StoredRecord, WarcWriter, WarcWriterConfig, read_record
from crawler.discovery.scope import Scope
from crawler.reextract import reextract
from crawler.spiders.story import StorySpider
from crawler.storyfile import build_story
from tests.servers import LoopbackServer, Reply, page
from tests.test_capture import crawl, settings
from tests.test_frontier import SEED_TEXT, candidate_states, dated_article


def warc_records(data: Path) -> list[StoredRecord]:
    """Every response record of a crawl's WARC files, read back as the archive reads them."""
    records = []
    for path in sorted((data / "warc").glob("*.warc.gz")):
        with open(path, "rb") as stream:
            iterator = ArchiveIterator(stream)
            offsets = [iterator.get_record_offset() for r in iterator if r.rec_type == "response"]
        records += [read_record(path, offset) for offset in offsets]
    return records


def candidate_urls(data: Path) -> list[str]:
    with sqlite3.connect(data / "storycrawl.db") as database:
        return [url for (url,) in database.execute("SELECT url FROM candidates")]


# -- scope by origin ----------------------------------------------------------------------


def test_scope_is_by_origin_with_subdomains_on_the_same_port() -> None:
    scope = Scope.of(["http://127.0.0.1:8001/seed", "https://example.com/news/"])
    assert scope.allows("http://127.0.0.1:8001/other")
    assert not scope.allows("http://127.0.0.1:9002/other")
    assert scope.allows("http://example.com/old-link")  # the same site before https
    assert scope.allows("https://www.example.com/a")
    assert not scope.allows("https://example.com:8443/a")
    assert not scope.allows("https://www.example.com:8443/a")
    assert not scope.allows("https://notexample.com/a")


@deferred_f_from_coro_f
async def test_another_port_of_a_named_host_is_another_site(tmp_path) -> None:
    """Links, a redirect and a robots.txt Sitemap line lead from the named port to another
    port of the same host: nothing is fetched there, not even its robots.txt."""
    with LoopbackServer("127.0.0.23", {}) as named, LoopbackServer("127.0.0.23", {}) as other:
        links = (
            f'<a href="{other.url}/onodera-aegis-ashore">Onodera Aegis Ashore defend Japan</a>'
            '<a href="/news/aegis-ashore-onodera">Onodera: Aegis Ashore will only defend Japan</a>'
        )
        other.routes["/onodera-aegis-ashore"] = page(
            dated_article("Onodera Aegis Ashore", "2018-01-16", SEED_TEXT)
        )
        named.routes.update({
            "/robots.txt": lambda: Reply(headers=[("Content-Type", "text/plain")],
                                         body=f"Sitemap: {other.url}/sitemap.xml\n".encode()),
            "/seed": page(dated_article("Japan dismisses Russia's concerns", "2018-01-16",
                                        SEED_TEXT, links)),
            "/news/aegis-ashore-onodera": lambda: Reply(302, [("Location", f"{other.url}/moved")]),
        })  # fmt: skip
        crawler = await crawl(tmp_path, f"{named.url}/seed")
    assert "/seed" in named.requested and "/news/aegis-ashore-onodera" in named.requested
    assert other.requested == []
    assert crawler.stats.get_value("storycrawl/guard/refused_private") == 1  # the redirect
    assert not [url for url in candidate_urls(tmp_path) if url.startswith(other.url)]


# -- robots.txt that fails ----------------------------------------------------------------

ROBOTS_FAILURES = {
    "500": Reply(500, body=b"User-agent: *\nAllow: /\n"),
    "503": Reply(503, [("Retry-After", "0")], b"down for maintenance"),
    "stall": Reply(headers=[("Content-Type", "text/plain")], body=b"User-agent: *\n" * 2,
                   pieces=2, pause=4.0),
}  # fmt: skip


@pytest.mark.parametrize("failure", [*ROBOTS_FAILURES, "404"])
@deferred_f_from_coro_f
async def test_robots_txt_answering_5xx_or_stalling_closes_the_site(tmp_path, failure) -> None:
    """RFC 9309: a robots.txt the server fails to give (5xx, a timeout) is complete
    disallow; one it does not have (4xx) is allow-all."""
    with LoopbackServer("127.0.0.24", {}) as seed, LoopbackServer("127.0.0.25", {}) as outlet:
        link = f'<a href="{outlet.url}/news/aegis-ashore-onodera">Onodera: Aegis Ashore will only defend Japan</a>'  # noqa: E501
        seed.routes["/seed"] = page(dated_article("Japan dismisses Russia's concerns",
                                                  "2018-01-16", SEED_TEXT, link))  # fmt: skip
        reply = ROBOTS_FAILURES.get(failure, Reply(404, body=b"not found"))
        outlet.routes["/robots.txt"] = lambda: reply
        outlet.routes["/news/aegis-ashore-onodera"] = page(
            dated_article("Onodera: Aegis Ashore will only defend Japan", "2018-01-16", SEED_TEXT)
        )
        values = settings(tmp_path)
        values.setdict({"DOWNLOAD_TIMEOUT": 1, "RETRY_TIMES": 1})
        definition = build_story({}, {"name": "robots", "seeds": [f"{seed.url}/seed"],
                                      "sites": [f"{outlet.url}/"], "data": tmp_path})  # fmt: skip
        crawler = CrawlerRunner(values).create_crawler(StorySpider)
        await asyncio.wait_for(crawler.crawl_async(story=definition), timeout=60)
    states = candidate_states(tmp_path)
    if failure == "404":
        assert "/news/aegis-ashore-onodera" in outlet.requested
        return
    assert set(outlet.requested) == {"/robots.txt"}, outlet.requested
    assert states["news/aegis-ashore-onodera"] == (
        "blocked_by_robots",
        {"reason": "site_unreachable"},
    )
    assert crawler.stats.get_value("finish_reason") == "finished"


# -- decompression bombs ------------------------------------------------------------------

#: Bombs inflate to 64 MB; the test's limit is 1 MB (the default is 10 MB).
BOMB_SIZE = 64 * 1024 * 1024
LIMIT = 1024 * 1024


def _bomb(coding: str) -> bytes:
    zeros = b"<html><body>" + b"\0" * BOMB_SIZE
    if coding == "gzip":
        return gzip.compress(zeros, compresslevel=9, mtime=0)
    if coding == "zstd":
        return zstd.compress(zeros)
    return brotli.compress(zeros, quality=1)


@pytest.mark.parametrize("coding", ["gzip", "zstd", "br"])
@deferred_f_from_coro_f
async def test_a_decompression_bomb_is_cut_at_the_limit_and_kept_truncated(tmp_path, coding):
    """The bomb's download stops once its body decodes past the limit; what arrived is
    archived as WARC-Truncated: length, the page is stored (so a second run does not fetch
    it again) and never extracted. Brotli, where no bounded decoder is installed, is not
    asked for, and a server sending it anyway has its body left coded."""
    bomb = _bomb(coding)
    with LoopbackServer("127.0.0.26", {}) as server:
        link = '<a href="/news/aegis-ashore-bomb">Aegis Ashore Japan missile defense bomb</a>'
        server.routes.update({
            "/seed": page(dated_article("Japan dismisses Russia's concerns", "2018-01-16",
                                        SEED_TEXT, link)),
            "/news/aegis-ashore-bomb": lambda: Reply(headers=[
                ("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", coding),
            ], body=bomb),
        })  # fmt: skip
        values = settings(tmp_path)
        values.set("STORYCRAWL_MAX_DECODED_SIZE", LIMIT)
        for _run in range(2):
            definition = build_story({}, {"name": "bomb", "seeds": [f"{server.url}/seed"],
                                          "data": tmp_path})  # fmt: skip
            crawler = CrawlerRunner(values).create_crawler(StorySpider)
            await asyncio.wait_for(crawler.crawl_async(story=definition), timeout=60)
            assert crawler.stats.get_value("finish_reason") == "finished"
    assert server.requested.count("/news/aegis-ashore-bomb") == 1
    [record] = [r for r in warc_records(tmp_path) if r.url.endswith("/news/aegis-ashore-bomb")]
    states = candidate_states(tmp_path)
    assert states["news/aegis-ashore-bomb"][0] == "fetched", states["news/aegis-ashore-bomb"]
    if coding == "br" and not BROTLI_BOUNDED:
        assert record.warc_headers.get_header("WARC-Truncated") is None
        assert record.payload == bomb  # kept as it came, coded
        return
    assert record.warc_headers.get_header("WARC-Truncated") == "length"
    assert len(record.payload) < len(bomb) or len(bomb) < 64 * 1024  # stopped mid-body
    assert crawler.stats.get_value("storycrawl/decompression/over_limit") is None  # 2nd run
    if coding == "gzip":  # reextract reads every archived page: the bomb it leaves alone
        store = Store(open_engine(f"sqlite:///{tmp_path / 'storycrawl.db'}"))
        again = reextract(store, tmp_path / "warc", "bomb", threshold=0.84, workers=1)
        assert again.documents == 1  # the seed


def test_an_archived_bomb_is_refused_when_read_back(tmp_path) -> None:
    """A bomb archived whole (by another crawler, or before the limit) decodes to TooLarge,
    never to 64 MB in memory."""
    writer = WarcWriter(WarcWriterConfig(directory=tmp_path, prefix="t", max_size=10**9, info={}))
    exchange = Exchange(
        url="http://a.example/bomb", method="GET", request_headers=[("Host", "a.example")],
        request_body=b"", protocol="HTTP/1.1", status=200,
        response_headers=[("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
        body=_bomb("gzip"), fetched_at=datetime.now(UTC), ip_address=None,
    )  # fmt: skip
    ref = writer.write_exchange(exchange, None)
    writer.close()
    record = read_record(tmp_path / ref.file, ref.offset)
    with pytest.raises(TooLarge):
        record.decoded()


# -- a flood of links ---------------------------------------------------------------------


def flood(count: int) -> str:
    items = "".join(
        f'<li><a href="/news/aegis-ashore-{n}">Aegis Ashore Japan {n}</a> read on</li>'
        for n in range(count)
    )
    return dated_article("Japan dismisses Russia's concerns", "2018-01-16", SEED_TEXT,
                         f"<ul>{items}</ul>")  # fmt: skip


def test_extraction_reads_the_first_links_of_a_flood_only() -> None:
    tree = load_html(flood(20_000))
    assert prune_links(tree) == 20_000 - MAX_LINKS_PER_PAGE
    assert len(list(tree.iter("a", "area", "link"))) == MAX_LINKS_PER_PAGE
    assert len(list(tree.iter("li"))) == MAX_LINKS_PER_PAGE  # the emptied items gone too
    assert tree.xpath("string(//ul)").count("read on") == MAX_LINKS_PER_PAGE
    document = extract(flood(20_000), "http://a.example/seed")
    assert document is not None and SEED_TEXT[0][:60] in document.text


@deferred_f_from_coro_f
async def test_a_page_with_a_flood_of_links_is_read_to_the_cap(tmp_path) -> None:
    with LoopbackServer("127.0.0.27", {}) as server:
        server.routes["/seed"] = page(flood(20_000))
        crawler = await crawl(tmp_path, f"{server.url}/seed", max_pages=3)
    assert crawler.stats.get_value("finish_reason") == "finished"
    found = [url for url in candidate_urls(tmp_path) if "/news/aegis-ashore-" in url]
    assert 0 < len(found) <= MAX_LINKS_PER_PAGE

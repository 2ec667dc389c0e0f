"""In-process crawls: what WARC capture records, and what the fetch guard refuses."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.crawler import CrawlerRunner
from scrapy.exceptions import IgnoreRequest
from scrapy.settings import Settings
from scrapy.utils.defer import deferred_f_from_coro_f
from scrapy.utils.test import get_crawler
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator

from archive.db import models
from archive.warc import read_record
from crawler.demo import load_articles
from crawler.guard import FetchGuard
from crawler.spiders.story import StorySpider
from crawler.storyfile import build_story
from tests.servers import LoopbackServer, gzipped, page, redirect

PARAGRAPHS = next(
    a.paragraphs
    for a in load_articles()
    if a.id == "japan-dismisses-russia-concerns-missile-systems"
)


def article(title: str, links: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return (
        f'<html lang="en"><head><title>{title}</title>'
        f'<meta property="og:type" content="article"></head>'
        f"<body><article><h1>{title}</h1>{body}</article>{links}</body></html>"
    )


def settings(tmp_path: Path) -> Settings:
    values = Settings()
    values.setmodule("crawler.settings", priority="project")
    values.setdict({"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False,
                    "STORYCRAWL_EXTRACT_WORKERS": 1, "LOG_LEVEL": "WARNING",
                    "STORYCRAWL_DATA_DIR": str(tmp_path)})  # fmt: skip
    return values


async def crawl(tmp_path: Path, seed: str, **story: object):
    definition = build_story({}, {"name": "capture", "seeds": (seed,), "data": tmp_path, **story})
    crawler = CrawlerRunner(settings(tmp_path)).create_crawler(StorySpider)
    await crawler.crawl_async(story=definition)
    return crawler


@pytest.fixture
def web():
    """A named outlet on 127.0.0.6 and, on 127.0.0.9, a host the user never named."""
    with LoopbackServer("127.0.0.6", {}) as named, LoopbackServer("127.0.0.9", {}) as private:
        private.routes["/router-admin"] = page("<html><body>admin</body></html>")
        links = (
            '<a href="/japan-aegis-ashore-gzip">Japan Aegis Ashore missile defense concerns</a>'
            '<a href="/japan-aegis-ashore-more">More on Aegis Ashore missile defense in Japan</a>'
        )
        named.routes.update({
            "/seed": page(article("Japan dismisses Russia's Aegis Ashore concerns", links)),
            "/japan-aegis-ashore-gzip": gzipped(article("Japan's Aegis Ashore is defensive")),
            "/japan-aegis-ashore-more": redirect(f"{private.url}/router-admin"),
        })  # fmt: skip
        yield named, private


@deferred_f_from_coro_f
async def test_gzip_page_is_archived_as_received_and_decoded_for_text(tmp_path, web):
    named, _ = web
    crawler = await crawl(tmp_path, f"{named.url}/seed")
    engine = create_engine(f"sqlite:///{tmp_path / 'storycrawl.db'}")
    with Session(engine) as session:
        row = session.scalars(
            select(models.Page).where(models.Page.url.endswith("/japan-aegis-ashore-gzip"))
        ).one()
        [document] = row.documents
        assert PARAGRAPHS[0][:80] in document.text
    record = read_record(tmp_path / "warc" / row.warc_file, row.warc_offset)
    served = named.routes["/japan-aegis-ashore-gzip"]().body
    assert record.http_headers.get_header("Content-Encoding") == "gzip"
    assert record.payload == served and gzip.decompress(record.payload) == record.decoded()
    assert record.warc_headers.get_header("WARC-IP-Address") == "127.0.0.6"
    assert record.record_id == row.warc_record_id
    assert crawler.stats.get_value("storycrawl/warc/response") == len(named.requested)


@deferred_f_from_coro_f
async def test_redirect_to_an_unnamed_private_host_is_refused(tmp_path, web):
    named, private = web
    crawler = await crawl(tmp_path, f"{named.url}/seed")
    assert "/japan-aegis-ashore-more" in named.requested, "the redirecting link was followed"
    assert private.requested == []
    assert crawler.stats.get_value("storycrawl/guard/refused_private") == 1
    # The redirect itself was fetched, so it is archived.
    [warc] = (tmp_path / "warc").glob("*.warc.gz")
    with open(warc, "rb") as stream:
        statuses = [r.http_headers.get_statuscode() for r in ArchiveIterator(stream)
                    if r.rec_type == "response"]  # fmt: skip
    assert "302" in statuses


@deferred_f_from_coro_f
async def test_allow_private_lets_the_redirect_through(tmp_path, web):
    named, private = web
    await crawl(tmp_path, f"{named.url}/seed", allow_private=True)
    assert private.requested == ["/robots.txt", "/router-admin"]


@deferred_f_from_coro_f
async def test_guard_refuses_other_schemes_and_unnamed_private_hosts(tmp_path: Path) -> None:
    crawler = get_crawler(settings_dict=settings(tmp_path).copy_to_dict())
    guard = FetchGuard(crawler, allow_private=False, named_sites=frozenset())
    with pytest.raises(IgnoreRequest, match="scheme"):
        await guard.process_request(Request("file:///etc/passwd"))
    with pytest.raises(IgnoreRequest, match="private"):
        await guard.process_request(Request("http://127.0.0.1:8080/"))
    assert await guard.process_request(Request("http://93.184.216.34/")) is None


def test_component_table(tmp_path: Path) -> None:
    """Where our components sit among Scrapy's: the guard before robots.txt is even fetched,
    WARC capture as an extension (not a downloader middleware: see WarcCapture)."""
    crawler = get_crawler(StorySpider, settings(tmp_path).copy_to_dict())
    middlewares = crawler.settings.getwithbase("DOWNLOADER_MIDDLEWARES")
    order = sorted((p, name) for name, p in middlewares.items() if p is not None)
    names = [name.rsplit(".", 1)[-1] for _, name in order]
    assert "RobotsTxtMiddleware" not in names  # replaced by the one that fails closed
    assert names.index("FetchGuard") < names.index("RobotsTxtFailClosed")
    assert "HttpCompressionMiddleware" not in names  # replaced by the bounded one
    assert names.index("RobotsTxtFailClosed") < names.index("BoundedDecompression")
    assert "crawler.capture.WarcCapture" in crawler.settings.getwithbase("EXTENSIONS")
    assert "crawler.capture.WarcCapture" not in middlewares

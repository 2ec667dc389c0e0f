"""Following a story back in time: through a web archive (a real pywb, the Wayback
Machine's CDX and replay API) when the live web no longer has it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from scrapy import Request
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator

from archive.urls import host_of
from crawler.archived import ArchivedResponses
from crawler.demo import NewsWeb
from crawler.demo.crawl import DEMO_SETTINGS
from crawler.discovery.archives import CdxError, WebArchive
from crawler.storyfile import StoryDefinition, StoryError, build_story
from tests.conftest import (
    CrawlRun,
    assert_same_story,
    settings_args,
    storycrawl,
    write_story_file,
)
from tests.servers import LoopbackServer, Reply, binary
from tests.wayback import backdated, running_wayback

QUICK = {**DEMO_SETTINGS, "RETRY_ENABLED": False}


#: Where the crawl's live fetches go once the news web is "gone": a proxy nobody listens on
#: (port 9 is discard, closed on loopback), which refuses every connection at once. pywb,
#: on 127.0.0.1, is reached directly.
WEB_GONE = {"http_proxy": "http://127.0.0.9:9", "no_proxy": "127.0.0.1"}
#: The bundled story's first report came out on 16 January 2018: the archive's captures
#: are dated from that day on, inside the story's window.
CAPTURED_FROM = datetime(2018, 1, 17, 8, 0)


@dataclass(frozen=True)
class Past:
    story: StoryDefinition
    wayback: str  # pywb's base URL; collection "past"
    matched: set[str]  # what the live crawl found: canonical URLs


@pytest.fixture(scope="module")
def past(story_crawl: CrawlRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Past]:
    """The bundled story's live crawl, as a web archive would hold it: its WARC files,
    dated back into the story's window, served by pywb."""
    assert story_crawl.returncode == 0, story_crawl.stderr[-3000:]
    matched = {record["canonical_url"] for record in story_crawl.export()}
    folder = tmp_path_factory.mktemp("captured-in-2018")
    warcs = backdated(story_crawl.warc_files, folder, CAPTURED_FROM)
    with running_wayback(tmp_path_factory.mktemp("pywb"), "past", warcs) as base:
        yield Past(story_crawl.story, base, matched)


@pytest.fixture(scope="module")
def from_archive(past: Past, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same story followed again with the live web gone, and the archive named."""
    data = tmp_path_factory.mktemp("archived")
    keys = past.story.as_json() | {"data": str(data), "archives": [f"{past.wayback}/past/cdx"]}
    story_file = write_story_file(data / "story.toml", build_story(keys, {}))
    done = storycrawl("crawl", str(story_file), *settings_args(QUICK), env=WEB_GONE)
    assert done.returncode == 0, done.stderr[-3000:]
    return data


def _export(data: Path, name: str) -> list[dict]:
    out = data / "export.jsonl"
    done = storycrawl("export", "--story", name, "--data", str(data), "--out", str(out))
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def _stats(data: Path) -> dict:
    with sqlite3.connect(data / "storycrawl.db") as db:
        return json.loads(db.execute("select stats from crawls").fetchone()[0])


def test_the_story_is_found_again_in_the_archive_alone(
    past: Past, from_archive: Path, news_web: NewsWeb
) -> None:
    records = _export(from_archive, past.story.name)
    assert_same_story({record["canonical_url"] for record in records}, past.matched, news_web)
    stats = _stats(from_archive)
    assert stats["storycrawl/archive/captures"] > 50  # the outlets' captures in the window
    assert stats["storycrawl/archive/retries/unreachable"] >= 2  # the seeds, gone live
    cdx = f"{past.wayback}/past/cdx"
    for record in records:
        # Known by its own URL, with the capture it came from.
        assert host_of(record["url"]) != host_of(past.wayback)
        assert record["archive"] == cdx
        assert record["archive_url"].startswith(f"{past.wayback}/past/")
        assert record["archive_url"].endswith(f"id_/{record['url']}")
        assert record["archived_at"] is not None


def test_an_archived_page_keeps_its_url_and_names_the_capture_in_its_warc(
    past: Past, from_archive: Path
) -> None:
    responses: dict[str, str] = {}  # record id -> target URI
    metadata: dict[str, str] = {}  # the response it refers to -> its fields
    requests: list[str] = []
    for path in sorted((from_archive / "warc").glob("*.warc.gz")):
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                headers = record.rec_headers
                target = headers.get_header("WARC-Target-URI")
                if record.rec_type == "response":
                    responses[headers.get_header("WARC-Record-ID")] = target
                elif record.rec_type == "metadata":
                    refers_to = headers.get_header("WARC-Refers-To")
                    metadata[refers_to] = record.content_stream().read().decode()
                elif record.rec_type == "request":
                    requests.append(target)
    archived = {rid: url for rid, url in responses.items() if rid in metadata}
    assert len(archived) >= len(past.matched)
    for record_id, url in archived.items():
        assert host_of(url) != host_of(past.wayback)  # the original URL, not the archive's
        fields = metadata[record_id]
        assert f"archive: {past.wayback}/past/cdx" in fields
        assert f"archive-url: {past.wayback}/past/" in fields and f"id_/{url}" in fields
        assert "archived-at: " in fields
    # What went over the wire: the requests to the archive are recorded as they were sent.
    assert any(url.startswith(f"{past.wayback}/past/") for url in requests)


# -- CDX answers and queries, without a crawl -----------------------------------------------


def _answer(body: str) -> TextResponse:
    return TextResponse("http://archive.example/cdx", body=body.encode())


def test_cdx_answers_of_both_dialects_give_html_captures_once_per_url() -> None:
    wayback = WebArchive.named("wayback")
    table = [
        ["urlkey", "timestamp", "original", "mimetype", "statuscode"],
        ["com,example)/a", "20180117000000", "http://example.com/a", "text/html", "200"],
        ["com,example)/a", "20180118000000", "http://example.com/a", "text/html", "200"],
        ["com,example)/b.css", "20180117000000", "http://example.com/b.css", "text/css", "200"],
        ["com,example)/c", "20180117000000", "http://example.com/c", "text/html", "404"],
        ["com,example)/rss", "20180117000000", "http://example.com/rss", "text/xml", "200"],
        ["com,example)/s.xml", "20180117000000", "http://example.com/s.xml", "text/xml", "200"],
    ]
    found = wayback.captures(_answer(json.dumps(table)))
    assert [(c.url, c.timestamp, c.kind) for c in found] == [
        ("http://example.com/a", "20180117000000", "page"),
        ("http://example.com/rss", "20180117000000", "feed"),
        ("http://example.com/s.xml", "20180117000000", "sitemap"),
    ]
    pywb = WebArchive.named("http://127.0.0.1:8080/coll/cdx")
    lines = [
        {"url": "http://example.com/a", "timestamp": "2018", "mime": "text/html", "status": "200"},
        {"url": "http://example.com/b", "timestamp": "2018", "mime": "text/html", "status": "301"},
    ]
    found = pywb.captures(_answer("\n".join(map(json.dumps, lines))))
    assert [c.url for c in found] == ["http://example.com/a"]
    assert pywb.replay_prefix == "http://127.0.0.1:8080/coll/"
    with pytest.raises(CdxError, match="not a CDX JSON answer: Rate limit"):
        wayback.captures(_answer("Rate limit exceeded"))


def test_a_wayback_query_asks_the_window_with_slack_and_filters_server_side() -> None:
    wayback = WebArchive.named("wayback")
    [query] = wayback.queries(("https://example.com/world/",), date(2017, 12, 1), date(2018, 6, 30))
    assert query.startswith("https://web.archive.org/cdx/search/cdx?url=example.com%2Fworld%2F")
    assert "matchType=prefix" in query and "from=20171129" in query and "to=20180702" in query
    params = parse_qs(urlsplit(query).query)
    assert params["filter"] == ["statuscode:200", _mime_filter()] and params["collapse"] == [
        "urlkey"
    ]
    assert wayback.replay_prefix == "https://web.archive.org/web/"


def _mime_filter() -> str:
    return (
        r"mimetype:(text/html|application/xhtml\+xml|application/rss\+xml|application/atom\+xml"
        "|application/xml|text/xml)"
    )


def test_a_story_names_archives_by_name_or_cdx_url() -> None:
    base = {"name": "s", "seeds": ["http://example.com/a"]}
    story = build_story(base | {"archives": ["wayback", "http://127.0.0.9:8080/c/cdx"]}, {})
    assert "http://127.0.0.9:8080" in story.named_sites  # a loopback archive the user named
    with pytest.raises(StoryError, match="archives: 'ia' is neither wayback nor"):
        build_story(base | {"archives": ["ia"]}, {})


# -- an archive that captured an error first ------------------------------------------------

GONE = "http://127.0.0.11:9"  # the outlet: nothing listens there any more
ARTICLE_TEXT = " ".join(
    f"Paragraph {n}: Japan's defence minister told parliament that the Aegis Ashore batteries "
    "would be operated by Japan alone, answering Russian objections raised in Moscow."
    for n in range(12)
)


def _memento(when: str) -> tuple[str, str]:
    return ("Memento-Datetime", when)


def test_a_capture_of_an_error_is_replaced_by_a_good_capture(tmp_path: Path) -> None:
    """The seed's outlet is gone; the archive's capture nearest the story's end is of a
    server error, and an earlier one of the article: the crawl finds and keeps that one."""
    seed = f"{GONE}/news/aegis-ashore"
    story = build_story(
        {"name": "gone", "seeds": [seed], "since": "2018-01-01", "until": "2018-03-31",
         "data": str(tmp_path / "data")},
        {},
    )  # fmt: skip
    archive_routes = {}
    with LoopbackServer("127.0.0.12", archive_routes) as archive_server:
        cdx = f"{archive_server.url}/coll/cdx"
        archive = WebArchive.named(cdx)
        good = "20180120083000"
        article = "<html><head><title>Aegis Ashore</title></head><body><article>"
        article += f"<h1>Aegis Ashore under Japan's sole command</h1><p>{ARTICLE_TEXT}</p>"
        article += "</article></body></html>"
        [outlet_query] = archive.queries((f"{GONE}/",), story.since, story.until)
        archive_routes.update({
            _path(outlet_query): binary("text/x-ndjson", b""),
            f"/coll/20180331id_/{seed}": lambda: Reply(
                500, [_memento("Sat, 31 Mar 2018 10:00:00 GMT")], b"archived error"
            ),
            _path(archive.lookup(seed)): binary("text/x-ndjson", "\n".join(
                json.dumps({"url": seed, "timestamp": ts, "mime": "text/html", "status": st})
                for ts, st in (("20180331100000", "500"), (good, "200"))
            ).encode()),
            f"/coll/{good}id_/{seed}": lambda: Reply(200, [
                ("Content-Type", "text/html; charset=utf-8"),
                _memento("Sat, 20 Jan 2018 08:30:00 GMT"),
            ], article.encode()),
        })  # fmt: skip
        keys = story.as_json() | {"archives": [cdx]}
        story_file = write_story_file(tmp_path / "story.toml", build_story(keys, {}))
        done = storycrawl("crawl", str(story_file), *settings_args(QUICK))
        assert done.returncode == 0, done.stderr[-3000:]
    [record] = _export(tmp_path / "data", "gone")
    assert record["url"] == seed and record["status"] == 200
    assert record["archive_url"] == f"{archive_server.url}/coll/{good}id_/{seed}"
    assert record["archived_at"] == "2018-01-20T08:30:00+00:00"


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_autothrottle_leaves_the_wayback_machine_s_delay_alone() -> None:
    crawler = get_crawler(settings_dict={"DOWNLOAD_SLOTS": {"web.archive.org": {"delay": 4.0}}})
    slots = crawler.settings.getdict("DOWNLOAD_SLOTS")
    middleware = ArchivedResponses(crawler, frozenset(slots))
    wayback = Request("https://web.archive.org/web/2018id_/https://example.com/a")
    live = Request("https://example.com/a")
    for request in (wayback, live):
        middleware.process_request(request)
    assert wayback.meta.get("autothrottle_dont_adjust_delay") is True
    assert "autothrottle_dont_adjust_delay" not in live.meta

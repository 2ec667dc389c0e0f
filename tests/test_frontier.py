"""The frontier: one key per article, trap rules, page budgets, Crawl-delay, and the state
every candidate URL ends in, with why."""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from scrapy.crawler import CrawlerRunner
from scrapy.utils.defer import deferred_f_from_coro_f
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from archive.db import models
from archive.duplicates import Fingerprint, duplicates
from archive.urls import canonical, original_of
from crawler.demo import load_articles
from crawler.discovery.traps import TrapRules, url_date
from crawler.spiders.story import StorySpider
from crawler.storyfile import build_story
from tests.servers import LoopbackServer, Reply, page
from tests.test_capture import crawl, settings

ARTICLES = {a.id: a for a in load_articles()}
SEED_TEXT = ARTICLES["japan-dismisses-russia-concerns-missile-systems"].paragraphs
OTHER_TEXT = ARTICLES["onodera-aegis-ashore-will-only-defend-japan"].paragraphs


def dated_article(title: str, published: str, paragraphs: list[str], links: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<html lang="en"><head><title>{title}</title>'
        f'<meta property="og:type" content="article">'
        f'<meta property="article:published_time" content="{published}"></head>'
        f"<body><article><h1>{title}</h1>{body}</article>{links}</body></html>"
    )


# -- one key per article ----------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        "http://a.example/news/aegis?utm_source=rss&utm_medium=feed",
        "http://a.example/news/aegis?sid=9f8e7d",
        "http://a.example/news/aegis;jsessionid=0AF3B2",
        "http://a.example/amp/news/aegis",
        "http://a.example/news/aegis/amp",
        "http://a.example/news/aegis.amp",
        "http://a.example/print/news/aegis",
        "http://a.example/news/aegis?amp=1",
        "http://a.example/news/aegis#comments",
    ],
)
def test_copies_and_tracked_links_share_the_article_key(variant: str) -> None:
    assert canonical(variant) == canonical("http://a.example/news/aegis")


@pytest.mark.parametrize(
    "template",
    [
        "http://a.example/view.php?articleid={}",
        "http://a.example/news/articleView.html?idxno={}",
        "http://a.example/story?id={}&utm_source=rss",
        "http://a.example/?p={}",
        "http://a.example/read.php?sid=9f8e&newsid={}",
    ],
)
def test_an_article_id_in_the_query_string_stays_in_the_key(template: str) -> None:
    keys = {canonical(template.format(n)) for n in (101, 102, 103)}
    assert len(keys) == 3
    assert not any(re.search(r"[?&](utm_source|sid)=", key) for key in keys)


def test_the_article_is_fetched_instead_of_its_amp_or_print_copy() -> None:
    assert original_of("http://a.example/amp/news/aegis") == "http://a.example/news/aegis"
    assert original_of("http://a.example/print/news/aegis/") == "http://a.example/news/aegis/"
    # A section named like a variant is not one: nothing to fold it onto.
    assert original_of("http://a.example/print/") == "http://a.example/print/"


def test_url_dates() -> None:
    assert url_date("http://a.example/2018/01/17/aegis.html") == date(2018, 1, 17)
    assert url_date("http://a.example/Detail/2018-02-15/529272/Tokyo") == date(2018, 2, 15)
    assert url_date("http://a.example/military/2018042610318162-moscow/") == date(2018, 4, 26)
    assert url_date("http://a.example/military-and-defense/9990510") is None
    assert url_date("http://a.example/2018/13/45/no") is None


# -- trap rules -------------------------------------------------------------------------


def test_a_path_nesting_itself_is_a_trap() -> None:
    rules = TrapRules(max_per_site=100)
    assert rules.refusal("http://a.example/news/world/news/world/news/x") == (
        "trap",
        "path repetition",
    )
    assert rules.refusal("http://a.example/news/world/news/x") is None


def test_query_strings_per_path_are_capped() -> None:
    rules = TrapRules(max_per_site=1000, max_query_variants=25)
    urls = [f"http://a.example/list?sort={s}&page={p}" for s in "abcdef" for p in range(10)]
    allowed = [url for url in urls if rules.refusal(url) is None]
    assert len(allowed) == 25
    assert rules.refusal("http://a.example/other?page=2") is None  # another path, other count


def test_calendar_pages_are_capped_per_site() -> None:
    rules = TrapRules(max_per_site=1000, max_calendar_pages=30)
    days = [
        f"http://a.example/archive/2018/{m:02}/{d:02}/" for m in (1, 2, 3) for d in range(1, 29)
    ]
    assert sum(rules.refusal(url) is None for url in days) == 30
    assert rules.refusal("http://a.example/2018/01/17/aegis-ashore-story.html") is None


def test_site_budget_counts_each_host_apart() -> None:
    rules = TrapRules(max_per_site=3)
    assert [rules.refusal(f"http://a.example/{n}") for n in range(4)][-1] == (
        "over_budget",
        "site budget of 3 pages",
    )
    assert rules.refusal("http://b.example/1") is None


# -- syndicated copies ------------------------------------------------------------------


def test_copies_point_at_the_earliest_whatever_order_they_came_in() -> None:
    from trafilatura.deduplication import Simhash

    first = "japan-dismisses-russia-concerns-missile-systems"
    original = ARTICLES[first].body
    texts = {a.id: a.body for a in list(ARTICLES.values())[:30]} | {first: original}
    fetched = datetime(2026, 1, 1)
    prints = [
        Fingerprint(key, Simhash(text).hash, "2018-01-01", fetched) for key, text in texts.items()
    ]
    prints += [
        Fingerprint(
            "copy-b", Simhash(original + "\n\nRepublished from TASS.").hash, "2018-01-18", fetched
        ),
        Fingerprint("copy-a", Simhash("Editor's note.\n\n" + original).hash, "2018-01-17", fetched),
    ]
    prints = [
        p if p.key != first else Fingerprint(p.key, p.simhash, "2018-01-16", fetched)
        for p in prints
    ]
    copies = duplicates(reversed(prints))
    assert copies == {
        "copy-a": "japan-dismisses-russia-concerns-missile-systems",
        "copy-b": "japan-dismisses-russia-concerns-missile-systems",
    }


# -- a crawl ----------------------------------------------------------------------------


@pytest.fixture
def outlet():
    """One outlet with every frontier case a story crawl meets, linked from the seed."""
    with LoopbackServer("127.0.0.21", {}) as server:
        links = "".join(
            f'<a href="{href}">{text}</a>'
            for href, text in (
                ("/news/japan-aegis-ashore-copy", "Japan dismisses Russia Aegis Ashore concerns"),
                ("/private/aegis-ashore-japan", "Aegis Ashore Japan missile defense memo"),
                ("/old/aegis-ashore-onodera", "Onodera Aegis Ashore defend Japan"),
                ("/amp/news/aegis-ashore-onodera", "Onodera Aegis Ashore defend Japan (AMP)"),
                ("/news/aegis-ashore-onodera?utm_source=seed&sid=42", "Onodera on Aegis Ashore"),
                ("/2017/05/01/aegis-ashore-early-plans", "Aegis Ashore early plans Japan"),
                ("/weather/osaka", "Weather in Osaka"),
                ("/x/y/x/y/x/aegis-ashore-japan", "Aegis Ashore Japan again"),
            )
        )
        onodera = dated_article("Onodera: Aegis Ashore will only defend Japan", "2018-01-16",
                                OTHER_TEXT)  # fmt: skip
        server.routes.update({
            "/robots.txt": lambda: Reply(headers=[("Content-Type", "text/plain")],
                                         body=b"User-agent: *\nDisallow: /private/\n"),
            "/seed": page(dated_article("Japan dismisses Russia's concerns", "2018-01-16",
                                        SEED_TEXT, links)),
            "/news/japan-aegis-ashore-copy": page(dated_article(
                "Japan dismisses Russia's concerns", "2018-01-18",
                [*SEED_TEXT, "This article was first published by TASS."])),
            "/old/aegis-ashore-onodera": lambda: Reply(
                301, [("Location", f"{server.url}/news/aegis-ashore-onodera")]),
            "/news/aegis-ashore-onodera": page(onodera),
        })  # fmt: skip
        yield server


def candidate_states(data: Path) -> dict[str, tuple[str, dict]]:
    engine = create_engine(f"sqlite:///{data / 'storycrawl.db'}")
    with Session(engine) as session:
        rows = session.scalars(select(models.Candidate)).all()
        return {row.url.split("/", 3)[3]: (row.state, row.features or {}) for row in rows}


@deferred_f_from_coro_f
async def test_every_candidate_ends_in_a_state_with_why(tmp_path: Path, outlet) -> None:
    await crawl(tmp_path, f"{outlet.url}/seed", since="2018-01-01", until="2018-06-30")
    states = candidate_states(tmp_path)
    assert states["seed"][0] == "accepted"
    assert states["news/japan-aegis-ashore-copy"][0] == "duplicate"
    assert states["private/aegis-ashore-japan"][0] == "blocked_by_robots"
    assert states["old/aegis-ashore-onodera"] == (
        "redirected",
        {"to": f"{outlet.url}/news/aegis-ashore-onodera", **states["old/aegis-ashore-onodera"][1]},
    )
    assert states["news/aegis-ashore-onodera"][0] == "accepted"
    assert states["2017/05/01/aegis-ashore-early-plans"][0] == "out_of_window"
    assert states["weather/osaka"][0] == "discovered"
    assert states["weather/osaka"][1]["text"] == "Weather in Osaka"
    assert states["x/y/x/y/x/aegis-ashore-japan"] == (
        "trap",
        {**states["x/y/x/y/x/aegis-ashore-japan"][1], "rule": "path repetition"},
    )
    # Nothing was fetched twice, no copy or out-of-window page at all.
    assert sorted(outlet.requested) == sorted(set(outlet.requested))
    for never in ("/amp/news/aegis-ashore-onodera", "/2017/05/01/aegis-ashore-early-plans",
                  "/weather/osaka", "/x/y/x/y/x/aegis-ashore-japan"):  # fmt: skip
        assert never not in outlet.requested
    assert not [path for path in outlet.requested if "utm_source" in path or "sid=" in path]


@deferred_f_from_coro_f
async def test_the_duplicate_is_left_out_of_the_default_export(tmp_path: Path, outlet) -> None:
    from archive.db.engine import open_engine
    from archive.db.repository import Store
    from archive.export import ExportFilter, export_records

    await crawl(tmp_path, f"{outlet.url}/seed")
    store = Store(open_engine(f"sqlite:///{tmp_path / 'storycrawl.db'}"))
    default = [r["url"] for r in export_records(store, ExportFilter("capture"))]
    everything = list(export_records(store, ExportFilter("capture", include_duplicates=True)))
    [copy] = [r for r in everything if r["duplicate_of"]]
    assert copy["url"].endswith("/news/japan-aegis-ashore-copy")
    assert copy["duplicate_of"].endswith("/seed")
    assert copy["url"] not in default and len(default) == len(everything) - 1


@deferred_f_from_coro_f
async def test_robots_crawl_delay_spaces_the_requests(tmp_path: Path) -> None:
    links = "".join(f'<a href="/aegis-ashore-{n}">Aegis Ashore Japan {n}</a>' for n in range(3))
    with LoopbackServer("127.0.0.22", {}) as server:
        server.routes.update({
            "/robots.txt": lambda: Reply(headers=[("Content-Type", "text/plain")],
                                         body=b"User-agent: *\nCrawl-delay: 0.75\n"),
            "/seed": page(dated_article("Aegis Ashore", "2018-01-16", SEED_TEXT, links)),
        })  # fmt: skip
        await crawl(tmp_path, f"{server.url}/seed")  # DOWNLOAD_DELAY 0, no AutoThrottle
    assert len(server.arrived) == 5  # robots.txt, the seed, three links
    after_robots = server.arrived[1:]
    gaps = [b - a for a, b in pairwise(after_robots)]
    assert min(gaps) >= 0.65, gaps  # a float Crawl-delay, less 0.1 s for loopback jitter


@deferred_f_from_coro_f
async def test_a_seed_over_the_budget_is_left_out_and_the_crawl_ends(tmp_path: Path, outlet):
    """Two seeds, a budget of one page: the second seed is noted over budget, the story is
    judged from the first, and the crawl ends (it used to wait for the second forever)."""
    seeds = (f"{outlet.url}/seed", f"{outlet.url}/news/aegis-ashore-onodera")
    definition = build_story(
        {}, {"name": "capture", "seeds": seeds, "data": tmp_path, "max_pages": 1}
    )
    crawler = CrawlerRunner(settings(tmp_path)).create_crawler(StorySpider)
    await asyncio.wait_for(crawler.crawl_async(story=definition), timeout=60)
    assert crawler.stats.get_value("finish_reason") == "finished"
    assert [p for p in outlet.requested if p != "/robots.txt"] == ["/seed"]
    states = candidate_states(tmp_path)
    assert states["seed"][0] == "accepted"
    assert states["news/aegis-ashore-onodera"] == (
        "over_budget",
        {"rule": "story budget of 1 pages"},
    )

"""Search sources: the GDELT query built from a story, its answers read, and a story crawl
that finds another outlet's coverage through a loopback GDELT (tests/gdelt_server.py)."""

from __future__ import annotations

import urllib.request
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from scrapy.crawler import Crawler, CrawlerRunner
from scrapy.http import TextResponse
from scrapy.settings import Settings
from scrapy.utils.defer import deferred_f_from_coro_f
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from archive.db import models
from archive.extract import extract
from archive.judge.profile import StoryProfile
from crawler.cli import main
from crawler.demo import NewsWeb
from crawler.discovery import Candidate
from crawler.discovery.scope import Scope
from crawler.discovery.search import GdeltSource, SearchError, gdelt_query, query_terms
from crawler.spiders.story import StorySpider
from crawler.storyfile import StoryError, build_story
from tests.gdelt_server import GdeltServer, Result

SEED = "japan-dismisses-russias-worries-us-could-use-missile-system"  # on courier
#: Orbit's coverage, which nothing on courier links to: only a search finds it.
FOUND = {
    "aegis-ashore-managed-only-by-tokyo-used-for-defense-japan-mfa": "20180116T081500Z",
    "moscow-repeats-objections-japan-moves-ahead-aegis-ashore-sites": "20180426T150000Z",
    "japan-installing-missile-base-200-miles-from-chinese-coast": "20180109T130000Z",
}
#: Listed by the search with a date far outside the story's window: never fetched.
LATE = "zuckerberg-apologizes-to-us-congress-over-data-scandal"
WINDOW = {"since": "2017-12-01", "until": "2018-06-30"}
ENDPOINT = "http://search.example/api/v2/doc/doc"


def answer(body: str, url: str = ENDPOINT + "?query=x") -> TextResponse:
    return TextResponse(url, body=body.encode(), headers={"Content-Type": "application/json"})


@pytest.fixture(scope="module")
def profile(news_web: NewsWeb) -> StoryProfile:
    url = news_web.url(SEED)
    with urllib.request.urlopen(url) as page:
        document = extract(page.read(), url)
    assert document is not None
    built = StoryProfile(keywords=(), since=None, until=None, threshold=0.3)
    built.add_seed(document)
    return built


# -- the query ----------------------------------------------------------------------------


def test_query_requires_the_top_term_and_any_of_the_next() -> None:
    terms = ["lavrov", "aegis", "missile", "aegis ashore", "ashore", "japan", "us", "tass"]
    assert query_terms(terms) == ["lavrov", "aegis ashore", "missile", "japan"]
    assert gdelt_query(terms) == 'lavrov ("aegis ashore" OR missile OR japan)'


def test_query_drops_short_words_and_quotes_what_is_not_one_word() -> None:
    assert query_terms(["un council", "us", "f-35a", "izumo"]) == ["f-35a", "izumo"]
    assert gdelt_query(["f-35a", "izumo"]) == '"f-35a" izumo'
    assert gdelt_query([]) == ""


def test_request_carries_the_story_terms_and_window(profile: StoryProfile) -> None:
    story = build_story({}, {"name": "s", "seeds": ("https://a.example/x",), **WINDOW})
    [url] = GdeltSource(ENDPOINT).requests_for(profile, story)
    assert url.startswith(ENDPOINT + "?")
    params = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
    assert params == {
        "query": gdelt_query(profile.key_terms),
        "mode": "artlist",
        "format": "json",
        "maxrecords": "250",
        "sort": "datedesc",
        "startdatetime": "20171129000000",  # the window, two days' slack either side
        "enddatetime": "20180702235959",
    }
    assert "lavrov" in params["query"] and '"aegis ashore"' in params["query"]
    assert " " not in url and "+" not in url  # spaces sent as %20, as GDELT's examples do


def test_no_window_no_dates_and_no_terms_no_query(profile: StoryProfile) -> None:
    story = build_story({}, {"name": "s", "seeds": ("https://a.example/x",)})
    [url] = GdeltSource(ENDPOINT).requests_for(profile, story)
    assert "datetime" not in url
    unseeded = StoryProfile(keywords=(), since=None, until=None, threshold=0.3)
    assert GdeltSource(ENDPOINT).requests_for(unseeded, story) == []


# -- answers ------------------------------------------------------------------------------


def test_results_give_url_title_and_seen_date() -> None:
    results = GdeltSource().parse(answer(
        '{"articles": [{"url": "https://orbit.example/a", "url_mobile": "https://orbit.example/amp/a",'
        ' "title": "Aegis Ashore  to be managed\\u00a0by Tokyo", "seendate": "20180116T081500Z",'
        ' "socialimage": "", "domain": "orbit.example", "language": "English",'
        ' "sourcecountry": "Russia"}]}'
    ))  # fmt: skip
    assert results == [
        Candidate(
            "https://orbit.example/a", "Aegis Ashore to be managed by Tokyo", date(2018, 1, 16)
        )
    ]


def test_nothing_found_is_an_empty_object() -> None:
    assert GdeltSource().parse(answer("{}")) == []
    assert GdeltSource().parse(answer('{"articles": []}')) == []


def test_malformed_entries_are_skipped() -> None:
    results = GdeltSource().parse(answer(
        '{"articles": ["https://a.example/string", {"title": "no url"}, {"url": 42},'
        ' {"url": "javascript:alert(1)"}, {"url": "/relative"},'
        ' {"url": " https://a.example/ok ", "title": null, "seendate": "yesterday"},'
        ' {"url": "https://a.example/raw", "title": "tab\there", "seendate": "20180230T000000Z"}]}'
    ))  # fmt: skip
    assert results == [
        Candidate("https://a.example/ok"),
        Candidate("https://a.example/raw", "tab here"),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Your search contained no keywords.\n", "Your search contained no keywords."),
        ("", "an empty answer"),
        ("[]", "no 'articles' array"),
        ('{"articles": "none"}', "no 'articles' array"),
    ],
)
def test_an_answer_that_is_no_result_list_is_an_error(body: str, message: str) -> None:
    with pytest.raises(SearchError, match=message):
        GdeltSource().parse(answer(body))


# -- the story file and scope -------------------------------------------------------------


def test_search_is_off_unless_the_story_names_a_known_source() -> None:
    seeds = ("https://a.example/x",)
    assert build_story({}, {"name": "s", "seeds": seeds}).search == ()
    story = build_story({"name": "s", "seeds": list(seeds), "search": ["gdelt"]}, {})
    assert story.search == ("gdelt",) and story.as_json()["search"] == ["gdelt"]
    with pytest.raises(StoryError, match="search: unknown 'bing' \\(known: gdelt\\)"):
        build_story({"name": "s", "seeds": list(seeds), "search": ["bing"]}, {})


def test_crawl_option_names_the_source(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["crawl", "--name", "s", "--seed", "https://a.example/x", "--search", "bing"]
    assert main(args) == 2
    assert "unknown 'bing'" in capsys.readouterr().err


def test_scope_takes_in_result_pages_not_their_sites() -> None:
    scope = Scope.of(["https://courier.example/"]).with_pages(
        ["https://orbit.example/world/aegis?utm_source=gdelt", "https://orbit.example/amp/kuril"]
    )
    assert scope.allows("https://courier.example/any")
    assert scope.allows("https://orbit.example/world/aegis")
    assert scope.allows("https://orbit.example/kuril")  # the article of an AMP result
    assert not scope.allows("https://orbit.example/world/")
    assert not scope.allows("https://elsewhere.example/world/aegis")


# -- crawls -------------------------------------------------------------------------------


def crawl_settings(tmp_path: Path, gdelt: GdeltServer) -> Settings:
    values = Settings()
    values.setmodule("crawler.settings", priority="project")
    values.setdict({"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False,
                    "STORYCRAWL_EXTRACT_WORKERS": 1, "LOG_LEVEL": "WARNING",
                    "STORYCRAWL_DATA_DIR": str(tmp_path),
                    "STORYCRAWL_GDELT_URL": gdelt.url})  # fmt: skip
    return values


async def crawl(tmp_path: Path, web: NewsWeb, gdelt: GdeltServer, **story: object) -> Crawler:
    definition = build_story(
        {}, {"name": "search", "seeds": (web.url(SEED),), "data": tmp_path, **WINDOW, **story}
    )
    crawler = CrawlerRunner(crawl_settings(tmp_path, gdelt)).create_crawler(StorySpider)
    await crawler.crawl_async(story=definition)
    return crawler


@pytest.fixture
def gdelt(news_web: NewsWeb):
    """Lists orbit's articles for a query that names the story as the seed does."""
    results = [Result(news_web.url(id), id.replace("-", " "), seen) for id, seen in FOUND.items()]
    results.append(Result(news_web.url(LATE), "Zuckerberg apologizes", "20190411T021500Z"))
    with GdeltServer("127.0.0.12", results, terms=("lavrov", '"aegis ashore"')) as server:
        yield server


def candidate_states(tmp_path: Path, web: NewsWeb, ids: list[str]) -> dict[str, str]:
    urls = {web.url(id): id for id in ids}
    with Session(create_engine(f"sqlite:///{tmp_path / 'storycrawl.db'}")) as session:
        rows = session.scalars(select(models.Candidate).where(models.Candidate.url.in_(list(urls))))
        return {urls[row.url]: row.state for row in rows}


@deferred_f_from_coro_f
async def test_search_results_on_another_outlet_are_fetched_and_judged(
    tmp_path: Path, news_web: NewsWeb, gdelt: GdeltServer
) -> None:
    already = len(news_web.requests)
    crawler = await crawl(
        tmp_path, news_web, gdelt, search=("gdelt",), allow_private=True, max_depth=2
    )
    [query] = gdelt.queries
    assert query["startdatetime"] == "20171129000000" and query["enddatetime"] == "20180702235959"
    orbit = {s.path_with_query for s in news_web.requests[already:] if s.outlet == "orbit"}
    found = {urlsplit(news_web.url(id)).path for id in FOUND}
    # The result pages, and none of the orbit pages their links lead to: the scope took in
    # the pages a search found, not their outlet.
    assert orbit == found | {"/robots.txt"}
    states = candidate_states(tmp_path, news_web, [*FOUND, LATE])
    assert states == {
        "aegis-ashore-managed-only-by-tokyo-used-for-defense-japan-mfa": "accepted",
        "moscow-repeats-objections-japan-moves-ahead-aegis-ashore-sites": "accepted",
        "japan-installing-missile-base-200-miles-from-chinese-coast": "rejected",
        LATE: "out_of_window",
    }
    assert crawler.stats.get_value("storycrawl/search/results") == len(FOUND) + 1


@deferred_f_from_coro_f
async def test_without_search_nothing_is_asked(
    tmp_path: Path, news_web: NewsWeb, gdelt: GdeltServer
) -> None:
    await crawl(tmp_path, news_web, gdelt, allow_private=True, max_depth=1)
    assert gdelt.requested == []


@deferred_f_from_coro_f
async def test_the_fetch_guard_still_keeps_the_search_off_private_hosts(
    tmp_path: Path, news_web: NewsWeb, gdelt: GdeltServer
) -> None:
    crawler = await crawl(tmp_path, news_web, gdelt, search=("gdelt",), max_depth=1)
    assert gdelt.requested == []
    assert crawler.stats.get_value("storycrawl/guard/refused_private") >= 1

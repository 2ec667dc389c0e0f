"""Discovery: feeds, sitemaps, page links and robots.txt turned into candidate URLs.

Unit tests build Scrapy responses from the files in tests/data/discovery, written by hand.
The gzip files there are gzip.compress(..., mtime=0) of: urlset.xml (urlset.xml.gz); a
sitemap of 30 URLs, cut at half its compressed length (truncated-sitemap.xml.gz); one URL
followed by 16 MiB of blanks (bomb.xml.gz); and a valid gzip header followed by bytes that
are not deflate data (bad-gzip.xml.gz). The last tests read the bundled news web over HTTP.
"""

from __future__ import annotations

import gzip
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from scrapy import Request, Spider
from scrapy.http import HtmlResponse, XmlResponse
from scrapy.robotstxt import ProtegoRobotParser
from scrapy.utils.test import get_crawler

from archive.urls import canonical
from crawler.demo import OUTLETS, NewsWeb
from crawler.discovery import Candidate
from crawler.discovery.feeds import parse_date, parse_feed, parse_sitemap
from crawler.discovery.links import feed_links, navigation_kind, page_links
from crawler.discovery.robots import RobotsExtras, read_extras
from crawler.signals import sitemaps_found
from tests.conftest import TEST_DELAYS

DATA = Path(__file__).parent / "data" / "discovery"
MAX_SIZE = 10 * 1024 * 1024  # DOWNLOAD_MAXSIZE in crawler/settings.py
SITE = "https://courier.example/"


def xml(name: str, url: str = SITE + "feed.xml") -> XmlResponse:
    return XmlResponse(url=url, body=(DATA / name).read_bytes())


def html(name: str, url: str = SITE + "world/") -> HtmlResponse:
    return HtmlResponse(url=url, body=(DATA / name).read_bytes(), encoding="utf-8")


# -- feeds ------------------------------------------------------------------------------


def test_rss_items_give_url_title_and_date() -> None:
    entries = parse_feed(xml("rss.xml", SITE + "rss.xml"), MAX_SIZE)
    assert entries == [
        Candidate(  # a relative <link>, resolved against the feed's URL
            SITE + "2018/01/16/japan-aegis-ashore.html",
            "Japan says Aegis Ashore poses no threat to Russia",
            date(2018, 1, 16),  # the publisher's own day: 18:30 +0900
        ),
        Candidate(
            SITE + "2018/01/17/lavrov-warns-tokyo.html",
            "Lavrov warns Tokyo over US missile system",
            date(2018, 1, 17),
        ),
    ]


def test_rss_item_without_link_is_skipped() -> None:
    titles = [entry.text for entry in parse_feed(xml("rss.xml"), MAX_SIZE)]
    assert "Editor's note: no link for this one" not in titles
    assert len(titles) == 2


def test_atom_entries_give_url_title_and_date() -> None:
    entries = parse_feed(xml("atom.xml", "https://orbit.example/feed.atom"), MAX_SIZE)
    assert entries == [
        Candidate(  # relative href; <published> wins over a later <updated>
            "https://orbit.example/world/201801161012345-aegis-ashore-tokyo/",
            "Aegis Ashore will get commands only from Tokyo",
            date(2018, 1, 16),
        ),
        Candidate(  # no <published>: <updated> is the date
            "https://orbit.example/politics/201801171054321-peace-treaty/",
            "Russia and Japan to continue peace treaty talks",
            date(2018, 1, 17),
        ),
    ]


def test_atom_entry_without_link_is_skipped() -> None:
    titles = [entry.text for entry in parse_feed(xml("atom.xml"), MAX_SIZE)]
    assert "Live: the day in pictures (no link)" not in titles
    assert len(titles) == 2


def test_atom_entry_url_is_its_alternate_link() -> None:
    """Blogger-style entries list replies, edit and self links before the article itself."""
    entries = parse_feed(xml("atom-several-links.xml"), MAX_SIZE)
    assert [entry.url for entry in entries] == [
        "https://tokyo-desk.example/2018/01/aegis-ashore-tokyo.html"
    ]


def test_feed_title_with_html_entity_is_kept_whole() -> None:
    """`Japan&rsquo;s Aegis Ashore ...`: the words after the entity are what the story scores."""
    [entry] = parse_feed(xml("entity-in-title.xml"), MAX_SIZE)
    assert entry.text.startswith("Japan")
    assert "Aegis Ashore missile shield worries Moscow" in entry.text


# -- sitemaps ---------------------------------------------------------------------------


def test_sitemap_index_lists_child_sitemaps() -> None:
    sitemap = parse_sitemap(xml("sitemap-index.xml", SITE + "sitemap.xml"), MAX_SIZE)
    assert sitemap.is_index
    assert [entry.url for entry in sitemap.entries] == [
        SITE + "sitemap-articles.xml",
        SITE + "sitemap-sections.xml",
    ]


def test_urlset_entries_carry_lastmod() -> None:
    sitemap = parse_sitemap(xml("urlset.xml", SITE + "sitemap-articles.xml"), MAX_SIZE)
    assert not sitemap.is_index
    assert [(entry.url, entry.modified) for entry in sitemap.entries] == [
        (SITE + "2018/01/16/japan-aegis-ashore.html", date(2018, 1, 16)),
        (SITE + "2018/01/17/lavrov-warns-tokyo.html", date(2018, 1, 17)),
        (SITE + "world/", None),
    ]


def test_news_sitemap_gives_title_and_publication_date() -> None:
    """Scrapy's own Sitemap class flattens <news:news>; parse_sitemap must not."""
    sitemap = parse_sitemap(xml("news-sitemap.xml"), MAX_SIZE)
    assert not sitemap.is_index
    assert sitemap.entries == [
        Candidate(  # news:publication_date, and the later <lastmod> apart
            "https://northwire.example/military-and-defense/1234567",
            "Japan's missile systems purely defensive, says Foreign Ministry",
            date(2018, 1, 16),
            modified=date(2018, 1, 20),
        ),
        Candidate(
            "https://northwire.example/world/7654321",
            "Lavrov and Kono meet in Tokyo",
            date(2018, 1, 17),
        ),
    ]


def test_gzipped_sitemap_file_is_read() -> None:
    """A .xml.gz file served as is (no Content-Encoding) reads like the plain file."""
    url = SITE + "sitemap-articles.xml"
    gzipped = parse_sitemap(xml("urlset.xml.gz", url + ".gz"), MAX_SIZE)
    assert gzipped.entries == parse_sitemap(xml("urlset.xml", url + ".gz"), MAX_SIZE).entries
    assert len(gzipped.entries) == 3


def test_gzip_larger_than_max_size_is_refused() -> None:
    """Refused with an exception, so that a caller can tell it from an empty sitemap."""
    response = xml("urlset.xml.gz")
    size = len(gzip.decompress(response.body))
    assert len(parse_sitemap(response, max_size=size).entries) == 3
    with pytest.raises(ValueError, match=r"exceeded the specified maximum"):
        parse_sitemap(response, max_size=size - 1)


# -- gallery of broken inputs -----------------------------------------------------------


def test_truncated_feed_keeps_items_before_the_cut() -> None:
    entries = parse_feed(xml("truncated-in-title.xml"), MAX_SIZE)
    assert [entry.url for entry in entries] == [
        SITE + "2018/01/16/japan-aegis-ashore.html",
        SITE + "2018/01/17/lavrov-warns-tokyo.html",
    ]


def test_truncated_feed_does_not_invent_a_url_from_the_cut() -> None:
    """Cut inside a <link>: 'https://courier.example/2018/01/18/kono-la' is no article."""
    entries = parse_feed(xml("truncated-in-link.xml"), MAX_SIZE)
    assert [entry.url for entry in entries] == [
        SITE + "2018/01/16/japan-aegis-ashore.html",
        SITE + "2018/01/17/lavrov-warns-tokyo.html",
    ]


def test_truncated_gzip_sitemap_keeps_urls_before_the_cut() -> None:
    urls = [entry.url for entry in parse_sitemap(xml("truncated-sitemap.xml.gz"), MAX_SIZE).entries]
    assert urls[:4] == [
        SITE + "2018/01/01/story-919.html",
        SITE + "2018/01/02/story-838.html",
        SITE + "2018/01/03/story-757.html",
        SITE + "2018/01/04/story-676.html",
    ]


def test_gzip_bomb_is_refused() -> None:
    """16 MiB of blanks in 16 KB of gzip: refused once past max_size, not inflated."""
    response = xml("bomb.xml.gz")
    assert len(response.body) < 20_000
    with pytest.raises(ValueError, match=r"exceeded the specified maximum"):
        parse_sitemap(response, max_size=1024 * 1024)


def test_bad_gzip_sitemap_gives_no_entries() -> None:
    """A gzip header before bytes that are not deflate data: nothing to read, no crash."""
    sitemap = parse_sitemap(xml("bad-gzip.xml.gz"), MAX_SIZE)
    assert sitemap.entries == []


def test_billion_laughs_is_not_expanded() -> None:
    started = time.perf_counter()
    entries = parse_feed(xml("billion-laughs.xml"), MAX_SIZE)
    assert time.perf_counter() - started < 5
    assert all(len(entry.text) < 100 and len(entry.url) < 100 for entry in entries)
    assert not any("lollol" in entry.text + entry.url for entry in entries)


def test_external_entity_in_feed_is_not_resolved() -> None:
    assert "root:" in Path("/etc/passwd").read_text()  # what a resolved entity would leak
    entries = parse_feed(xml("xxe-feed.xml"), MAX_SIZE)
    assert [entry.url for entry in entries] == [SITE + "2018/01/16/japan-aegis-ashore.html"]
    assert "root:" not in entries[0].text


def test_external_entity_in_sitemap_is_not_resolved() -> None:
    entries = parse_sitemap(xml("xxe-sitemap.xml"), MAX_SIZE).entries
    assert not any("root:" in entry.url or "/bin/" in entry.url for entry in entries)


def test_html_served_as_feed_gives_no_entries() -> None:
    assert parse_feed(xml("not-a-feed.html", SITE + "rss.xml"), MAX_SIZE) == []


def test_empty_feed_body_gives_no_entries() -> None:
    assert parse_feed(xml("empty.xml", SITE + "rss.xml"), MAX_SIZE) == []


def test_empty_sitemap_body_gives_no_entries() -> None:
    assert parse_sitemap(xml("empty.xml", SITE + "sitemap.xml"), MAX_SIZE).entries == []


def test_sitemap_lastmod_that_is_not_a_date_gives_no_date() -> None:
    entries = parse_sitemap(xml("bad-lastmod.xml"), MAX_SIZE).entries
    assert [(entry.url, entry.modified) for entry in entries] == [
        (SITE + "2018/01/16/japan-aegis-ashore.html", None),  # <lastmod>yesterday</lastmod>
        (SITE + "2018/01/17/lavrov-warns-tokyo.html", date(2018, 1, 17)),
    ]


# -- dates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2018-01-16T10:00:00Z", date(2018, 1, 16), id="iso-z"),
        pytest.param("2018-01-16T10:00:00.250Z", date(2018, 1, 16), id="iso-fraction-z"),
        pytest.param("2018-01-16T23:30:00-05:00", date(2018, 1, 16), id="iso-offset-local-day"),
        pytest.param("2018-01-16", date(2018, 1, 16), id="iso-date-only"),
        pytest.param("Tue, 16 Jan 2018 10:00:00 GMT", date(2018, 1, 16), id="rfc822-gmt"),
        pytest.param("Tue, 16 Jan 2018 18:30:00 +0900", date(2018, 1, 16), id="rfc822-offset"),
        pytest.param("  2018-01-16  ", date(2018, 1, 16), id="surrounding-blanks"),
    ],
)
def test_parse_date_reads(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("garbage", id="word"),
        pytest.param("", id="empty"),
        pytest.param("2018-13-45", id="iso-impossible"),
        pytest.param("Wed, 31 Feb 2018 10:00:00 GMT", id="rfc822-impossible"),
        pytest.param("Tue, 16 Jan 2018 10:00:00 +9999", id="rfc822-offset-out-of-range"),
    ],
)
def test_parse_date_garbage_is_none(text: str) -> None:
    assert parse_date(text) is None


def test_parse_date_hour_out_of_range_is_none() -> None:
    """A number too big for C's int in a pubDate must not sink the whole feed."""
    assert parse_date("Tue, 16 Jan 2018 99999999999:00:00 GMT") is None


# -- navigation kinds -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/page/2/", "pagination"),
        ("/world/?page=3", "pagination"),
        ("/world/", "section"),
        ("/military-and-defense", "section"),
        ("/tag/japan/", "topic"),
        ("/category/x/", "topic"),
        ("/2018/01/17/some-story.html", None),
        ("/military-and-defense/1234567", None),
        ("/world/2018011610123456-slug/", None),
        ("/Detail/2018/03/21/556162/Russia-Japan", None),
    ],
)
def test_navigation_kind(path: str, kind: str | None) -> None:
    assert navigation_kind("https://news.example" + path) == kind


# -- links of an HTML page --------------------------------------------------------------


def test_page_links_skip_nofollow() -> None:
    urls = [candidate.url for candidate in page_links(html("page.html"))]
    assert not any("ads.example" in url for url in urls)
    assert SITE + "2018/01/16/japan-aegis-ashore.html" in urls


def test_page_links_skip_mailto_and_javascript() -> None:
    urls = [candidate.url for candidate in page_links(html("page.html"))]
    assert all(url.startswith("https://") for url in urls), urls


def test_page_link_text_is_whitespace_collapsed() -> None:
    texts = {candidate.url: candidate.text for candidate in page_links(html("page.html"))}
    assert texts[SITE + "2018/01/16/japan-aegis-ashore.html"] == (
        "Japan says Aegis Ashore poses no threat to Russia"
    )


def test_page_links_mark_sections_and_topics() -> None:
    kinds = {candidate.url: candidate.navigation for candidate in page_links(html("page.html"))}
    assert kinds[SITE + "world/"] == "section"
    assert kinds[SITE + "tag/japan/"] == "topic"
    assert kinds[SITE + "2018/01/16/japan-aegis-ashore.html"] is None


def test_page_links_leave_out_the_links_the_crawl_has_settled() -> None:
    article = SITE + "2018/01/16/japan-aegis-ashore.html"
    urls = [c.url for c in page_links(html("page.html"), settled={SITE + "world/", article})]
    assert SITE + "tag/japan/" in urls
    assert SITE + "world/" not in urls and article not in urls


def test_the_same_link_resolves_against_each_page_that_has_it() -> None:
    """Root-relative links resolve once per site: not onto another site, nor another scheme;
    a relative link still resolves against its own page."""
    body = b'<a href="/tag/japan/">Japan</a> <a href="more.html">More</a>'

    def urls(url: str) -> list[str]:
        response = HtmlResponse(url=url, body=body, encoding="utf-8")
        return [candidate.url for candidate in page_links(response)]

    assert urls(SITE + "world/") == [SITE + "tag/japan/", SITE + "world/more.html"]
    assert urls(SITE + "asia/") == [SITE + "tag/japan/", SITE + "asia/more.html"]
    assert urls("http://courier.example/world/") == [
        "http://courier.example/tag/japan/",
        "http://courier.example/world/more.html",
    ]
    assert urls("https://herald.example:8443/a/b") == [
        "https://herald.example:8443/tag/japan/",
        "https://herald.example:8443/a/more.html",
    ]


def test_link_rel_next_is_a_pagination_candidate() -> None:
    candidates = list(page_links(html("page.html")))
    assert Candidate(SITE + "world/page/2/", "next page", navigation="pagination") in candidates


def test_feed_links_find_rss_and_atom() -> None:
    assert feed_links(html("page.html")) == [
        SITE + "rss.xml",
        "https://courier.example/world/feed.atom",
    ]


# -- robots.txt -------------------------------------------------------------------------


class _Trivial(Spider):
    name = "trivial"


def _robots(body: bytes) -> tuple[ProtegoRobotParser, list[list[str]]]:
    """The parser as RobotsTxtMiddleware builds it, and every sitemaps_found that
    RobotsExtras sent when told it was parsed."""
    announced: list[list[str]] = []

    def on_sitemaps(urls: list[str]) -> None:
        announced.append(urls)

    scrapy_crawler = get_crawler(_Trivial, {"ROBOTSTXT_OBEY": True})
    scrapy_crawler.signals.connect(on_sitemaps, signal=sitemaps_found)
    parser = ProtegoRobotParser.from_crawler(scrapy_crawler, body)
    RobotsExtras.from_crawler(scrapy_crawler).robots_parsed(parser, Request(SITE))
    return parser, announced


def test_robots_parser_announces_sitemaps() -> None:
    _, announced = _robots((DATA / "robots.txt").read_bytes())
    assert announced == [[SITE + "sitemap.xml", SITE + "news-sitemap.xml"]]


def test_robots_parser_without_sitemaps_announces_nothing() -> None:
    _, announced = _robots(b"User-agent: *\nDisallow: /print/\n")
    assert announced == []


def test_robots_parser_obeys_disallow_for_storycrawl() -> None:
    parser, _ = _robots((DATA / "robots.txt").read_bytes())
    assert not parser.allowed(SITE + "members/login", "storycrawl")
    assert parser.allowed(SITE + "2018/01/16/japan-aegis-ashore.html", "storycrawl")
    assert not parser.allowed(SITE + "print/story", "otherbot")  # the * group is not ours


# -- the bundled news web ---------------------------------------------------------------


@pytest.fixture(scope="module")
def web() -> Iterator[NewsWeb]:
    with NewsWeb(delays=TEST_DELAYS) as news_web:
        yield news_web


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def articles_of(web: NewsWeb, outlet: str) -> dict[str, tuple[str, date]]:
    return {
        web.url(article.id): (article.title, article.date.date())
        for article in web.articles
        if article.outlet == outlet
    }


@pytest.mark.parametrize("outlet", OUTLETS)
def test_news_web_news_sitemap_lists_every_article(web: NewsWeb, outlet: str) -> None:
    url = web.base_urls[outlet] + "news-sitemap.xml"
    sitemap = parse_sitemap(XmlResponse(url=url, body=fetch(url)), MAX_SIZE)
    assert not sitemap.is_index
    found = {entry.url: (entry.text, entry.published) for entry in sitemap.entries}
    assert len(found) == len(sitemap.entries)
    assert found == articles_of(web, outlet)


@pytest.mark.parametrize("outlet", OUTLETS)
def test_news_web_sitemap_xml_is_an_index(web: NewsWeb, outlet: str) -> None:
    url = web.base_urls[outlet] + "sitemap.xml"
    sitemap = parse_sitemap(XmlResponse(url=url, body=fetch(url)), MAX_SIZE)
    assert sitemap.is_index
    assert [entry.url for entry in sitemap.entries] == [
        web.base_urls[outlet] + "sitemap-articles.xml",
        web.base_urls[outlet] + "sitemap-sections.xml",
    ]


@pytest.mark.parametrize("outlet", OUTLETS)
def test_news_web_feed_lists_articles_of_its_outlet(web: NewsWeb, outlet: str) -> None:
    home = web.base_urls[outlet]
    [feed_url] = feed_links(HtmlResponse(url=home, body=fetch(home), encoding="utf-8"))
    entries = parse_feed(XmlResponse(url=feed_url, body=fetch(feed_url)), MAX_SIZE)
    articles = articles_of(web, outlet)
    assert entries
    for entry in entries:  # feed links may carry utm_* parameters: the key drops them
        assert articles.get(canonical(entry.url)) == (entry.text, entry.published), entry


@pytest.mark.parametrize("outlet", OUTLETS)
def test_news_web_robots_txt_lists_its_sitemaps(web: NewsWeb, outlet: str) -> None:
    base = web.base_urls[outlet]
    parser = ProtegoRobotParser.from_crawler(get_crawler(_Trivial), fetch(base + "robots.txt"))
    extras = read_extras(parser, "storycrawl")
    assert extras.sitemaps == [base + "sitemap.xml", base + "news-sitemap.xml"]
    assert extras.crawl_delay == (web.delays.crawl_delay if OUTLETS[outlet].crawl_delay else None)
    assert not parser.allowed(base + "search?q=aegis", "storycrawl")

"""Property tests (hypothesis): hostile or random input to the parts that read the web
raises nothing but the documented errors, and the URL key keeps its promises."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protego import Protego
from scrapy.http import HtmlResponse, TextResponse
from warcio.exceptions import ArchiveLoadFailed

from archive.coding import decode
from archive.extract import extract_page
from archive.urls import canonical, is_id_like, site_of
from archive.warc import read_record
from crawler.discovery.feeds import parse_feed, parse_sitemap
from crawler.discovery.links import page_links
from crawler.discovery.robots import read_extras

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_word = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_.~%", min_size=1, max_size=12)
_value = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=10)
_hosts = st.sampled_from(["a.example", "www.a.example", "B.Example", "127.0.0.1", "[::1]"])
_ports = st.sampled_from(["", ":80", ":443", ":8001"])
_paths = st.lists(_word, max_size=4).map(lambda parts: "/" + "/".join(parts))
_params = st.lists(st.tuples(_word, _value), max_size=5)
ID_PARAMS = ["id", "p", "articleid", "newsid", "idxno", "article_id", "aid", "docid", "no"]


def _url(scheme: str, host: str, port: str, path: str, params: list[tuple[str, str]]) -> str:
    from urllib.parse import quote

    query = "&".join(f"{quote(k)}={quote(v)}" for k, v in params)
    return f"{scheme}://{host}{port}{path}" + (f"?{query}" if query else "")


urls = st.builds(_url, st.sampled_from(["http", "https"]), _hosts, _ports, _paths, _params)


@FAST
@given(urls)
def test_the_url_key_is_idempotent(url: str) -> None:
    key = canonical(url)
    assert canonical(key) == key
    assert site_of(key) == site_of(url)


@FAST
@given(urls, st.sampled_from(ID_PARAMS), _value, _value)
def test_urls_differing_in_an_article_id_never_share_a_key(url, name, one, other) -> None:
    from urllib.parse import quote

    if one == other:
        return
    separator = "&" if "?" in url else "?"
    first = f"{url}{separator}{name}={quote(one)}"
    second = f"{url}{separator}{name}={quote(other)}"
    assert is_id_like(name)
    assert canonical(first) != canonical(second), (first, second)


@FAST
@given(st.binary(max_size=3000))
def test_feeds_and_sitemaps_of_any_bytes_parse_or_raise_value_error(body: bytes) -> None:
    response = TextResponse("http://a.example/feed.xml", body=body, encoding="utf-8")
    for parse in (parse_feed, parse_sitemap):
        with suppress(ValueError):
            parse(response, 1_000_000)


_xmlish = st.lists(
    st.sampled_from(["<rss>", "<channel>", "<item>", "<link>", "http://a.example/x", "</link>",
                     "<title>", "t&amp;", "</title>", "</item>", "<urlset>", "<url>", "<loc>",
                     "</loc>", "<lastmod>2018-13-45</lastmod>", "</url>", "<sitemapindex>",
                     "<sitemap>", "<!ENTITY x 'y'>", "&x;", "<![CDATA[", "]]>", "\x00"]),
    max_size=40,
).map("".join)  # fmt: skip


@FAST
@given(_xmlish)
def test_feeds_and_sitemaps_of_near_xml_parse_or_raise_value_error(text: str) -> None:
    response = TextResponse("http://a.example/s.xml", body=text.encode(), encoding="utf-8")
    for parse in (parse_feed, parse_sitemap):
        with suppress(ValueError):
            parse(response, 1_000_000)


_robots_lines = st.lists(
    st.sampled_from(["User-agent: *", "User-agent: storycrawl", "Disallow: /", "Allow: /a",
                     "Crawl-delay: 5", "Crawl-delay: -1", "Crawl-delay: 1e309",
                     "Crawl-delay: nan", "Sitemap: http://a.example/s.xml", "Sitemap:",
                     "Request-rate: 1/0", "#", ""]) | _value,
    max_size=20,
).map("\n".join)  # fmt: skip


@FAST
@given(_robots_lines)
def test_robots_txt_of_any_text_is_read(text: str) -> None:
    from scrapy.robotstxt import ProtegoRobotParser

    parser = ProtegoRobotParser(text.encode(), None)
    extras = read_extras(parser, "storycrawl")
    assert extras.crawl_delay is None or 0 <= extras.crawl_delay <= 60
    assert Protego.parse(text) is not None


_htmlish = st.lists(
    st.sampled_from(["<html>", "<head>", "<title>T</title>", "<body>", "<article>", "<p>",
                     "Japan and Russia argue about Aegis Ashore.", "</p>", "<a href='/x'>",
                     "<a href='javascript:x'>", "<a href='http://[::1'>", "</a>",
                     "<base href='::'>",
                     "<meta charset='x-unknown'>", "<script>", "</script>", "<table><tr><td>",
                     "&#0;", "&nbsp;", "\x00", "<!--", "-->", "</body>", "</html>"]) | _value,
    max_size=60,
).map("".join)  # fmt: skip


@FAST
@given(_htmlish)
def test_extraction_and_link_finding_of_any_page_raise_nothing(html: str) -> None:
    extraction = extract_page(html, "http://a.example/page")
    assert extraction is None or extraction.document is None or extraction.document.text
    response = HtmlResponse("http://a.example/page", body=html.encode(), encoding="utf-8")
    for candidate in page_links(response):
        assert candidate.url.startswith(("http://", "https://"))


@FAST
@given(st.binary(max_size=2000), st.sampled_from(["gzip", "deflate", "zstd"]))
def test_decoding_any_bytes_is_bounded_and_raises_nothing(body: bytes, coding: str) -> None:
    decoded = decode(body, [coding], 1000)
    assert len(decoded.body) <= 1000


@FAST
@given(st.binary(max_size=2000) | _htmlish.map(lambda s: ("WARC/1.1\r\n" + s).encode()))
def test_reading_a_warc_record_from_any_bytes_raises_only_archive_load_failed(
    tmp_path_factory, data: bytes
) -> None:
    path = Path(tmp_path_factory.mktemp("warc")) / "x.warc.gz"
    path.write_bytes(data)
    try:
        record = read_record(path, 0)
    except ArchiveLoadFailed:
        return
    with suppress(ValueError):
        record.decoded()

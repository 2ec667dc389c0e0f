"""The offline news web over real HTTP: what a crawler relies on, outlet by outlet, and
every hard case it has to survive (variants, copies, redirects, failures, traps).

The web runs on a small articles file written here, so these tests do not depend on
the packaged articles.toml; one test checks the packaged file when it exists.
"""

from __future__ import annotations

import gzip
import http.client
import importlib.resources
import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
import trafilatura
from lxml import etree, html

from crawler.demo import CHROME_STRINGS, OUTLETS, Article, NewsWeb, Served, load_articles
from tests.conftest import TEST_DELAYS

TITLE = "Japan says Aegis Ashore poses no threat to Russia"
STORY_PARAGRAPHS = {
    "courier": [
        "Japan has dismissed Russian Foreign Minister Sergey Lavrov's concerns that the "
        "United States could use Japan's Aegis Ashore missile system to attack other states "
        "in the region.",
        "A spokesman for the Foreign Ministry said the missile systems are defensive in "
        "nature and do not pose a threat to any country in the neighborhood, including Russia.",
        "\"The missile systems are aimed at protecting people's lives and property and are "
        'purely defensive," the spokesman said.',
        "Last year, the government decided to acquire two Aegis Ashore systems from the "
        "United States amid growing security threats from North Korea.",
    ],
    "orbit": [
        "TOKYO (Orbit) \u2013 The Aegis Ashore missile defense system that Japan plans to deploy "
        "starting in 2023 will receive commands only from Tokyo, the Foreign Ministry said.",
        "On Monday, Lavrov said Moscow had doubts that Washington would completely cede "
        "control of the equipment to Tokyo.",
        '"Aegis Ashore will be managed by Japan, it is a Japanese defense system and is no '
        'threat to Russia," the ministry representative said.',
        "The ministry also stressed that Japan intended to continue talks with Russia over "
        "the four Kuril Islands and to finally sign a peace treaty.",
        "On December 19, the government approved the deployment of Aegis Ashore in the "
        "north and in the southwest of the country.",
    ],
    "northwire": [
        "TOKYO, January 16. /Northwire/. Japan's missile systems are purely defensive and "
        "controlled by its specialists, a spokesman for the Foreign Ministry said on Tuesday.",
        "Russian Foreign Minister Sergey Lavrov on Monday voiced concerns that the US will "
        "have access to controlling the Aegis Ashore system after its deployment to Japan.",
        '"Our country independently controls them, and they do not pose any threat to the '
        'neighboring states, including Russia," the diplomat said.',
        "Defense Minister Itsunori Onodera told reporters the system is exclusively aimed at "
        "protecting the country from ballistic missiles.",
    ],
    "crescent": [
        "Russian Foreign Minister Sergei Lavrov has warned that the deployment of US missile "
        "system components in Japan would have a direct impact on his country's security.",
        "Lavrov made the remarks at a press conference with his Japanese counterpart Taro "
        "Kono in Tokyo on Wednesday.",
        "Japan's cabinet in December approved the deployment of the ground-based Aegis "
        "missile interceptor system, citing threats from North Korea.",
        "Russia has long warned that the American system undermines the global balance of "
        "power and can eventually be aimed against Moscow.",
    ],
    "meridian": [
        "Russia's ambassador to Japan has warned that Tokyo's plan to deploy the US-designed "
        "Aegis Ashore missile defence system could set back peace treaty talks.",
        "Mikhail Galuzin said Moscow saw the two land-based batteries as part of a global "
        "missile shield being built by the United States.",
        "Japan's Chief Cabinet Secretary said the system was purely defensive and would be "
        "operated by Japan alone.",
        "The cabinet approved the purchase of two Aegis Ashore batteries in December, citing "
        "North Korea's ballistic missile programme.",
    ],
    "ledger": [
        "Defense Minister Itsunori Onodera told lawmakers on Tuesday that the Aegis Ashore "
        "batteries will be under the sole command of the Self-Defense Forces.",
        "Russian Foreign Minister Sergey Lavrov had said he doubted the United States would "
        "give Japan full control of the batteries.",
        "Onodera said the launchers would be loaded only with SM-3 Block IIA interceptors "
        "developed jointly by Japan and the United States.",
        "The Cabinet approved the introduction of two Aegis Ashore batteries on Dec. 19 to "
        "strengthen defenses against North Korean ballistic missiles.",
    ],
}
#: The text of the page served in windows-1252: curly quotes, dashes, accents.
WINDOWS_1252_PARAGRAPHS = [
    "Sergei Lavrov\u2019s visit to Tokyo was meant to prepare a summit \u2013 instead he "
    "spent his news conference on Aegis Ashore.",
    "\u201cThe objection is a lever,\u201d said Val\u00e9rie Niquet of the Fondation pour la "
    "recherche strat\u00e9gique in Paris.",
    "Neither side gave ground, and diplomats expect the missile shield to come up again "
    "when Shinzo Abe visits Moscow in May.",
]
#: The articles carrying the hard cases of the small web (besides the outlets' own).
FLAKY = "orbit-flaky-follow-up"
SLOW = "ledger-brief-0"
ENCODED = "meridian-windows-1252"
COPY = "ledger-syndicated-copy"
MOVED = "crescent-brief-1"
MOVED_FROM = "/news/city-council-budget-item-1"
SESSION_ID = re.compile(rb";jsessionid=[0-9A-F]{32}")
HASHED_CLASS = re.compile(r"[a-z][a-z0-9]{5} [a-z][a-z0-9]{2}")
LANDMARKS = ("article", "nav", "header", "main", "aside", "section", "footer")


def _toml_article(**fields: object) -> str:
    lines = ["[[article]]"]
    for key, value in fields.items():
        if key == "date":
            lines.append(f"date = {value}")
        else:
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines)


def _articles_toml() -> str:
    """One story article per outlet plus filler (courier has enough to paginate), and the
    articles that carry the hard cases: a page failing once, a slow page, a page in
    windows-1252, a syndicated copy, an article moved from an old URL."""
    blocks = []
    for n, (outlet, paragraphs) in enumerate(STORY_PARAGRAPHS.items()):
        blocks.append(
            _toml_article(
                id=f"{outlet}-aegis-ashore",
                outlet=outlet,
                section="military",
                label="story",
                title=f"{TITLE} ({outlet})",
                subtitle="Tokyo answers Lavrov's concerns over the US-made missile defence",
                date=f"2018-01-{16 + n}T09:17:00+03:00",
                author="Staff correspondent",
                tags=["Aegis Ashore", "Japan", "Russia"],
                body="\n\n".join(paragraphs),
            )
        )
    filler = {"courier": 8, "orbit": 2, "northwire": 2, "crescent": 2, "meridian": 2, "ledger": 2}
    for outlet, count in filler.items():
        for i in range(count):
            extra = {"old_path": MOVED_FROM} if f"{outlet}-brief-{i}" == MOVED else {}
            extra |= {"quirks": ["slow"]} if f"{outlet}-brief-{i}" == SLOW else {}
            blocks.append(
                _toml_article(
                    id=f"{outlet}-brief-{i}",
                    outlet=outlet,
                    section=("business", "sport", "military")[i % 3],
                    label="unrelated",
                    title=f"City council approves budget item {i} after long debate",
                    date=f"2018-01-{i + 1:02d}T12:{i:02d}:00+00:00",
                    tags=["Budget"] if i % 2 else [],
                    related=[f"{outlet}-aegis-ashore"] if i == 0 else [],
                    body=f"The council voted on item {i} late on Tuesday.\n\n"
                    "Opponents said the spending plan left the harbour district without funds.",
                    **extra,
                )
            )
    blocks.append(
        _toml_article(
            id=FLAKY,
            outlet="orbit",
            section="world",
            label="story",
            title="Moscow repeats objections as Tokyo moves ahead with Aegis Ashore",
            date="2018-04-26T17:40:00+03:00",
            quirks=["fails-once"],
            body="\n\n".join(STORY_PARAGRAPHS["orbit"][:3]),
        )
    )
    blocks.append(
        _toml_article(
            id=ENCODED,
            outlet="meridian",
            section="world",
            label="story",
            title="Lavrov leaves Tokyo with missile shield row unresolved",
            subtitle="Russia\u2019s foreign minister came to prepare a summit",
            date="2018-03-22T09:30:00+00:00",
            quirks=["windows-1252"],
            body="\n\n".join(WINDOWS_1252_PARAGRAPHS),
        )
    )
    blocks.append(
        _toml_article(
            id=COPY,
            outlet="ledger",
            section="world",
            label="story",
            syndicated_from="northwire-aegis-ashore",
            date="2018-01-19T18:00:00+09:00",
            author="Northwire",
        )
    )
    return "\n\n".join(blocks) + "\n"


@dataclass(frozen=True)
class Fetched:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Fetched:
    """A request as urllib makes it: redirects followed, errors returned as responses."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Fetched(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Fetched(error.code, dict(error.headers), error.read())


def fetch_once(url: str) -> Fetched:
    """One GET, redirects not followed."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = connection.getresponse()
        return Fetched(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()


def page_tree(url: str) -> html.HtmlElement:
    page = fetch(url)
    assert page.status == 200, url
    return html.fromstring(page.body)


def without_session_ids(body: bytes) -> bytes:
    return SESSION_ID.sub(b"", body)


@pytest.fixture(scope="module")
def articles_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("newsweb") / "articles.toml"
    path.write_text(_articles_toml(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def articles(articles_file: Path) -> list[Article]:
    return load_articles(articles_file)


@pytest.fixture(scope="module")
def web(articles: list[Article]) -> Iterator[NewsWeb]:
    with NewsWeb(articles, delays=TEST_DELAYS) as running:
        yield running


def story(outlet: str) -> str:
    return f"{outlet}-aegis-ashore"


def test_loader_validates_and_types_fields(articles: list[Article], tmp_path: Path) -> None:
    first = articles[0]
    assert first.date.utcoffset() is not None
    assert first.tags == ("Aegis Ashore", "Japan", "Russia")
    assert first.paragraphs == STORY_PARAGRAPHS["courier"]
    by_id = {a.id: a for a in articles}
    assert by_id[FLAKY].quirks == {"fails-once"} and by_id[MOVED].old_path == MOVED_FROM
    valid = {
        "id": "x",
        "outlet": "courier",
        "section": "world",
        "label": "story",
        "title": "T",
        "date": "2018-01-16T09:17:00Z",
        "body": "B",
    }
    bad = tmp_path / "bad.toml"
    for mistake in (
        {"outlet": "nowhere"},
        {"date": "2018-01-16T09:17:00"},
        {"related": ["y"]},
        {"quirks": ["flaky"]},
        {"old_path": "news/no-leading-slash"},
    ):
        bad.write_text(_toml_article(**(valid | mistake)), encoding="utf-8")
        with pytest.raises(ValueError):
            load_articles(bad)


def test_loader_completes_syndicated_copies_and_refuses_bad_ones(
    articles: list[Article], tmp_path: Path
) -> None:
    by_id = {a.id: a for a in articles}
    copy, original = by_id[COPY], by_id[story("northwire")]
    assert (copy.title, copy.subtitle, copy.body) == (
        original.title,
        original.subtitle,
        original.body,
    )
    assert copy.syndicated_from == original.id and copy.outlet != original.outlet
    original_toml = _toml_article(
        id="o", outlet="northwire", section="world", label="story", title="T",
        date="2018-01-16T09:17:00Z", body="B",
    )  # fmt: skip
    copy_fields = {"id": "c", "outlet": "ledger", "section": "world", "label": "story",
                   "syndicated_from": "o", "date": "2018-01-17T09:17:00Z"}  # fmt: skip
    bad = tmp_path / "bad.toml"
    for mistake in (
        {"body": "Rewritten"},  # a copy is verbatim
        {"outlet": "northwire"},  # of another outlet
        {"date": "2018-01-15T09:17:00Z"},  # published after its original
        {"label": "neighbour"},
        {"syndicated_from": "nothing"},
    ):
        bad.write_text(original_toml + "\n\n" + _toml_article(**(copy_fields | mistake)))
        with pytest.raises(ValueError):
            load_articles(bad)


def test_robots_disallows_search_and_unprintable_print_copies(web: NewsWeb) -> None:
    for outlet, base in web.base_urls.items():
        robots = fetch(base + "robots.txt")
        assert robots.headers["Content-Type"].startswith("text/plain")
        lines = robots.text.splitlines()
        disallowed = [line.removeprefix("Disallow: ") for line in lines if "Disallow" in line]
        assert lines[0] == "User-agent: *" and "/search" in disallowed
        assert ("/print/" in disallowed) != OUTLETS[outlet].printable
        assert tuple(disallowed) == web.robots_disallowed()[outlet]
        assert (f"Crawl-delay: {web.delays.crawl_delay:g}" in lines) == (outlet == "crescent")
        assert f"Sitemap: {base}sitemap.xml" in lines
        assert f"Sitemap: {base}news-sitemap.xml" in lines


def test_article_urls_are_shaped_like_the_real_sites_and_stable(web: NewsWeb) -> None:
    pinned = {  # a change here would orphan saved crawls and archives
        "courier": "/2018/01/16/courier-aegis-ashore.html",
        "orbit": "/military/2018011710400513-orbit-aegis-ashore/",
        "northwire": "/military-and-defense/3814036",
        "crescent": "/Detail/2018/01/19/327772/"
        "Japan-Says-Aegis-Ashore-Poses-No-Threat-To-Russia-Crescent",
        "meridian": "/news/military-49798898",
        "ledger": "/military/2018/01/21/ledger-aegis-ashore",
    }
    assert list(pinned) == list(OUTLETS)
    with NewsWeb(web.articles) as again:
        for outlet, path in pinned.items():
            url = web.url(story(outlet))
            assert url == web.base_urls[outlet] + path.lstrip("/")
            assert urlsplit(again.url(story(outlet))).path == path
            tree = page_tree(url)
            headline = f"{TITLE} ({outlet})"
            h1 = [h.text_content() for h in tree.xpath("//h1")]
            if outlet == "ledger":  # its headline is a <div> like any other
                assert h1 == [] and headline in [div.text for div in tree.xpath("//div")]
            else:
                assert h1 == [headline]


def test_article_head_metadata(web: NewsWeb) -> None:
    for outlet in OUTLETS:
        url = web.url(story(outlet))
        tree = page_tree(url)
        assert tree.get("lang") == "en"
        assert tree.xpath("//link[@rel='canonical']/@href") == [url]
        og = OUTLETS[outlet].og_tags
        assert tree.xpath("//meta[@property='og:type']/@content") == (["article"] if og else [])
        assert tree.xpath("//meta[@property='og:url']/@content") == ([url] if og else [])
        published = tree.xpath("//meta[@property='article:published_time']/@content")
        assert [p[:8] for p in published] == (["2018-01-"] if og else [])
        assert tree.xpath("//meta[@name='author']/@content") == ["Staff correspondent"]
        feeds = tree.xpath("//link[@rel='alternate']/@type")
        assert feeds == [
            "application/rss+xml" if OUTLETS[outlet].feed == "rss" else "application/atom+xml"
        ]
        json_ld = tree.xpath("//script[@type='application/ld+json']/text()")
        assert bool(json_ld) == OUTLETS[outlet].json_ld
        assert all(json.loads(block)["@type"] == "NewsArticle" for block in json_ld)
        title = tree.findtext(".//title")
        assert title.startswith(
            OUTLETS[outlet].name if OUTLETS[outlet].name_first else "Japan says"
        )
    home = html.fromstring(fetch(web.base_urls["courier"]).body)
    assert home.xpath("//meta[@property='og:type']/@content") == ["website"]


def test_html_is_gzipped_when_asked(web: NewsWeb) -> None:
    for outlet in OUTLETS:
        url = web.url(story(outlet))
        plain = fetch(url)
        zipped = fetch(url, headers={"Accept-Encoding": "gzip, deflate"})
        assert "Content-Encoding" not in plain.headers
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert zipped.headers["Vary"] == "Accept-Encoding"
        assert without_session_ids(gzip.decompress(zipped.body)) == without_session_ids(plain.body)


def test_orbit_sends_html_in_several_chunks(web: NewsWeb) -> None:
    url = urlsplit(web.url(story("orbit")))
    with socket.create_connection((url.hostname, url.port), timeout=10) as connection:
        connection.sendall(
            f"GET {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nConnection: close\r\n\r\n".encode()
        )
        raw = b""
        while chunk := connection.recv(65536):
            raw += chunk
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head and b"Content-Length" not in head
    sizes = []
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        sizes.append(size)
        rest = rest[size + 2 :]
        if size == 0:
            break
    assert len(sizes) > 3
    assert "Transfer-Encoding" not in fetch(web.url(story("courier"))).headers


def test_articles_revalidate_with_304(web: NewsWeb) -> None:
    url = web.url(story("crescent"))
    first = fetch(url)
    assert fetch(url, headers={"If-None-Match": first.headers["ETag"]}).status == 304
    assert fetch(url, headers={"If-Modified-Since": first.headers["Last-Modified"]}).status == 304
    assert fetch(url, headers={"If-None-Match": '"something-else"'}).status == 200


def test_sitemaps_list_every_article(web: NewsWeb) -> None:
    ns = {
        "s": "http://www.sitemaps.org/schemas/sitemap/0.9",
        "news": "http://www.google.com/schemas/sitemap-news/0.9",
    }
    for outlet, base in web.base_urls.items():
        own = [a for a in web.articles if a.outlet == outlet]
        index = etree.fromstring(fetch(base + "sitemap.xml").body)
        assert index.xpath("//s:loc/text()", namespaces=ns) == [
            base + "sitemap-articles.xml",
            base + "sitemap-sections.xml",
        ]
        listed = etree.fromstring(fetch(base + "sitemap-articles.xml").body)
        assert set(listed.xpath("//s:loc/text()", namespaces=ns)) == {web.url(a.id) for a in own}
        news = etree.fromstring(fetch(base + "news-sitemap.xml").body)
        entries = news.xpath("//s:url", namespaces=ns)
        assert len(entries) == len(own)
        for entry in entries:
            article = next(
                a for a in own if web.url(a.id) == entry.findtext("s:loc", namespaces=ns)
            )
            assert entry.findtext(".//news:title", namespaces=ns) == article.title
            assert (
                entry.findtext(".//news:publication_date", namespaces=ns)
                == article.date.isoformat()
            )
            assert entry.findtext(".//news:name", namespaces=ns) == OUTLETS[outlet].name


def test_feeds_carry_the_newest_articles_some_with_tracking_parameters(web: NewsWeb) -> None:
    for outlet, base in web.base_urls.items():
        feed = etree.fromstring(fetch(base + OUTLETS[outlet].feed_path.lstrip("/")).body)
        links = feed.xpath(
            "//*[local-name()='item']/*[local-name()='link']/text()"
            " | //*[local-name()='entry']/*[local-name()='link']/@href"
        )
        ids = feed.xpath(
            "//*[local-name()='guid']/text()"
            " | //*[local-name()='entry']/*[local-name()='id']/text()"
        )
        own = sorted(
            (a for a in web.articles if a.outlet == outlet), key=lambda a: a.date, reverse=True
        )
        tracking = "?utm_source=rss&utm_medium=feed" if OUTLETS[outlet].feed_tracking else ""
        assert links == [web.url(a.id) + tracking for a in own[:20]]
        assert ids == [web.url(a.id) for a in own[:20]]
    tracked = [s for s in OUTLETS.values() if s.feed_tracking]
    assert {s.feed for s in tracked} == {"rss", "atom"}
    served = fetch(web.url(story("meridian")) + "?utm_source=rss&utm_medium=feed")
    assert served.status == 200 and web.requests[-1].kind == "article"


def test_home_pagination_reaches_every_article_newest_first(web: NewsWeb) -> None:
    url: str | None = web.base_urls["courier"]
    seen = []
    pages = 0
    while url:
        tree = html.fromstring(fetch(url).body)
        teasers = tree.xpath("//h2[@class='teaser__title']/a/@href")
        assert len(teasers) <= 6
        seen += [urljoin(url, href) for href in teasers]
        next_links = tree.xpath("//link[@rel='next']/@href")
        assert tree.xpath("//a[@rel='next']/@href") == [urlsplit(u).path for u in next_links]
        url = next_links[0] if next_links else None
        pages += 1
    own = sorted(
        (a for a in web.articles if a.outlet == "courier"), key=lambda a: a.date, reverse=True
    )
    assert pages == 2 and seen == [web.url(a.id) for a in own]


def test_unknown_paths_are_404_in_chrome_and_slashless_paths_redirect(web: NewsWeb) -> None:
    missing = fetch(web.base_urls["northwire"] + "no/such/page")
    assert missing.status == 404 and "Page not found" in missing.text
    assert "Select the city" in missing.text
    base = urlsplit(web.base_urls["orbit"])
    with socket.create_connection((base.hostname, base.port), timeout=10) as connection:
        connection.sendall(f"HEAD /military HTTP/1.1\r\nHost: {base.netloc}\r\n\r\n".encode())
        head = connection.recv(65536).decode()
    assert (
        head.startswith("HTTP/1.1 301") and f"Location: {web.base_urls['orbit']}military/" in head
    )


def test_internal_links_all_resolve(web: NewsWeb) -> None:
    """Crawl each outlet like a polite crawler that knows the traps (session ids, the
    calendar, the filters): nothing it can reach is broken."""
    for outlet, base in web.base_urls.items():
        queue, seen = [base], {base}
        disallowed = web.robots_disallowed()[outlet]
        while queue:
            url = queue.pop()
            page = fetch(url)
            if page.status == 500:  # the article that fails once; a crawler retries
                page = fetch(url)
            assert page.status == 200, url
            if not page.headers["Content-Type"].startswith("text/html"):
                continue
            for href in html.fromstring(page.body).xpath(
                "//a/@href | //link[@rel!='stylesheet']/@href"
            ):
                url = SESSION_ID.sub(b"", urljoin(base, href).split("#")[0].encode()).decode()
                path = urlsplit(url).path
                if (
                    url.startswith(base)
                    and not path.startswith((*disallowed, "/archive/", "/latest/"))
                    and url not in seen
                ):
                    seen.add(url)
                    queue.append(url)
        assert {web.url(a.id) for a in web.articles if a.outlet == outlet} <= seen


def test_requests_are_logged(web: NewsWeb) -> None:
    url = web.url(story("northwire")) + "?utm_source=test"
    fetch(url, method="HEAD", headers={"User-Agent": "storycrawl-test"})
    fetch(web.base_urls["northwire"] + "missing")
    *_, head, missing = web.requests
    assert (head.outlet, head.method, head.status) == ("northwire", "HEAD", 200)
    assert head.path_with_query == urlsplit(url).path + "?utm_source=test"
    assert head.headers["User-Agent"] == "storycrawl-test"
    assert (head.kind, head.article_id) == ("article", story("northwire"))
    assert (missing.method, missing.path_with_query, missing.status) == ("GET", "/missing", 404)
    assert (missing.kind, missing.article_id) == ("not-found", None)


def test_print_copies_are_linked_canonical_to_the_article_and_open_on_two_outlets(
    web: NewsWeb,
) -> None:
    for outlet in OUTLETS:
        url = web.url(story(outlet))
        print_href = page_tree(url).xpath("//a[text()='Print']/@href")[0]
        print_url = urljoin(url, print_href)
        copy = page_tree(print_url)
        assert copy.xpath("//link[@rel='canonical']/@href") == [url]
        assert STORY_PARAGRAPHS[outlet][0] in copy.text_content()
        assert (web.requests[-1].kind, web.requests[-1].article_id) == ("print", story(outlet))
        disallowed = web.violates_robots(web.requests[-1])
        assert disallowed != OUTLETS[outlet].printable
    assert sum(outlet.printable for outlet in OUTLETS.values()) >= 2


def test_chrome_strings_sit_on_article_pages_outside_the_text(web: NewsWeb) -> None:
    for outlet in OUTLETS:
        article = next(a for a in web.articles if a.id == story(outlet))
        text = page_tree(web.url(article.id)).text_content()
        for chrome in CHROME_STRINGS[outlet]:
            assert chrome in text, (outlet, chrome)
            assert chrome not in article.body


def test_trafilatura_finds_the_article_text(web: NewsWeb) -> None:
    """The text is really on the page (not hidden); chrome leakage is reported, not tested."""
    for outlet in OUTLETS:
        article = next(a for a in web.articles if a.id == story(outlet))
        page = fetch(web.url(article.id)).body
        text = trafilatura.extract(
            page, url=web.url(article.id), include_comments=False, include_tables=True
        )
        assert text is not None
        for paragraph in article.paragraphs:
            assert paragraph in text, (outlet, paragraph)


def test_hashed_outlets_are_divs_without_landmarks_and_ledger_without_metadata(
    web: NewsWeb,
) -> None:
    for outlet in ("meridian", "ledger"):
        tree = page_tree(web.url(story(outlet)))
        assert tree.xpath(" | ".join(f"//{tag}" for tag in LANDMARKS)) == [], outlet
        classes = tree.xpath("//body//@class")
        assert classes and [c for c in classes if not HASHED_CLASS.fullmatch(c)] == []
        assert tree.xpath("//script[@type='application/ld+json']") == []
        og = tree.xpath("//meta[starts-with(@property, 'og:')]")
        assert bool(og) == (outlet == "meridian")


def test_read_also_box_sits_inside_the_text_and_changes_page_to_page(web: NewsWeb) -> None:
    for outlet in ("meridian", "ledger"):
        headlines = set()
        for article in (a for a in web.articles if a.outlet == outlet and not a.quirks):
            [label] = page_tree(web.url(article.id)).xpath("//span[text()='Read also:']")
            box = label.getparent()
            assert box.getparent().xpath("./p/text()") == article.paragraphs
            assert box.getprevious().tag == "p"
            headlines.add(box.findtext("a"))
        assert len(headlines) > 1, outlet


def test_amp_copies_are_announced_and_canonical_to_the_article(web: NewsWeb) -> None:
    for outlet, spec in OUTLETS.items():
        url = web.url(story(outlet))
        amp_urls = page_tree(url).xpath("//link[@rel='amphtml']/@href")
        if not spec.amp:
            assert amp_urls == []
            assert fetch(web.base_urls[outlet] + "amp" + urlsplit(url).path).status == 404
            continue
        assert amp_urls == [web.base_urls[outlet] + "amp" + urlsplit(url).path]
        copy = page_tree(amp_urls[0])
        assert "amp" in copy.attrib
        assert copy.xpath("//link[@rel='canonical']/@href") == [url]
        assert all(p in copy.text_content() for p in STORY_PARAGRAPHS[outlet])
        assert (web.requests[-1].kind, web.requests[-1].article_id) == ("amp", story(outlet))
    assert sum(spec.amp for spec in OUTLETS.values()) >= 2


def test_syndicated_copy_repeats_another_outlets_story_on_a_page_of_its_own(
    web: NewsWeb,
) -> None:
    copy_url, original_url = web.url(COPY), web.url(story("northwire"))
    assert web.syndicated_urls() == {copy_url: original_url}
    assert copy_url not in web.story_urls() and original_url in web.story_urls()
    copy = page_tree(copy_url)
    assert copy.xpath("//link[@rel='canonical']/@href") == [copy_url]
    assert copy.findtext(".//title") == f"{TITLE} (northwire) | The Asia Ledger"
    assert all(p in copy.text_content() for p in STORY_PARAGRAPHS["northwire"])
    assert "Today's Paper" in copy.text_content()  # the Ledger's own chrome


def test_moved_article_answers_301_from_its_old_url_which_its_outlet_still_links(
    web: NewsWeb,
) -> None:
    base = web.base_urls["crescent"]
    old_url = base + MOVED_FROM.lstrip("/")
    moved = fetch_once(old_url)
    assert moved.status == 301 and moved.headers["Location"] == web.url(MOVED)
    assert (web.requests[-1].kind, web.requests[-1].article_id) == ("moved", MOVED)
    linked = {urljoin(base, href) for href in page_tree(base).xpath("//a/@href")}
    assert old_url in linked and web.url(MOVED) not in linked
    assert fetch(old_url).body == fetch(web.url(MOVED)).body


def test_flaky_article_fails_its_first_get_per_server_lifetime(articles: list[Article]) -> None:
    with NewsWeb(articles) as fresh:
        url = fresh.url(FLAKY)
        assert fetch(url, method="HEAD").status == 200
        first, second = fetch(url), fetch(url)
        assert (first.status, second.status) == (500, 200)
        assert "ETag" not in first.headers and b"Internal Server Error" in first.body
        assert [(s.status, s.kind, s.article_id) for s in fresh.requests] == [
            (200, "article", FLAKY),
            (500, "article", FLAKY),
            (200, "article", FLAKY),
        ]
    with NewsWeb(articles) as again:
        assert fetch(again.url(FLAKY)).status == 500


def test_slow_article_answers_late(web: NewsWeb) -> None:
    started = time.monotonic()
    assert fetch(web.url(SLOW)).status == 200
    assert time.monotonic() - started >= web.delays.slow_page
    started = time.monotonic()
    assert fetch(web.url(story("ledger"))).status == 200
    assert time.monotonic() - started < web.delays.slow_page


def test_windows_1252_page_says_so_in_its_header_and_meta_tag(web: NewsWeb) -> None:
    for headers in ({}, {"Accept-Encoding": "gzip"}):
        page = fetch(web.url(ENCODED), headers=headers)
        body = gzip.decompress(page.body) if headers else page.body
        assert page.headers["Content-Type"] == "text/html; charset=windows-1252"
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
        assert b'<meta charset="windows-1252">' in body
        assert {b"\x92", b"\x93", b"\x94", b"\x96", b"\xe9"} <= {bytes([b]) for b in body}
        text = html.fromstring(body.decode("windows-1252")).text_content()
        assert all(paragraph in text for paragraph in WINDOWS_1252_PARAGRAPHS)


def test_meridian_calendar_lists_each_day_and_never_ends(web: NewsWeb) -> None:
    base = web.base_urls["meridian"]
    day_links = page_tree(web.url(story("meridian"))).xpath("//a[contains(@href, '/archive/')]")
    assert "/archive/2018/01/20/" in [a.get("href") for a in day_links]
    listed = page_tree(base + "archive/2018/01/20/").xpath("//h2/a/@href")
    assert [urljoin(base, href) for href in listed] == [web.url(story("meridian"))]
    assert web.requests[-1].kind == "calendar"
    for start in ("archive/1901/01/01/", "archive/2999/12/30/", "archive/0001/01/01/"):
        url = base + start
        for _ in range(3):
            tree = page_tree(url)
            assert "No articles found." in tree.text_content()
            url = urljoin(url, tree.xpath("//a[@rel='next']/@href")[0])
    assert page_tree(base + "archive/0001/01/01/").xpath("//a[@rel='prev']") == []
    assert page_tree(base + "archive/9999/12/31/").xpath("//a[@rel='next']") == []
    assert fetch(base + "archive/2018/02/30/").status == 404
    assert fetch(web.base_urls["courier"] + "archive/2018/01/20/").status == 404


def test_ledger_links_carry_a_new_session_id_in_every_response(web: NewsWeb) -> None:
    url = web.url(story("ledger"))
    first, second = fetch(url), fetch(url)
    ids = [set(SESSION_ID.findall(page.body)) for page in (first, second)]
    assert [len(found) for found in ids] == [1, 1] and ids[0] != ids[1]
    assert first.headers["ETag"] == second.headers["ETag"]
    tree = html.fromstring(first.body)
    internal = [href for href in tree.xpath("//a/@href") if not href.startswith("http")]
    assert internal and [href for href in internal if ";jsessionid=" not in href] == []
    assert tree.xpath("//link[@rel='canonical']/@href") == [url]
    assert fetch(url + ";jsessionid=0123456789ABCDEF0123456789ABCDEF").status == 200
    assert (web.requests[-1].kind, web.requests[-1].article_id) == ("article", story("ledger"))
    assert b";jsessionid=" not in fetch(web.url(story("orbit"))).body


def test_northwire_filters_combine_into_urls_without_end(web: NewsWeb) -> None:
    base = web.base_urls["northwire"]
    [start] = page_tree(base).xpath("//a[text()='News Feed']/@href")
    queue, seen = [start], {start}
    while len(seen) < 60:
        tree = page_tree(queue.pop(0))
        assert web.requests[-1].kind == "filtered"
        assert tree.xpath("//link[@rel='canonical']/@href") == [base + "latest/"]
        for href in tree.xpath(
            "//div[starts-with(@class, 'filters')]//a/@href | //a[@rel='next']/@href"
        ):
            if href not in seen:
                seen.add(href)
                queue.append(href)
    assert queue, "the filter links ran out"
    by_title = page_tree(base + "latest/?sort=title&section=all")
    titles = by_title.xpath("//h2[@class='teaser__title']/a/text()")
    assert titles == sorted(titles) and len(titles) > 1
    far = page_tree(base + "latest/?page=9999&view=grid&utm_source=x")
    assert "No articles found." in far.text_content()
    [next_href] = far.xpath("//a[@rel='next']/@href")
    assert parse_qsl(urlsplit(next_href).query) == [
        ("page", "10000"),
        ("view", "grid"),
        ("utm_source", "x"),
    ]


def test_ground_truth_for_scoring_a_crawl(web: NewsWeb) -> None:
    originals = {a.id for a in web.articles if a.label == "story"} - {COPY}
    assert web.story_urls() == {web.url(i) for i in originals}
    assert web.article_count == len(web.articles) == len({web.url(a.id) for a in web.articles})
    disallowed = web.robots_disallowed()
    assert list(disallowed) == list(OUTLETS) and disallowed["courier"] == ("/search",)
    assert disallowed["northwire"] == ("/print/", "/search")
    request = Served("ledger", "GET", "/search;jsessionid=AB?q=aegis", {}, 200, "search")
    assert web.violates_robots(request)
    assert not web.violates_robots(Served("courier", "GET", "/print/x", {}, 200, "print"))
    base = web.base_urls["orbit"]
    kinds = {
        "robots.txt": "robots",
        "feed.atom": "feed",
        "sitemap.xml": "sitemap",
        "": "listing",
        "about/": "info",
        "military": "redirect",
        "search?q=aegis": "search",
        "nothing": "not-found",
    }
    for path, kind in kinds.items():
        fetch_once(base + path)
        assert web.requests[-1].kind == kind, path


@pytest.mark.parametrize("how", ["eof", "sigterm"])
def test_main_prints_base_urls_then_serves_until_told(articles_file: Path, how: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.demo", "--articles", str(articles_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        base_urls = json.loads(process.stdout.readline())["base_urls"]
        assert list(base_urls) == list(OUTLETS)
        assert fetch(base_urls["crescent"] + "robots.txt").status == 200
        if how == "eof":
            process.stdin.close()
        else:
            process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        process.stdout.close()
        if not process.stdin.closed:
            process.stdin.close()
        process.wait()


def test_packaged_articles() -> None:
    packaged = importlib.resources.files("crawler.demo").joinpath("articles.toml")
    if not packaged.is_file():
        pytest.skip("crawler/demo/articles.toml is not written yet")
    articles = load_articles()
    for outlet in OUTLETS:
        own = [a for a in articles if a.outlet == outlet]
        labels = [a.label for a in own]
        assert [labels.count(label) >= 3 for label in ("neighbour", "unrelated")] == [True] * 2
        assert labels.count("story") >= 2, outlet
        for article in own:
            text = " ".join([article.title, article.subtitle or "", article.body])
            assert not [c for c in CHROME_STRINGS[outlet] if c in text], article.id
    for quirk in ("fails-once", "slow", "windows-1252"):
        assert [a for a in articles if quirk in a.quirks and a.label == "story"], quirk
    assert [a for a in articles if a.old_path] and [a for a in articles if a.syndicated_from]
    with NewsWeb(articles, delays=TEST_DELAYS) as web:
        statuses = {a.id: fetch(web.url(a.id)).status for a in articles}
        failing = {a.id for a in articles if "fails-once" in a.quirks}
        assert {i for i, status in statuses.items() if status != 200} == failing
        assert all(fetch(web.url(i)).status == 200 for i in failing)
        assert len(web.story_urls()) == sum(
            a.label == "story" and not a.syndicated_from for a in articles
        )

"""The offline news web over real HTTP: what a crawler relies on, outlet by outlet.

The web runs on a small articles file written here, so these tests do not depend on
the packaged articles.toml; one test checks the packaged file when it exists.
"""

from __future__ import annotations

import gzip
import importlib.resources
import json
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import trafilatura
from lxml import etree, html

from crawler.newsweb import CHROME_STRINGS, OUTLETS, Article, NewsWeb, load_articles

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
}


def _toml_article(**fields: object) -> str:
    lines = ["[[article]]"]
    for key, value in fields.items():
        if key == "date":
            lines.append(f"date = {value}")
        else:
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines)


def _articles_toml() -> str:
    """One story article per outlet plus filler; courier has enough to paginate."""
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
    filler = {"courier": 8, "orbit": 2, "northwire": 2, "crescent": 2}
    for outlet, count in filler.items():
        for i in range(count):
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
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Fetched(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Fetched(error.code, dict(error.headers), error.read())


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
    with NewsWeb(articles) as running:
        yield running


def story(outlet: str) -> str:
    return f"{outlet}-aegis-ashore"


def test_loader_validates_and_types_fields(articles: list[Article], tmp_path: Path) -> None:
    first = articles[0]
    assert first.date.utcoffset() is not None
    assert first.tags == ("Aegis Ashore", "Japan", "Russia")
    assert first.paragraphs == STORY_PARAGRAPHS["courier"]
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
    for mistake in ({"outlet": "nowhere"}, {"date": "2018-01-16T09:17:00"}, {"related": ["y"]}):
        bad.write_text(_toml_article(**(valid | mistake)), encoding="utf-8")
        with pytest.raises(ValueError):
            load_articles(bad)


def test_robots_disallows_print_and_search_and_lists_sitemaps(web: NewsWeb) -> None:
    for base in web.base_urls.values():
        robots = fetch(base + "robots.txt")
        assert robots.headers["Content-Type"].startswith("text/plain")
        lines = robots.text.splitlines()
        assert {"User-agent: *", "Disallow: /print/", "Disallow: /search"} <= set(lines)
        assert f"Sitemap: {base}sitemap.xml" in lines
        assert f"Sitemap: {base}news-sitemap.xml" in lines


def test_article_urls_are_shaped_like_the_real_sites_and_stable(web: NewsWeb) -> None:
    pinned = {  # a change here would orphan saved crawls and archives
        "courier": "/2018/01/16/courier-aegis-ashore.html",
        "orbit": "/military/2018011710400513-orbit-aegis-ashore/",
        "northwire": "/military-and-defense/3814036",
        "crescent": "/Detail/2018/01/19/327772/"
        "Japan-Says-Aegis-Ashore-Poses-No-Threat-To-Russia-Crescent",
    }
    with NewsWeb(web.articles) as again:
        for outlet, path in pinned.items():
            url = web.url(story(outlet))
            assert url == web.base_urls[outlet] + path.lstrip("/")
            assert urlsplit(again.url(story(outlet))).path == path
            page = fetch(url)
            assert page.status == 200
            h1 = html.fromstring(page.body).xpath("//h1")
            assert [h.text_content() for h in h1] == [f"{TITLE} ({outlet})"]


def test_article_head_metadata(web: NewsWeb) -> None:
    for outlet in OUTLETS:
        url = web.url(story(outlet))
        tree = html.fromstring(fetch(url).body)
        assert tree.get("lang") == "en"
        assert tree.xpath("//link[@rel='canonical']/@href") == [url]
        assert tree.xpath("//meta[@property='og:type']/@content") == ["article"]
        assert tree.xpath("//meta[@property='og:url']/@content") == [url]
        assert tree.xpath("//meta[@property='article:published_time']/@content")[0].startswith(
            "2018-01-"
        )
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
        assert gzip.decompress(zipped.body) == plain.body


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


def test_feeds_carry_the_newest_articles(web: NewsWeb) -> None:
    for outlet, base in web.base_urls.items():
        feed = fetch(base + OUTLETS[outlet].feed_path.lstrip("/"))
        links = etree.fromstring(feed.body).xpath(
            "//*[local-name()='item']/*[local-name()='link']/text()"
            " | //*[local-name()='entry']/*[local-name()='link']/@href"
        )
        own = sorted(
            (a for a in web.articles if a.outlet == outlet), key=lambda a: a.date, reverse=True
        )
        assert links == [web.url(a.id) for a in own[:20]]


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
    """Crawl each outlet like a polite crawler: nothing it can reach is broken."""
    for outlet, base in web.base_urls.items():
        queue, seen = [base], {base}
        while queue:
            page = fetch(queue.pop())
            assert page.status == 200
            if not page.headers["Content-Type"].startswith("text/html"):
                continue
            for href in html.fromstring(page.body).xpath(
                "//a/@href | //link[@rel!='stylesheet']/@href"
            ):
                url = urljoin(base, href).split("#")[0]
                path = urlsplit(url).path
                if (
                    url.startswith(base)
                    and not path.startswith(("/print/", "/search"))
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
    assert (missing.method, missing.path_with_query, missing.status) == ("GET", "/missing", 404)


def test_print_copy_exists_and_chrome_strings_sit_outside_the_text(web: NewsWeb) -> None:
    for outlet in OUTLETS:
        article = next(a for a in web.articles if a.id == story(outlet))
        page = fetch(web.url(article.id)).text
        print_href = html.fromstring(page).xpath("//a[text()='Print']/@href")[0]
        assert fetch(urljoin(web.url(article.id), print_href)).status == 200
        for chrome in CHROME_STRINGS[outlet]:
            assert chrome in html.fromstring(page).text_content(), (outlet, chrome)
            assert chrome not in article.body


def test_trafilatura_finds_the_article_text(web: NewsWeb) -> None:
    """The text is really on the page (not hidden); chrome leakage is reported, not tested."""
    for outlet in OUTLETS:
        article = next(a for a in web.articles if a.id == story(outlet))
        page = fetch(web.url(article.id)).text
        text = trafilatura.extract(
            page, url=web.url(article.id), include_comments=False, include_tables=True
        )
        assert text is not None
        for paragraph in article.paragraphs:
            assert paragraph in text, (outlet, paragraph)


@pytest.mark.parametrize("how", ["eof", "sigterm"])
def test_main_prints_base_urls_then_serves_until_told(articles_file: Path, how: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.newsweb", "--articles", str(articles_file)],
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
    packaged = importlib.resources.files("crawler.newsweb").joinpath("articles.toml")
    if not packaged.is_file():
        pytest.skip("crawler/newsweb/articles.toml is not written yet")
    articles = load_articles()
    for outlet in OUTLETS:
        own = [a for a in articles if a.outlet == outlet]
        assert len(own) >= 13, outlet
        for article in own:
            text = " ".join([article.title, article.subtitle or "", article.body])
            assert not [c for c in CHROME_STRINGS[outlet] if c in text], article.id
    with NewsWeb(articles) as web:
        assert all(fetch(web.url(a.id)).status == 200 for a in articles)

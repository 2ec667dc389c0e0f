"""Accepted articles archived whole: their images, stylesheets, scripts and fonts are
fetched and replay from the WARC files; other pages' are not."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, TextResponse

from crawler.discovery.requisites import page_requisites, stylesheet_requisites
from tests.conftest import storycrawl
from tests.servers import LoopbackServer, binary, page
from tests.wayback import opener, running_wayback

QUICK = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "RETRY_ENABLED=0"]

PARAGRAPH = (
    "The defence ministry said on Tuesday that the missile defence system would be "
    "operated by the Self-Defense Forces alone and would protect the whole country, "
    "answering objections raised in Moscow that the launchers could also fire cruise "
    "missiles. Officials in Tokyo repeated that the purchase was a purely defensive "
    "measure against the threat from ballistic missiles, and that no other country "
    "would have any say in how the batteries were used. "
)
ARTICLE = f"""<!doctype html><html lang="en"><head><title>Japan answers Moscow</title>
<link rel="stylesheet" href="/static/site.css"><script src="/static/app.js"></script>
<style>.masthead {{ background: url('/media/masthead.png') }}</style></head>
<body><article><h1>Japan answers Moscow on missile defence</h1>
<img src="/media/lead.png" srcset="/media/lead.png 1x, /media/lead@2x.png 2x" alt="">
<img src="/private/secret.png" alt="">
{"".join(f"<p>{PARAGRAPH}</p>" for _ in range(4))}</article></body></html>"""
HOME = """<!doctype html><html><head><title>The Courier</title></head><body>
<img src="/media/home-only.png" alt=""><a href="/news/japan-answers-moscow">Japan answers
Moscow on missile defence</a></body></html>"""
STYLESHEET = (
    b'@import "/static/print.css"; body { background: url(/media/paper.png) }\n'
    b'@font-face { font-family: Serif; src: url("/fonts/serif.woff2") format("woff2") }\n'
)
LEAD = b"\x89PNG lead photo"


def routes() -> dict[str, object]:
    return {
        "/robots.txt": binary("text/plain", b"User-agent: *\nDisallow: /private/\n"),
        "/": page(HOME),
        "/news/japan-answers-moscow": page(ARTICLE),
        "/static/site.css": binary("text/css; charset=utf-8", STYLESHEET),
        "/static/print.css": binary("text/css", b"body { color: black }"),
        "/static/app.js": binary("application/javascript", b"console.log('app')"),
        "/media/lead.png": binary("image/png", LEAD),
        "/media/lead@2x.png": binary("image/png", b"\x89PNG lead photo, twice as large"),
        "/media/masthead.png": binary("image/png", b"\x89PNG masthead"),
        "/media/paper.png": binary("image/png", b"\x89PNG paper"),
        "/media/home-only.png": binary("image/png", b"\x89PNG home"),
        "/fonts/serif.woff2": binary("font/woff2", b"wOF2 serif"),
        "/private/secret.png": binary("image/png", b"\x89PNG secret"),
    }


@dataclass(frozen=True)
class Crawled:
    server: LoopbackServer
    data: Path
    requested: list[str]


def _crawl(server: LoopbackServer, data: Path, *settings: str) -> list[str]:
    before = len(server.requested)
    done = storycrawl(
        "crawl", "--name", "whole", "--seed", f"{server.url}/news/japan-answers-moscow",
        "--site", f"{server.url}/", "--data", str(data), *QUICK, *settings,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return server.requested[before:]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    with LoopbackServer("127.0.0.10", routes()) as server:
        data = tmp_path_factory.mktemp("whole")
        yield Crawled(server, data, _crawl(server, data))


def test_an_accepted_article_gets_its_images_stylesheets_scripts_and_fonts(
    crawled: Crawled,
) -> None:
    loaded = {
        "/static/site.css", "/static/print.css", "/static/app.js", "/media/lead.png",
        "/media/lead@2x.png", "/media/masthead.png", "/media/paper.png", "/fonts/serif.woff2",
    }  # fmt: skip
    assert loaded <= set(crawled.requested)
    assert "/media/home-only.png" not in crawled.requested  # the home page is no article
    assert "/private/secret.png" not in crawled.requested  # robots.txt disallows it
    assert len(crawled.requested) == len(set(crawled.requested))  # each fetched once


def test_the_article_replays_with_its_image_and_stylesheet(
    crawled: Crawled, tmp_path_factory: pytest.TempPathFactory
) -> None:
    warcs = sorted((crawled.data / "warc").glob("*.warc.gz"))
    with running_wayback(tmp_path_factory.mktemp("pywb"), "whole", warcs) as base:
        for path, body in (("/media/lead.png", LEAD), ("/static/site.css", STYLESHEET)):
            # As a replayed page asks for them: any time, pywb finds the nearest capture.
            with opener().open(f"{base}/whole/2030id_/{crawled.server.url}{path}") as answer:
                assert answer.status == 200
                assert answer.read() == body


def test_requisites_can_be_turned_off(
    crawled: Crawled, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = tmp_path_factory.mktemp("html-only")
    requested = _crawl(crawled.server, data, "-s", "STORYCRAWL_REQUISITES=False")
    assert "/news/japan-answers-moscow" in requested
    assert not [path for path in requested if path.startswith(("/media/", "/static/"))]


def test_requisites_are_read_from_html_and_css() -> None:
    article = HtmlResponse("http://a.example/news/x", body=ARTICLE.encode(), encoding="utf-8")
    assert page_requisites(article) == [
        "http://a.example/media/lead.png", "http://a.example/private/secret.png",
        "http://a.example/media/lead@2x.png", "http://a.example/static/site.css",
        "http://a.example/static/app.js", "http://a.example/media/masthead.png",
    ]  # fmt: skip
    css = TextResponse("http://a.example/static/site.css", body=STYLESHEET, encoding="utf-8")
    assert stylesheet_requisites(css) == [
        "http://a.example/static/print.css", "http://a.example/media/paper.png",
        "http://a.example/fonts/serif.woff2",
    ]  # fmt: skip

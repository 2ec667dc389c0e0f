"""A page's requisites: what a browser loads to show it (images, stylesheets, scripts,
fonts), so that an accepted article replays whole from the WARC files, not as text with
broken images.

Only accepted articles get theirs (not every page a crawl fetched): the story's corpus is
what a reader will replay. A stylesheet's own ``url(…)`` and ``@import`` references (fonts,
background images) are requisites too, one level down.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from scrapy.http import Response, TextResponse

from archive.urls import is_http_url

#: Where HTML names what it loads: (selector, attribute).
_HTML = (
    ("img", "src"),
    ("img", "srcset"),
    ("picture source", "srcset"),
    ("video", "poster"),
    ("link[rel~='stylesheet']", "href"),
    ("link[rel~='icon']", "href"),
    ("link[rel~='preload']", "href"),
    ("script", "src"),
)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""")


def _srcset(value: str) -> Iterator[str]:
    """The URLs of a srcset: ``a.jpg 1x, b.jpg 2x``."""
    for candidate in value.split(","):
        if url := candidate.strip().split(" ")[0]:
            yield url


def page_requisites(response: TextResponse) -> list[str]:
    """The absolute http(s) URLs an HTML page loads, in page order, each once."""
    found: dict[str, None] = {}
    for selector, attribute in _HTML:
        for value in response.css(f"{selector}::attr({attribute})").getall():
            values = _srcset(value) if attribute == "srcset" else [value.strip()]
            for url in values:
                found.setdefault(response.urljoin(url), None)
    for style in response.css("style::text").getall():
        for url in _css_references(style):
            found.setdefault(response.urljoin(url), None)
    return [url for url in found if is_http_url(url)]


def stylesheet_requisites(response: Response) -> list[str]:
    """The absolute URLs a stylesheet loads (fonts, images, imported stylesheets)."""
    if not isinstance(response, TextResponse):
        text = response.body.decode("utf-8", "replace")
    else:
        text = response.text
    urls = (response.urljoin(url) for url in _css_references(text))
    return [url for url in dict.fromkeys(urls) if is_http_url(url)]


def _css_references(css: str) -> Iterator[str]:
    for match in _CSS_URL.finditer(css):
        url = (match.group(2) or match.group(4) or "").strip()
        if url and not url.startswith("data:"):
            yield url

"""The links of an HTML page, as candidates: articles, and the listings that lead to them.

Home, section, tag and pagination pages are told from articles by their URLs (courlan's
navigation rules, a short one-segment path, a page number), so that the spider can fetch
listings early (their headlines steer) and judge only articles.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterator
from functools import lru_cache
from itertools import islice
from urllib.parse import urljoin, urlsplit

from courlan import is_navigation_page, is_not_crawlable
from scrapy.http import HtmlResponse
from scrapy.linkextractors import IGNORED_EXTENSIONS
from scrapy.utils.response import get_base_url
from scrapy.utils.url import url_has_any_extension
from w3lib.url import safe_url_string

from archive.extract.pruning import MAX_LINKS_PER_PAGE
from crawler.discovery import Candidate

_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")
_PAGINATION = re.compile(r"(/page/\d+/?(\?|$)|[?&](page|p)=\d+)", re.IGNORECASE)
#: Links a story crawl skips: images, PDFs, archives and other files no story text can be
#: extracted from (Scrapy's list). A broad crawl archives whole sites, files too.
_FILES = {f".{extension}" for extension in IGNORED_EXTENSIONS}


#: A section's name is short; a one-segment path with more words is an article's slug.
MAX_SECTION_WORDS = 3


def is_section(url: str) -> bool:
    """One short path segment and no file name: '/world/', '/military-and-defense'."""
    path = urlsplit(url).path.strip("/")
    if not path or "/" in path or "." in path or any(c.isdigit() for c in path):
        return False
    return len(re.split(r"[-_]+", path)) <= MAX_SECTION_WORDS


def navigation_kind(url: str) -> str | None:
    """What kind of listing page a URL leads to, or None for a probable article."""
    if _PAGINATION.search(url):
        return "pagination"
    if is_section(url):
        return "section"
    if is_navigation_page(url):
        return "topic"
    return None


def page_links(
    response: HtmlResponse, broad: bool = False, settled: Container[str] = frozenset()
) -> Iterator[Candidate]:
    """Every crawlable link of an HTML page, marked as navigation or content.

    One pass over the parsed page: Scrapy's LinkExtractor, which runs its XPath, its
    canonicalising and its filters per link, cost a story crawl more CPU than fetching did
    (bench/throughput.py). Same rules: <a> and <area>, the page's <base>, no rel=nofollow,
    no files (images, PDFs, …) unless ``broad``, each URL once; rel=next marks pagination;
    the page's first :data:`archive.extract.pruning.MAX_LINKS_PER_PAGE` links only.
    A URL in ``settled`` (the caller has decided its fate) is skipped before its anchor
    text and kind are read: most links of a news page are the menus and sidebars of the
    pages before it.
    """
    base = get_base_url(response)
    scheme, netloc, *_ = urlsplit(base)
    origin = f"{scheme}://{netloc}/"
    seen: set[str] = set()
    # Bounded work per page: the first MAX_LINKS_PER_PAGE links only, as extraction reads.
    for element in islice(response.selector.root.iter("a", "area", "link"), MAX_LINKS_PER_PAGE):
        href = (element.get("href") or "").strip()
        if not href:
            continue
        rel = (element.get("rel") or "").lower().split()
        try:
            url = _absolute(base, origin, href, response.encoding)
        except ValueError:  # no URL at all ("http://[::1"): the page's other links stand
            continue
        if "next" in rel:
            yield Candidate(url, "next page", navigation="pagination")
            continue
        if element.tag == "link" or "nofollow" in rel or url in seen or url in settled:
            continue
        seen.add(url)
        if not _crawlable(url, broad):
            continue
        text = " ".join("".join(element.itertext()).split())
        yield Candidate(url, text, navigation=navigation_kind(url))


def _absolute(base: str, origin: str, href: str, encoding: str) -> str:
    """The link's URL, made safe; resolved against the site's origin when the page's own
    URL does not matter (an absolute or root-relative link, as menus and sidebars have),
    so that those resolve once per crawl (_resolved's cache), not once per page."""
    if href.startswith(("http://", "https://")):
        return _resolved("", href, encoding)
    if href.startswith("/") and not href.startswith("//"):
        return _resolved(origin, href, encoding)
    return _resolved(base, href, encoding)


@lru_cache(maxsize=8192)
def _resolved(base: str, href: str, encoding: str) -> str:
    return safe_url_string(urljoin(base, href), encoding)


@lru_cache(maxsize=4096)
def _crawlable(url: str, broad: bool) -> bool:
    """Not mailto:, javascript:, … nor, unless ``broad``, a file (image, PDF, …)."""
    if not url.startswith(("http://", "https://")) or is_not_crawlable(url):
        return False
    return broad or not url_has_any_extension(url, _FILES)


def feed_links(response: HtmlResponse) -> list[str]:
    """Feeds a page announces with <link rel="alternate" type="application/rss+xml">."""
    hrefs = []
    for link in response.css('link[rel="alternate"]'):
        if (link.attrib.get("type") or "").lower() in _FEED_TYPES and link.attrib.get("href"):
            hrefs.append(response.urljoin(link.attrib["href"]))
    return hrefs

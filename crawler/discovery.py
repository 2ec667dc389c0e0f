"""Where follow-up coverage is found: page links, RSS/Atom feeds, sitemaps, robots.txt.

Each source turns a response into candidates (URL, the title or anchor text it was listed
under, its date when the source gives one), so that the story can score a URL before
anything is fetched.
"""

from __future__ import annotations

import email.utils
import html
import re
import zlib
from collections.abc import Container, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from io import BytesIO
from urllib.parse import urljoin, urlsplit

import lxml.etree
from courlan import is_navigation_page, is_not_crawlable
from scrapy.http import HtmlResponse, Response
from scrapy.linkextractors import IGNORED_EXTENSIONS
from scrapy.utils.gz import gunzip
from scrapy.utils.response import get_base_url
from scrapy.utils.url import url_has_any_extension
from w3lib.url import safe_url_string

#: Sent with ``urls=[…]`` when a robots.txt lists sitemaps (crawler.robots); the spider
#: subscribes to it.
sitemaps_found = object()

_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")
_PAGINATION = re.compile(r"(/page/\d+/?(\?|$)|[?&](page|p)=\d+)", re.IGNORECASE)
#: Links a story crawl skips: images, PDFs, archives and other files no story text can be
#: extracted from (Scrapy's list). A broad crawl archives whole sites, files too.
_FILES = {f".{extension}" for extension in IGNORED_EXTENSIONS}


@dataclass(frozen=True)
class Candidate:
    url: str
    text: str = ""
    published: date | None = None  # a feed's pubDate, a news sitemap's publication_date
    navigation: str | None = None  # "pagination", "section" or "topic" (tag, category, …)
    modified: date | None = None  # a sitemap's lastmod: never before the publication


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
    no files (images, PDFs, …) unless ``broad``, each URL once; rel=next marks pagination.
    A URL in ``settled`` (the caller has decided its fate) is skipped before its anchor
    text and kind are read: most links of a news page are the menus and sidebars of the
    pages before it.
    """
    base = get_base_url(response)
    scheme, netloc, *_ = urlsplit(base)
    origin = f"{scheme}://{netloc}/"
    seen: set[str] = set()
    for element in response.selector.root.iter("a", "area", "link"):
        href = (element.get("href") or "").strip()
        if not href:
            continue
        rel = (element.get("rel") or "").lower().split()
        url = _absolute(base, origin, href, response.encoding)
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


def _body(response: Response, max_size: int) -> bytes:
    """The XML of a feed or sitemap; a .xml.gz file (not a Content-Encoding) unpacked.

    A damaged gzip file gives an empty body; one that unpacks beyond ``max_size`` raises
    ValueError, so that a refusal is not mistaken for an empty sitemap.
    """
    body = response.body
    if body[:2] == b"\x1f\x8b":
        try:
            body = gunzip(body, max_size=max_size)
        except (OSError, EOFError, zlib.error):
            return b""
    return body


def _xml_elements(body: bytes, tags: set[str]) -> Iterator[lxml.etree._Element]:
    """Complete elements with these tags, streamed.

    Entities are never resolved: a feed or sitemap is untrusted input (XXE, billion laughs).
    A document cut short ends at its last complete element: recover mode would close the
    cut one and hand out half a URL.
    """
    events = lxml.etree.iterparse(
        BytesIO(body),
        events=("end",),
        recover=True,
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
    )
    try:
        for _, element in events:
            last = events.error_log.last_error
            if last is not None and last.type == lxml.etree.ErrorTypes.ERR_TAG_NOT_FINISHED:
                return
            if lxml.etree.QName(element).localname in tags:
                yield element
                element.clear()
    except lxml.etree.XMLSyntaxError:  # nothing parseable at all, e.g. an empty body
        return


def _child(element: lxml.etree._Element, *names: str) -> str:
    """The text of the first named descendant that has any, entities left as written."""
    for name in names:
        found = element.find(f".//{{*}}{name}")
        if found is not None:
            text = html.unescape("".join(found.itertext())).strip()
            if text:
                return text
    return ""


def parse_date(text: str) -> date | None:
    """ISO 8601 (sitemaps, Atom) or RFC 822 (RSS) dates; None when unreadable."""
    text = text.strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(text).date()
    except (TypeError, ValueError, OverflowError):
        return None


@dataclass(frozen=True)
class Sitemap:
    is_index: bool
    entries: list[Candidate]


def parse_sitemap(response: Response, max_size: int) -> Sitemap:
    """A sitemap index, a urlset, or a Google News sitemap (whose title and publication date
    Scrapy's own Sitemap class does not expose: it flattens nested elements)."""
    body = _body(response, max_size)
    entries = []
    is_index = False
    for element in _xml_elements(body, {"url", "sitemap"}):
        is_index = is_index or lxml.etree.QName(element).localname == "sitemap"
        loc = _child(element, "loc")
        if not loc:
            continue
        entries.append(
            Candidate(
                urljoin(response.url, loc),
                _child(element, "title"),
                published=parse_date(_child(element, "publication_date")),
                modified=parse_date(_child(element, "lastmod")),
            )
        )
    return Sitemap(is_index, entries)


def parse_feed(response: Response, max_size: int) -> list[Candidate]:
    """Items of an RSS 2.0 or Atom feed."""
    entries = []
    for element in _xml_elements(_body(response, max_size), {"item", "entry"}):
        link = _child(element, "link")
        if not link:  # Atom: the entry's alternate link, not its comments or enclosures
            links = element.findall("{*}link[@href]")
            alternate = [a for a in links if a.get("rel", "alternate") == "alternate"]
            link = (alternate or links)[0].get("href") if links else ""
        if link:
            published = parse_date(_child(element, "pubDate", "published", "updated"))
            title = _child(element, "title")
            entries.append(Candidate(urljoin(response.url, link), title, published))
    return entries

"""RSS/Atom feeds and sitemaps (indexes, urlsets, Google News sitemaps) read as candidates.

Feeds and sitemaps are untrusted XML: entities are never resolved, a gzip file is unpacked
only up to the download size limit, and a document cut short ends at its last whole entry.
"""

from __future__ import annotations

import email.utils
import html
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO
from urllib.parse import urljoin

import lxml.etree
from scrapy.http import Response
from scrapy.utils.gz import gunzip

from crawler.discovery import Candidate


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

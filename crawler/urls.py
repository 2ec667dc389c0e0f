"""Canonical URLs and crawl scope.

One article must have one key however it is linked: tracking and session parameters,
fragments, parameter order and default ports must not make it look new, nor must its AMP
or print copy, or the crawl fetches it twice and the corpus holds it twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, replace
from functools import cached_property
from urllib.parse import urlsplit, urlunsplit

from courlan import normalize_url
from w3lib.url import canonicalize_url

#: Session ids carried as path parameters (Java servlets, some PHP CMSs); courlan already
#: drops them from query strings (sid, sessionid, PHPSESSID, …).
_PATH_SESSION = re.compile(r";(jsessionid|phpsessid|sid|sessionid)=[^/?#]*", re.IGNORECASE)
#: The copies of an article made for another reader: /amp/… or …/amp, /print/… or …/print,
#: and the ``.amp`` suffix some CMSs use. (``?amp=1`` and ``?print=1`` courlan drops.)
_VARIANT_SEGMENTS = ("amp", "print")


def _fold_variant(path: str) -> str:
    segments = path.split("/")
    inner = [s for s in segments if s]
    if len(inner) > 1 and inner[0].lower() in _VARIANT_SEGMENTS:
        return path.replace(f"/{inner[0]}", "", 1)
    if len(inner) > 1 and inner[-1].lower() in _VARIANT_SEGMENTS:
        return path[: path.rindex(f"/{inner[-1]}")] + ("/" if path.endswith("/") else "")
    return path.removesuffix(".amp").removesuffix(".amp.html")


def original_of(url: str) -> str:
    """The article a URL is a copy of (AMP, print) without its path session id: what the
    crawl fetches instead, so that the archive holds the article as its readers saw it."""
    parts = urlsplit(url)
    path = _fold_variant(_PATH_SESSION.sub("", parts.path))
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def canonical(url: str) -> str:
    """The key a URL is known by: normalised, tracking and session parameters dropped, AMP
    and print copies folded onto the article, no fragment."""
    url = original_of(url)
    with suppress(ValueError):  # courlan rejects some URLs that w3lib still normalises
        url = normalize_url(url, strict=True)
    return canonicalize_url(url, keep_fragments=False)


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


@dataclass(frozen=True)
class Scope:
    """The hosts a story crawl may follow links on: those of its sites and seeds; and single
    pages elsewhere that a search source found (by canonical URL).

    A search result widens the scope by its page, not its host: the page is fetched and
    judged, but its links are followed only onto the named hosts (and other results). An
    outlet's whole site would be a broad crawl of every outlet a search engine names.
    """

    hosts: frozenset[str]
    pages: frozenset[str] = frozenset()

    @classmethod
    def of(cls, urls: Iterable[str]) -> Scope:
        return cls(frozenset(host_of(url) for url in urls if host_of(url)))

    def with_pages(self, urls: Iterable[str]) -> Scope:
        return replace(self, pages=self.pages | {canonical(url) for url in urls})

    def allows(self, url: str) -> bool:
        host = host_of(url)
        if any(host == h or host.endswith("." + h) for h in self.hosts):
            return True
        return host in self._page_hosts and canonical(url) in self.pages

    @cached_property
    def _page_hosts(self) -> frozenset[str]:
        """Checked first: most links off the named hosts lead nowhere near a result, and
        a canonical URL costs more than a host."""
        return frozenset(host_of(page) for page in self.pages)

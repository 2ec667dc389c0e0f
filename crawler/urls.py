"""Canonical URLs and crawl scope.

One article must have one key however it is linked: tracking and session parameters,
fragments, parameter order and default ports must not make it look new, or the crawl
fetches it twice and the corpus holds it twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from urllib.parse import urlsplit

from courlan import normalize_url
from w3lib.url import canonicalize_url


def canonical(url: str) -> str:
    """The key a URL is known by: normalised, tracking parameters dropped, no fragment."""
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
    """The hosts a story crawl may follow links on: those of its sites and seeds."""

    hosts: frozenset[str]

    @classmethod
    def of(cls, urls: Iterable[str]) -> Scope:
        return cls(frozenset(host_of(url) for url in urls if host_of(url)))

    def allows(self, url: str) -> bool:
        host = host_of(url)
        return any(host == h or host.endswith("." + h) for h in self.hosts)

"""Crawl scope: the hosts a story crawl follows links on, and single pages found elsewhere."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property

from archive.urls import canonical, host_of


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

"""Crawl scope: the sites a story crawl follows links on, and single pages found elsewhere."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property

from archive.urls import canonical, host_of, site_of


@dataclass(frozen=True)
class Scope:
    """The sites a story crawl may follow links on: those of its sites and seeds (by origin,
    see archive.urls.site_of, and their subdomains on the same scheme and port); and single
    pages elsewhere that a search source found (by canonical URL).

    Another port of a named host is another site: ``host:8001`` named does not open
    ``host:9002``, which may be another server, and someone else's.

    A search result widens the scope by its page, not its host: the page is fetched and
    judged, but its links are followed only onto the named hosts (and other results). An
    outlet's whole site would be a broad crawl of every outlet a search engine names.
    """

    sites: frozenset[str]
    pages: frozenset[str] = frozenset()

    @classmethod
    def of(cls, urls: Iterable[str]) -> Scope:
        return cls(frozenset(site_of(url) for url in urls if host_of(url)))

    def with_pages(self, urls: Iterable[str]) -> Scope:
        return replace(self, pages=self.pages | {canonical(url) for url in urls})

    def allows(self, url: str) -> bool:
        site = site_of(url)
        if site in self.sites:
            return True
        host = host_of(url)
        hosts = self._hosts_by_origin.get(_without_host(site, host), ())
        if any(host.endswith("." + h) for h in hosts):
            return True
        return host in self._page_hosts and canonical(url) in self.pages

    @cached_property
    def _hosts_by_origin(self) -> dict[str, tuple[str, ...]]:
        """The named hosts by the rest of their site (scheme and port, ``*`` for the host):
        a subdomain is in scope on its parent's scheme and port only."""
        by_origin: dict[str, list[str]] = {}
        for site in self.sites:
            host = host_of(site if "://" in site else f"http://{site}")
            by_origin.setdefault(_without_host(site, host), []).append(host)
        return {origin: tuple(hosts) for origin, hosts in by_origin.items()}

    @cached_property
    def _page_hosts(self) -> frozenset[str]:
        """Checked first: most links off the named hosts lead nowhere near a result, and
        a canonical URL costs more than a host."""
        return frozenset(host_of(page) for page in self.pages)


def _without_host(site: str, host: str) -> str:
    """A site with ``*`` for its host: ``http://*:8001``, or ``*`` on the default ports."""
    scheme, sep, rest = site.rpartition("://")
    return f"{scheme}{sep}{rest.replace(host, '*', 1)}"

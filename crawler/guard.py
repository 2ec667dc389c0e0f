"""Fetch safety: what the crawler refuses to fetch, before any byte goes out.

A news page can link anywhere, the router's admin page included; a crawler that runs inside
a network must not be a way to reach it. And a redirect must not fetch again what the
story already has.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future

from archive.urls import host_of, site_of

logger = logging.getLogger(__name__)


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


class KnownPage(IgnoreRequest):
    """A redirect's target that the crawl has already (see :class:`KnownRedirects`)."""


class KnownRedirects:
    """Drops a redirect to a page the story has already: Scrapy's RedirectMiddleware
    schedules the target itself, past the spider's checks, so the old URL of an article
    that an earlier run archived would fetch the article again."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if not request.meta.get("redirect_urls") or request.meta.get("storycrawl_kind") == "seed":
            return  # a seed is always fetched: the story starts from what it says today
        if why := self.crawler.spider.known_target(request):
            self.crawler.stats.inc_value("storycrawl/redirects_to_known_pages")
            raise KnownPage(f"redirect to a page {why}: {request.url}")


class FetchGuard:
    """Refuses non-http(s) URLs, and private, loopback and link-local addresses that the user
    did not name (a seed, site, feed or sitemap site: host and port, so that a named
    ``host:8001`` does not open the host's other ports) unless ``--allow-private`` was given.

    A news page can link anywhere, the router's admin page included; a crawler that runs
    inside a network must not be a way to reach it.
    """

    def __init__(self, crawler: Crawler, allow_private: bool, named_sites: frozenset[str]):
        self.crawler = crawler
        self.allow_private = allow_private
        self.named_sites = named_sites

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        config = crawler.spider.config
        return cls(crawler, config.allow_private, config.named_sites)

    async def process_request(self, request: Request) -> None:
        if not request.url.startswith(("http://", "https://")):
            self._refuse(request, "scheme")
        if self.allow_private or site_of(request.url) in self.named_sites:
            return
        host = host_of(request.url)
        try:
            address = str(ipaddress.ip_address(host.strip("[]")))
        except ValueError:
            # Imported here, as Scrapy does: importing it installs a reactor, and the spider
            # imports this module before Scrapy installs the asyncio one.
            from twisted.internet import reactor

            try:
                address = await maybe_deferred_to_future(reactor.resolve(host))
            except Exception:
                return  # let the download fail with the resolver's own error
        if not is_public(address):
            self._refuse(request, "private")

    def _refuse(self, request: Request, why: str) -> None:
        self.crawler.stats.inc_value(f"storycrawl/guard/refused_{why}")
        logger.warning("Refused %s (%s address or scheme, not named by the user)", request.url, why)
        raise IgnoreRequest(f"fetch guard: {why} URL {request.url}")

"""robots.txt: a site that cannot serve it is closed, and what it says beyond Allow and
Disallow (Crawl-delay and Sitemap lines) is obeyed too.

Scrapy's RobotsTxtMiddleware fetches each site's robots.txt once and enforces its rules,
but reads a robots.txt answered with a 5xx, or not answered at all, as allowing everything;
RFC 9309 (2.3.1.4) says to assume complete disallow. :class:`RobotsTxtFailClosed` does.

It also leaves Crawl-delay unread, and AutoThrottle would lower a site's delay below it.
:class:`RobotsExtras` reads both extra lines from the parsed file (the ``robots_parsed``
signal): the site's download slot never waits less than its Crawl-delay, and the sitemaps it
lists are handed to the spider, so robots.txt is fetched once for everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached

from crawler.signals import sitemaps_found

#: A longer Crawl-delay is capped: one page a minute is as slow as a story crawl can go.
MAX_CRAWL_DELAY = 60.0


#: The reason a candidate refused for its site's unreachable robots.txt records.
SITE_UNREACHABLE = "site_unreachable"


class RobotsTxtFailClosed(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, except that a site whose robots.txt answers 5xx or
    cannot be fetched (a timeout, a refused or dropped connection) is refused whole for the
    crawl, as RFC 9309 asks. A 4xx (no robots.txt) still allows everything, as the RFC says.
    The 5xx answer is retried first like any other (RetryMiddleware)."""

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        self._unreachable: dict[str, str] = {}  # netloc -> what its robots.txt fetch met

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if response.status >= 500:
            self._unreachable[netloc] = f"HTTP {response.status}"
            response = response.replace(body=b"")  # an error page is no robots.txt to read
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if not isinstance(exc, IgnoreRequest):  # refused by the fetch guard: so is the page
            self._unreachable[netloc] = type(exc).__name__
        super()._robots_error(exc, netloc)

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        why = self._unreachable.get(urlparse_cached(request).netloc)
        if why is not None:
            self._stats.inc_value("storycrawl/robots/site_unreachable")
            raise IgnoreRequest(f"robots.txt unreachable ({why}): {SITE_UNREACHABLE}")
        super().process_request_2(rp, request)


@dataclass(frozen=True)
class Extras:
    crawl_delay: float | None
    sitemaps: list[str]


def read_extras(robotparser: RobotParser, user_agent: str) -> Extras:
    """A parsed robots.txt's Crawl-delay for us (capped) and its Sitemap lines (Protego's)."""
    delay = robotparser.crawl_delay(user_agent)
    sitemaps = list(getattr(getattr(robotparser, "rp", None), "sitemaps", ()))
    return Extras(min(float(delay), MAX_CRAWL_DELAY) if delay else None, sitemaps)


class RobotsExtras:
    def __init__(self, crawler: Crawler):
        if not crawler.settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured
        self.crawler = crawler
        self.user_agent = crawler.settings.get("ROBOTSTXT_USER_AGENT") or crawler.settings.get(
            "USER_AGENT"
        )
        self.delays: dict[str, float] = {}  # download slot key -> the site's Crawl-delay

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        extras = cls(crawler)
        crawler.signals.connect(extras.robots_parsed, signal=signals.robots_parsed)
        # Connected after AutoThrottle (an extension set up before this one): its adjustment
        # comes first, and the floor is put back after it.
        crawler.signals.connect(extras.response_downloaded, signal=signals.response_downloaded)
        return extras

    def robots_parsed(self, robotparser: RobotParser, request: Request) -> None:
        extras = read_extras(robotparser, self.user_agent)
        if extras.sitemaps:
            self.crawler.signals.send_catch_log(signal=sitemaps_found, urls=extras.sitemaps)
        if extras.crawl_delay:
            key = self.crawler.engine.downloader.get_slot_key(request)
            self.delays[key] = extras.crawl_delay
            self.crawler.stats.set_value(f"storycrawl/crawl_delay/{key}", extras.crawl_delay)
            self._floor(key)

    def response_downloaded(self, response: Response, request: Request) -> None:
        key = request.meta.get("download_slot")
        if key in self.delays:
            self._floor(key)

    def _floor(self, key: str) -> None:
        """The slot waits at least the Crawl-delay: no lower, and no random ±50% either
        (RANDOMIZE_DOWNLOAD_DELAY), which would go below it half the time."""
        slot = self.crawler.engine.downloader.slots.get(key)
        if slot is not None:
            slot.delay = max(slot.delay, self.delays[key])
            slot.jitter = 0.0

"""A site's delay held crawl-wide: two workers never fetch from one site faster than one.

Scrapy spaces a site's requests by its download slot's delay (DOWNLOAD_DELAY, AutoThrottle's,
the robots.txt Crawl-delay that crawler.discovery.robots puts under it), in one process. In
a shared crawl a request also takes its site's turn in Redis as it leaves the downloader
middlewares, just before it is sent: the turn is taken when the site's last request, from
any worker, left at least the delay ago (one Lua script, so two workers never take one
turn); otherwise the request waits the time left and tries again. A turn is taken at the
moment of sending, not booked ahead: a worker whose reactor wakes late (its CPU busy with
extraction) must not send right before another worker's punctual request. A site with no
delay takes no turns.

Each worker still reads robots.txt itself (Scrapy's RobotsTxtMiddleware keeps it per
process): a site sees one robots.txt request per worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import reactor
from twisted.internet.task import deferLater

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

    from crawler.distributed.shared import SharedCrawl

#: KEYS: the site's last request. ARGV: its delay. Returns 0 when the turn is taken, else
#: how long to wait, in seconds.
_TAKE_TURN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local delay = tonumber(ARGV[1])
if now - last < delay then return tostring(last + delay - now) end
redis.call('SET', KEYS[1], tostring(now), 'PX', math.ceil(delay * 1000) + 1000)
return '0'
"""


class SharedPoliteness:
    """Downloader middleware: a request waits for its site's turn in Redis. The last one to
    run before the download (840): a request robots.txt refuses takes no turn, and nothing
    stands between the turn and the send."""

    def __init__(self, crawler: Crawler, shared: SharedCrawl):
        self.crawler = crawler
        self.shared = shared
        self.default_delay = crawler.settings.getfloat("DOWNLOAD_DELAY")
        self._take_turn = shared.client.register_script(_TAKE_TURN)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        shared = getattr(crawler.spider, "shared", None)
        if shared is None:
            raise NotConfigured("the crawl is not shared")
        return cls(crawler, shared)

    def delay(self, request: Request) -> float:
        """The site's delay: its download slot's in this worker, at least the robots.txt
        Crawl-delay (crawler.discovery.robots records it)."""
        downloader = self.crawler.engine.downloader
        site = downloader.get_slot_key(request)
        slot = downloader.slots.get(site)
        delay = slot.delay if slot is not None else self.default_delay
        return max(delay, self.crawler.stats.get_value(f"storycrawl/crawl_delay/{site}", 0.0))

    async def process_request(self, request: Request) -> None:
        delay = self.delay(request)
        if delay <= 0:
            return
        site = self.crawler.engine.downloader.get_slot_key(request)
        key = self.shared.key(f"site:{site}")
        while (wait := float(self._take_turn(keys=[key], args=[delay]))) > 0:
            self.crawler.stats.inc_value("storycrawl/distributed/politeness_waits")
            await maybe_deferred_to_future(deferLater(reactor, wait))

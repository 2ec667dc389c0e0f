"""A site's delay held crawl-wide: two workers never fetch from one site faster than one.

Scrapy spaces a site's requests by its download slot's delay (DOWNLOAD_DELAY, AutoThrottle's,
the robots.txt Crawl-delay that crawler.discovery.robots puts under it), in one process. In
a shared crawl a site with a delay is also leased in Redis, one request at a time: a
request takes the site's lease as it leaves the downloader middlewares, once the site's
last answer, to any worker, came at least the delay ago; it gives the lease back when its
answer (or its failure) comes. One Lua script takes the lease, so two workers never hold
it at once. The delay counts from the last answer, not from the last request: a worker
whose reactor is slow to send (its CPU busy with extraction) cannot bring its request
close to another worker's. A site with no delay takes no lease.

A lease a killed worker held runs out after DOWNLOAD_TIMEOUT. Each worker still reads
robots.txt itself (Scrapy's RobotsTxtMiddleware keeps it per process), with no lease: a
site sees one robots.txt request per worker.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import TYPE_CHECKING, Self

from redis import RedisError
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import reactor
from twisted.internet.task import deferLater

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from crawler.distributed.shared import SharedCrawl

#: While another request holds the site, look again this often (seconds).
POLL = 0.05

_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1e6 "

#: KEYS: the site's last answer, its lease. ARGV: delay, holder, lease time (ms). Returns 0
#: when the lease is taken, else how long to wait (seconds).
_TAKE = (
    _NOW
    + """
if redis.call('EXISTS', KEYS[2]) == 1 then return ARGV[4] end
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local delay = tonumber(ARGV[1])
if now - last < delay then return tostring(last + delay - now) end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return '0'
"""
)
#: KEYS: as _TAKE. ARGV: holder, delay.
_GIVE_BACK = (
    _NOW
    + """
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
redis.call('SET', KEYS[1], tostring(now), 'PX', math.ceil(tonumber(ARGV[2]) * 1000) + 1000)
return 0
"""
)


class SharedPoliteness:
    """Downloader middleware: a request to a site with a delay waits for the site's lease
    in Redis. The last one before the download (840): a request robots.txt refuses takes
    no lease, and nothing but the download stands between taking and giving back."""

    def __init__(self, crawler: Crawler, shared: SharedCrawl):
        self.crawler = crawler
        self.shared = shared
        self.default_delay = crawler.settings.getfloat("DOWNLOAD_DELAY")
        self.lease_ms = int((crawler.settings.getfloat("DOWNLOAD_TIMEOUT") + 10) * 1000)
        self._take = shared.client.register_script(_TAKE)
        self._give_back = shared.client.register_script(_GIVE_BACK)
        self._serial = itertools.count()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        shared = getattr(crawler.spider, "shared", None)
        if shared is None:
            raise NotConfigured("the crawl is not shared")
        return cls(crawler, shared)

    def delay(self, site: str) -> float:
        """The site's delay: its download slot's in this worker, at least the robots.txt
        Crawl-delay (crawler.discovery.robots records it)."""
        slot = self.crawler.engine.downloader.slots.get(site)
        delay = slot.delay if slot is not None else self.default_delay
        return max(delay, self.crawler.stats.get_value(f"storycrawl/crawl_delay/{site}", 0.0))

    def _keys(self, site: str) -> list[str]:
        return [self.shared.key(f"site:{site}:answered"), self.shared.key(f"site:{site}:lease")]

    async def process_request(self, request: Request) -> None:
        site = self.crawler.engine.downloader.get_slot_key(request)
        delay = self.delay(site)
        if delay <= 0:
            return
        holder = f"{self.shared.worker}:{next(self._serial)}"
        args = [delay, holder, self.lease_ms, POLL]
        try:
            while (wait := float(self._take(keys=self._keys(site), args=args))) > 0:
                self.crawler.stats.inc_value("storycrawl/distributed/politeness_waits")
                await maybe_deferred_to_future(deferLater(reactor, wait))
        except RedisError:
            return  # the scheduler stops the worker; its own download slot keeps the delay
        request.meta["storycrawl_site_lease"] = (site, holder, delay)

    def process_response(self, request: Request, response: Response) -> Response:
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._release(request)

    def _release(self, request: Request) -> None:
        if lease := request.meta.pop("storycrawl_site_lease", None):
            site, holder, delay = lease
            with contextlib.suppress(RedisError):  # lost: the lease runs out by itself
                self._give_back(keys=self._keys(site), args=[holder, delay])

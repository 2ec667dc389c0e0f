"""The shared queue: scrapy-redis's scheduler and priority queue, with leases.

scrapy-redis pops a request and forgets it: a worker killed then loses it. Here a pop moves
the request, atomically (a Lua script), from the queue to the crawl's leases with an expiry;
the worker renews its leases while it works on them, and gives one back once Scrapy is done
with its request (its page processed, its links queued, or its redirect queued in its place).
Any worker hands back to the queue, at their old priority, the leases nobody renewed.

The crawl is done when the leader has queued its start requests and the queue and the
leases are both empty: a request still being worked on may yet queue more.

A worker that loses Redis (a restart, the network) stops with a one-line error: what it
had queued and fetched is in the database, from which the next run resumes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Self

from redis import RedisError
from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.asyncio import create_looping_call
from scrapy.utils.defer import deferred_from_coro
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

if TYPE_CHECKING:
    from redis import Redis
    from scrapy import Spider
    from scrapy.crawler import Crawler

    from crawler.distributed.shared import SharedCrawl

logger = logging.getLogger(__name__)

#: An idle worker looks at the queue this often (seconds): Scrapy's engine, left alone,
#: looks every 5 s only.
IDLE_POLL = 0.25

_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1e6 "

#: KEYS: queue, leases (id -> expiry), leased (id -> request), priorities (id -> score).
_POP = (
    _NOW
    + """
local item = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #item == 0 then return false end
redis.call('ZREM', KEYS[1], item[1])
local id = redis.sha1hex(item[1])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), id)
redis.call('HSET', KEYS[3], id, item[1])
redis.call('HSET', KEYS[4], id, item[2])
return {item[1], id}
"""
)
_RENEW = (
    _NOW
    + """
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
return 0
"""
)
_REQUEUE = (
    _NOW
    + """
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, id in ipairs(ids) do
  local data = redis.call('HGET', KEYS[3], id)
  if data then redis.call('ZADD', KEYS[1], redis.call('HGET', KEYS[4], id), data) end
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
end
return #ids
"""
)


class LeasedQueue(PriorityQueue):
    """scrapy-redis's priority queue (the link's score orders it, highest first), whose
    pop leases the request instead of dropping it. The request goes through scrapy-redis's
    serialiser whole: callback and errback by name, meta, headers, priority."""

    def __init__(self, server: Redis, spider: Spider, key: str, lease: float, serializer=None):
        super().__init__(server, spider, key, serializer)
        self.lease = lease
        self.keys = [key, f"{key}:leases", f"{key}:leased", f"{key}:priorities"]
        self._pop = server.register_script(_POP)
        self._renew = server.register_script(_RENEW)
        self._requeue = server.register_script(_REQUEUE)

    def pop(self, timeout: int = 0) -> Request | None:
        popped = self._pop(keys=self.keys, args=[self.lease])
        if not popped:
            return None
        data, lease = popped
        request = self._decode_request(data)
        request.meta["storycrawl_lease"] = lease.decode()
        return request

    def leased(self) -> int:
        return self.server.zcard(self.keys[1])

    def renew(self, leases: list[str]) -> None:
        if leases:
            self._renew(keys=self.keys[1:2], args=[self.lease, *leases])

    def release(self, leases: list[str]) -> None:
        if leases:
            with self.server.pipeline() as pipe:
                pipe.zrem(self.keys[1], *leases)
                pipe.hdel(self.keys[2], *leases)
                pipe.hdel(self.keys[3], *leases)
                pipe.execute()

    def requeue_expired(self) -> int:
        return self._requeue(keys=self.keys, args=[])

    def clear(self) -> None:
        self.server.delete(*self.keys)


class SharedScheduler(Scheduler):
    """scrapy-redis's scheduler on the crawl's keys (crawler.distributed.shared), with
    leased pops, and idle workers that stay until the whole crawl is done."""

    def __init__(self, crawler: Crawler, shared: SharedCrawl):
        super().__init__(
            server=shared.client,
            persist=True,  # the queue is the crawl's, not this worker's: the last one clears it
            queue_key=shared.key("queue"),
            dupefilter=RFPDupeFilter(shared.client, shared.key("dupefilter")),
        )
        self.crawler = crawler
        self.shared = shared
        self.stats = crawler.stats
        self.queue: LeasedQueue
        self._held: dict[str, Request] = {}  # lease -> the request, while Scrapy has it
        self._heartbeat = create_looping_call(self._beat)
        self._poll = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        shared = crawler.spider.shared
        if shared is None:
            raise ValueError("SharedScheduler needs STORYCRAWL_FRONTIER = redis://HOST:PORT/DB")
        scheduler = cls(crawler, shared)
        crawler.signals.connect(scheduler.spider_idle, signal=signals.spider_idle)
        return scheduler

    def open(self, spider: Spider) -> None:
        self.spider = spider
        self.queue = LeasedQueue(self.server, spider, self.queue_key, self.shared.lease)
        self._heartbeat.start(self.shared.lease / 3, now=False)

    def close(self, reason: str) -> None:
        if self._heartbeat.running:
            self._heartbeat.stop()
        if self._poll is not None and self._poll.active():
            self._poll.cancel()
        with self._redis():
            # A worker that stops early (Ctrl-C, an error) gives its requests back at once.
            held = list(self._held.values())
            self.queue.release(list(self._held))
            for request in held:
                request.meta.pop("storycrawl_lease", None)
                self.queue.push(request)
        self._held.clear()

    @contextmanager
    def _redis(self) -> Iterator[None]:
        """Redis lost: the worker stops, with the one line the command prints."""
        try:
            yield
        except RedisError as exc:
            spider = self.crawler.spider
            if spider.problem is None:
                spider.problem = f"lost the frontier in Redis ({type(exc).__name__}: {exc})"
                logger.error("%s", spider.problem)
                deferred_from_coro(self.crawler.engine.close_spider_async(reason="frontier_lost"))

    def enqueue_request(self, request: Request) -> bool:
        with self._redis():
            # A request made from a leased one (a redirect, a retry) carries its lease: once
            # it is queued in its place, the lease is done with.
            if lease := request.meta.pop("storycrawl_lease", None):
                self._held.pop(lease, None)
                self.queue.release([lease])
            return super().enqueue_request(request)
        return False

    def next_request(self) -> Request | None:
        with self._redis():
            self._release_finished()
            if not self.shared.started:
                return None
            request = super().next_request()
            if request is not None:
                self._held[request.meta["storycrawl_lease"]] = request
            return request
        return None

    def has_pending_requests(self) -> bool:
        with self._redis():
            return self.shared.started and len(self) > 0
        return False

    def _release_finished(self) -> None:
        """Give back the leases of the requests Scrapy is done with: those no longer in the
        engine's set of requests in progress (downloading, or their response or failure
        being processed; left once the callback's output is handled)."""
        in_progress = self.crawler.engine._slot.inprogress  # no public view of it
        done = [lease for lease, request in self._held.items() if request not in in_progress]
        for lease in done:
            del self._held[lease]
        self.queue.release(done)

    def _beat(self) -> None:
        with self._redis():
            self.shared.beat()
            self._release_finished()
            self.queue.renew(list(self._held))
            if requeued := self.queue.requeue_expired():
                logger.warning("%d requests of a worker that stopped are queued again", requeued)
                self.stats.inc_value("storycrawl/distributed/requeued", requeued)

    def done(self) -> bool:
        """The whole crawl is done, not just this worker's part of it (or Redis is lost)."""
        with self._redis():
            self._release_finished()
            self.queue.requeue_expired()
            return self.shared.started and len(self.queue) == 0 and self.queue.leased() == 0
        return True

    def spider_idle(self) -> None:
        if self.done():
            return
        # Look again soon: another worker's pages may queue more, or its leases run out.
        from twisted.internet import reactor

        if self._poll is None or not self._poll.active():
            self._poll = reactor.callLater(IDLE_POLL, self.crawler.engine._slot.nextcall.schedule)
        raise DontCloseSpider

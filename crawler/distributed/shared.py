"""The Redis side of a crawl shared by several workers: who leads, who is alive, the
frontier's seen-set, the seeds the story profile is built from, the figures to add up, and
the one worker that settles the crawl when it is done.

Every key of a crawl lies under one prefix (``STORYCRAWL_REDIS_PREFIX``, by default
``storycrawl:STORY``). Times are Redis's own clock (``TIME``), so that workers on machines
whose clocks disagree still agree on when a lease or a heartbeat runs out.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import pickle
import socket
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Self, TypeVar

from archive.db.items import RunFigures
from crawler.frontier import LocalKeys

T = TypeVar("T")

if TYPE_CHECKING:
    from redis import Redis
    from redis.lock import Lock
    from scrapy.settings import BaseSettings

    from archive.extract import Document
    from crawler.discovery.traps import TrapRules


class FrontierUnavailable(ValueError):
    """Redis cannot be reached or used: said on one line, with the URL."""


def redis_client(url: str) -> Redis:
    """A client for ``redis://HOST:PORT/DB``, checked at once: a wrong URL is bad input."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)
        client.ping()
    except (ValueError, redis.RedisError) as exc:
        raise FrontierUnavailable(f"cannot use the frontier at {url}: {exc}") from None
    return client


def worker_name() -> str:
    """host:pid, as the database's run lock names its holder."""
    return f"{socket.gethostname()}:{os.getpid()}"


def digest(key: str) -> bytes:
    """8 bytes for a canonical URL: a million keys hold in about 70 MB of Redis, and a
    collision (one in 10^7 at a million keys) costs one page not fetched."""
    return hashlib.blake2b(key.encode(), digest_size=8).digest()


class SharedKeys:
    """The frontier's keys requested in this crawl, by every worker (see Frontier.admit):
    stored as 8-byte digests, at most ``max_pages`` of them plus the redirects' targets.

    With Redis lost, the worker stops; until it has, this worker's keys go on in memory, so
    that the pages it is still processing are stored with their links queued in the
    database, for the next run to resume."""

    def __init__(self, client: Redis, key: str):
        self.client = client
        self.key = key
        self.lost: LocalKeys | None = None

    def _ask(self, command: str, key: str) -> int:
        import redis

        if self.lost is None:
            try:
                return getattr(self.client, command)(self.key, digest(key))
            except redis.RedisError:
                self.lost = LocalKeys()
        return self.lost.claim(key) if command == "sadd" else key in self.lost

    def __contains__(self, key: str) -> bool:
        return bool(self._ask("sismember", key))

    def __len__(self) -> int:
        import redis

        if self.lost is None:
            try:
                return self.client.scard(self.key)
            except redis.RedisError:
                self.lost = LocalKeys()
        return len(self.lost)

    def add(self, key: str) -> None:
        self._ask("sadd", key)

    def claim(self, key: str) -> bool:
        """Add the key; True when no worker had: the one that claims a key requests it."""
        return bool(self._ask("sadd", key))


@dataclass(frozen=True)
class Joined:
    """What a worker that does not lead takes from the crawl the leader recorded."""

    story_id: int
    crawl_id: int
    seeds: list[Document]


@dataclass(frozen=True)
class LastWorker:
    """What the last worker of a crawl needs to close it in the database."""

    figures: RunFigures  # every worker's, added up
    workers: dict[str, str]  # worker -> its WARC file prefix
    lock_holder: str  # who holds the story's run lock in the database


class SharedCrawl:
    """One crawl's state in Redis, as seen by one worker."""

    def __init__(self, client: Redis, prefix: str, worker: str, lease: float):
        """``lease``: how long a popped request, a heartbeat or the leader's claim holds
        without renewal (seconds; renewed three times as often). A SIGKILLed worker's
        requests go back to the queue this long after it died."""
        self.client = client
        self.prefix = prefix
        self.worker = worker
        self.lease = lease
        self.requested = SharedKeys(client, self.key("requested"))
        self.leads = False
        #: Set once this worker may take requests from the queue: the leader at once (it
        #: fetches the seeds), the others once the leader has queued the start requests.
        self.started = False

    @classmethod
    def from_settings(cls, settings: BaseSettings, story: str) -> Self | None:
        """None when the crawl is not shared (no ``STORYCRAWL_FRONTIER``)."""
        url = settings.get("STORYCRAWL_FRONTIER")
        if not url:
            return None
        lease = settings.getfloat("STORYCRAWL_REDIS_LEASE")
        if lease <= 0:
            raise ValueError("STORYCRAWL_REDIS_LEASE must be a positive number of seconds")
        prefix = settings.get("STORYCRAWL_REDIS_PREFIX") or f"storycrawl:{story}"
        return cls(redis_client(url), prefix, worker_name(), lease)

    def key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def trap_rules(self, max_per_site: int) -> TrapRules:
        """The story's per-site limits, counted crawl-wide."""
        from crawler.discovery.traps import TrapRules

        return TrapRules(
            max_per_site=max_per_site,
            _per_site=SharedCounts(self.client, self.key("traps:sites")),
            _queries=SharedSets(self.client, self.key("traps:queries")),
            _calendars=SharedCounts(self.client, self.key("traps:calendars")),
        )

    def now(self) -> float:
        seconds, micros = self.client.time()
        return seconds + micros / 1e6

    def one_at_a_time(self, what: str) -> Lock:
        """A lock the crawl's workers take in turn (held at most five minutes)."""
        return self.client.lock(self.key(f"lock:{what}"), timeout=300, blocking_timeout=300)

    # -- workers ---------------------------------------------------------------------------

    def register(self, warc_prefix: str) -> None:
        self.client.hset(self.key("warc-prefixes"), self.worker, warc_prefix)
        self.beat()

    def beat(self) -> None:
        """This worker is alive for another lease; the leader's claim too."""
        self.client.hset(self.key("workers"), self.worker, self.now() + self.lease)
        if self.leads:
            self.client.set(self.key("leader"), self.worker, ex=math.ceil(self.lease))

    def alive(self) -> list[str]:
        now = self.now()
        beats = self.client.hgetall(self.key("workers"))
        return [w.decode() for w, until in beats.items() if float(until) > now]

    def lead(self) -> bool:
        """Whether this worker leads the crawl: records it, fetches the seeds and queues the
        start requests. The first worker of a crawl leads, and clears what a crawl whose
        workers all died left in Redis (the next run resumes from the database)."""
        if self.client.exists(self.key("started")):
            return False
        if not self.client.set(self.key("leader"), self.worker, nx=True, ex=math.ceil(self.lease)):
            return False
        leader = self.key("leader").encode()
        stale = [k for k in self.client.scan_iter(match=f"{self.prefix}:*") if k != leader]
        if stale:
            self.client.delete(*stale)
        self.leads = self.started = True
        return True

    # -- the start of the crawl ---------------------------------------------------------------

    def add_seed(self, document: Document) -> None:
        self.client.rpush(self.key("seeds"), pickle.dumps(document))

    def announce(self, story_id: int, crawl_id: int, lock_holder: str) -> None:
        """The leader has recorded the crawl and queued the start requests: others join."""
        self.client.hset(
            self.key("started"),
            mapping={"story_id": story_id, "crawl_id": crawl_id, "lock_holder": lock_holder},
        )

    async def join(self, poll: float = 0.2) -> Joined:
        """Wait for the leader to start the crawl; FrontierUnavailable if it died first.
        (The leader's claim exists before anyone can fail to take it: see lead.)"""
        while not (started := self.client.hgetall(self.key("started"))):
            if not self.client.exists(self.key("leader")):
                raise FrontierUnavailable(
                    f"the worker leading the crawl under {self.prefix!r} stopped before it "
                    "started: run again"
                )
            await asyncio.sleep(poll)
        seeds = [pickle.loads(raw) for raw in self.client.lrange(self.key("seeds"), 0, -1)]
        self.started = True
        return Joined(int(started[b"story_id"]), int(started[b"crawl_id"]), seeds)

    # -- the end of the crawl ---------------------------------------------------------------

    def leave(self, figures: RunFigures) -> LastWorker | None:
        """Add this worker's figures and leave; the last worker alive gets what it needs
        to settle and close the crawl (once: a lock in Redis), and the crawl's keys go.
        None too when Redis is lost: the crawl stays open in the database, for the next run
        to resume."""
        import redis

        try:
            return self._leave(figures)
        except redis.RedisError:
            return None

    def _leave(self, figures: RunFigures) -> LastWorker | None:
        with self.client.pipeline() as pipe:
            for field in fields(RunFigures):
                pipe.hincrby(self.key("figures"), field.name, getattr(figures, field.name))
            pipe.hdel(self.key("workers"), self.worker)
            pipe.execute()
        if self.alive() or not self.client.set(self.key("settling"), self.worker, nx=True):
            return None
        totals = self.client.hgetall(self.key("figures"))
        prefixes = self.client.hgetall(self.key("warc-prefixes"))
        started = self.client.hgetall(self.key("started"))
        last = LastWorker(
            RunFigures(**{k.decode(): int(v) for k, v in totals.items()}),
            {k.decode(): v.decode() for k, v in prefixes.items()},
            started.get(b"lock_holder", self.worker.encode()).decode(),
        )
        stale = list(self.client.scan_iter(match=f"{self.prefix}:*"))
        if stale:
            self.client.delete(*stale)
        return last


def configure_worker(settings: BaseSettings) -> None:
    """The Scrapy settings of a shared crawl's worker (none when the crawl is not shared):
    the shared scheduler, the crawl-wide politeness, and WARC files named for this worker,
    whatever prefix the user gave (two workers must never write one file name)."""
    if not settings.get("STORYCRAWL_FRONTIER"):
        return
    settings.set("SCHEDULER", "crawler.distributed.scheduler.SharedScheduler", priority="spider")
    settings.set_in_component_priority_dict(
        "DOWNLOADER_MIDDLEWARES", "crawler.distributed.politeness.SharedPoliteness", 840
    )
    prefix = f"{settings.get('STORYCRAWL_WARC_PREFIX')}-{worker_name().replace(':', '-')}"
    priority = max(settings.getpriority("STORYCRAWL_WARC_PREFIX") or 0, 30)
    settings.set("STORYCRAWL_WARC_PREFIX", prefix, priority=priority)


def _or_nothing(ask: Callable[[], T], nothing: T) -> T:
    """Redis's answer; with Redis lost (the worker is stopping), no limit holds it back."""
    import redis

    try:
        return ask()
    except redis.RedisError:
        return nothing


class SharedCounts:
    """A counter of the crawl's (a Redis hash), as TrapRules reads and adds to it. Two
    workers counting at one instant may count once: a limit may let a page or two past."""

    def __init__(self, client: Redis, key: str):
        self.client = client
        self.key = key

    def __getitem__(self, name: object) -> int:
        return int(_or_nothing(lambda: self.client.hget(self.key, repr(name)), None) or 0)

    def __setitem__(self, name: object, value: int) -> None:
        _or_nothing(lambda: self.client.hset(self.key, repr(name), value), None)


class SharedSet:
    def __init__(self, client: Redis, key: str):
        self.client = client
        self.key = key

    def __contains__(self, item: str) -> bool:
        return bool(_or_nothing(lambda: self.client.sismember(self.key, item), False))

    def __len__(self) -> int:
        return _or_nothing(lambda: self.client.scard(self.key), 0)

    def add(self, item: str) -> None:
        _or_nothing(lambda: self.client.sadd(self.key, item), None)


class SharedSets:
    """Sets of the crawl's by name (one Redis set each), as TrapRules keeps its query
    strings per path: at most ``max_query_variants`` in each."""

    def __init__(self, client: Redis, prefix: str):
        self.client = client
        self.prefix = prefix

    def __getitem__(self, name: object) -> SharedSet:
        return SharedSet(self.client, f"{self.prefix}:{digest(repr(name)).hex()}")

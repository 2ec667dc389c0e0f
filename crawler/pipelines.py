"""Hands finished pages, and the frontier's changes, to archive/ for storage: in batches,
off the reactor thread. A batch that cannot be written stops the crawl
(crawler.storage_failure)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from typing import Self

from scrapy import Request, signals
from scrapy.crawler import Crawler
from twisted.internet import reactor

from archive.db.engine import StoreError
from archive.db.items import BatchItem, Decided, RunFigures
from archive.db.repository import Store
from archive.db.writer import BatchWriter
from archive.duplicates import mark_duplicates
from archive.urls import canonical
from crawler.archived import live_url
from crawler.config import Config
from crawler.reextract import Reextraction, reextract
from crawler.signals import run_started
from crawler.storage_failure import REASON, failed, stop_crawl
from crawler.units import IN_UNIT, queued_of

logger = logging.getLogger(__name__)
#: Crawls that end so are not settled: stopped by the user, or never started.
UNSETTLED = {"shutdown", "story_locked", "bad_seed", REASON}


class StorePipeline:
    def __init__(self, crawler: Crawler, config: Config):
        self.crawler = crawler
        self.config = config
        self.store: Store | None = None
        self.writer: BatchWriter | None = None
        self.crawl_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        pipeline = cls(crawler, crawler.spider.config)
        for handler, signal in (
            (pipeline.run_started, run_started),
            (pipeline.request_scheduled, signals.request_scheduled),
            (pipeline.spider_closed, signals.spider_closed),
        ):
            crawler.signals.connect(handler, signal=signal)
        return pipeline

    def run_started(self, story_id: int, crawl_id: int) -> None:
        self.store = self.crawler.spider.store
        self.crawl_id = crawl_id
        self.writer = BatchWriter(
            self.store, crawl_id, story_id, self.config.db_batch, self._write_failed
        )

    def _write_failed(self, error: StoreError) -> None:
        """Called on the writer's thread."""
        reactor.callFromThread(stop_crawl, self.crawler, str(error))

    # The frontier is kept in the database as it changes, so that a crawl stopped in any way,
    # SIGKILL included, resumes from it (see crawler.frontier).

    def request_scheduled(self, request: Request) -> None:
        if self.writer is None or "storycrawl_kind" not in request.meta:
            return
        if redirected_from := request.meta.get("redirect_urls"):
            # Scrapy's RedirectMiddleware made this request. Its source is settled (a run
            # resuming it is redirected again); the target is no frontier entry of its own,
            # and Scrapy's dupefilter may yet drop it (request_scheduled comes first).
            # A web archive's redirect between two captures of one URL is no redirect of it.
            target = live_url(request.url)
            for url in redirected_from:
                if canonical(live_url(url)) != canonical(target):
                    self.writer.add(
                        Decided(canonical(live_url(url)), "redirected", features={"to": target})
                    )
            return
        if not request.meta.get(IN_UNIT):  # a link's row is written with its page's
            self.writer.add(queued_of(request))

    async def process_item(self, item: BatchItem) -> BatchItem:
        """Pages (with their links) and the frontier decisions the spider yields, written in
        batches; a page's fetched state is never written apart from it (crawler.units)."""
        assert self.writer is not None
        sent = self.writer.add(item)
        if sent is not None:
            with contextlib.suppress(StoreError):  # the crawl is stopping: see _write_failed
                await asyncio.wrap_future(sent)
        return item

    def spider_closed(self, reason: str) -> None:
        # A signal handler, not close_spider: it runs after the engine's final stats are in.
        if self.writer is None or self.store is None or self.crawl_id is None:
            return  # the run never started
        try:
            self.writer.close()
            self._finish(reason)
        except StoreError as exc:
            stop_crawl(self.crawler, str(exc))  # only logs it: the crawl is closing
            logger.error("The crawl is left to resume: %s", exc)

    def _finish(self, reason: str) -> None:
        assert self.store is not None and self.crawl_id is not None
        story = self.crawler.spider.story
        if failed(self.crawler):
            reason = REASON
        stats = self.crawler.stats
        new_matches = self.crawler.spider.new_matches
        figures = RunFigures(
            pages_fetched=stats.get_value("storycrawl/run/fetched", 0),
            not_modified=stats.get_value("storycrawl/run/not_modified", 0),
            new_pages=stats.get_value("storycrawl/run/new", 0),
            changed_pages=stats.get_value("storycrawl/run/changed", 0),
            new_matches=len(new_matches),
        )
        shared = self.crawler.spider.shared
        if shared is not None:  # a crawl shared by several workers is closed by the last
            last = shared.leave(figures)
            if last is None:
                return
            figures = last.figures
            workers = " ".join(f"{w}={prefix}" for w, prefix in sorted(last.workers.items()))
            stats.set_value("storycrawl/workers", workers)  # worker=WARC prefix, in the crawl row
        settled = None
        if reason not in UNSETTLED and self.config.extract:
            settled = self._settle(story.name)
        # Settling marks the copies itself, on the verdicts it leaves.
        copies: set[str] = set()
        if reason != REASON:
            copies = settled.copies if settled else set(mark_duplicates(self.store, story.name))
        stats.set_value("storycrawl/duplicates", len(copies))
        if shared is None:
            # A new article found to be a copy is no new coverage: the run's new matches are
            # counted as `stories` and export count matches, without copies. (Workers of a
            # shared crawl add up their own counts.)
            figures = replace(figures, new_matches=len(new_matches - copies))
        stats.set_value("storycrawl/run/new_matches", figures.new_matches)
        plain = {k: v for k, v in stats.get_stats().items() if _jsonable(v)}
        self.store.finish_crawl(self.crawl_id, reason, plain, figures)
        if shared is not None:
            self.store.release_lock(story.name, last.lock_holder)

    def _settle(self, story: str) -> Reextraction | None:
        """Extract again the pages extracted before their outlet's site model was complete
        (an outlet's first pages have none): the corpus a crawl leaves has no chrome the
        crawl itself learned to remove."""
        try:
            done = reextract(
                self.store, self.config.warc_dir, story, self.config.threshold,
                self.config.extract_workers, stale_only=True,
            )  # fmt: skip
        except StoreError as exc:
            logger.warning("Pages not settled: %s", exc)
            return None
        self.crawler.stats.set_value("storycrawl/settled_pages", done.documents)
        return done


def _jsonable(value: object) -> bool:
    return isinstance(value, (int, float, str, bool))

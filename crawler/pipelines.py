"""Hands finished pages, and the frontier's changes, to archive/ for storage: in batches,
off the reactor thread."""

from __future__ import annotations

import asyncio
import logging
from typing import Self

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response

from archive.db.engine import StoreError
from archive.db.items import BatchItem, Decided, PageRecord, Queued, RunFigures
from archive.db.repository import Store
from archive.db.writer import BatchWriter
from archive.duplicates import mark_duplicates
from archive.urls import canonical
from crawler.config import Config
from crawler.reextract import Reextraction, reextract
from crawler.signals import run_started

logger = logging.getLogger(__name__)
#: Crawls that end so are not settled: stopped by the user, or never started.
UNSETTLED = {"shutdown", "story_locked", "bad_seed"}


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
            (pipeline.response_received, signals.response_received),
            (pipeline.spider_closed, signals.spider_closed),
        ):
            crawler.signals.connect(handler, signal=signal)
        return pipeline

    def run_started(self, story_id: int, crawl_id: int) -> None:
        self.store = self.crawler.spider.store
        self.crawl_id = crawl_id
        self.writer = BatchWriter(self.store, crawl_id, story_id, self.config.db_batch)

    # The frontier is kept in the database as it changes, so that a crawl stopped in any way,
    # SIGKILL included, resumes from it (see crawler.frontier).

    def request_scheduled(self, request: Request) -> None:
        if self.writer is None or not (kind := request.meta.get("storycrawl_kind")):
            return
        if redirected_from := request.meta.get("redirect_urls"):
            # Scrapy's RedirectMiddleware made this request. Its source is settled (a run
            # resuming it is redirected again); the target is no frontier entry of its own,
            # and Scrapy's dupefilter may yet drop it (request_scheduled comes first).
            for url in redirected_from:
                self.writer.add(Decided(canonical(url), "redirected", features={"to": request.url}))
            return
        # What the frontier row says of the link travels with the request this far and no
        # further: a broad crawl holds tens of thousands of requests in Scrapy's queue.
        queued = Queued(
            canonical(request.url), request.url, kind, request.priority,
            request.meta.get("depth", 0), request.meta.pop("storycrawl_score", None),
            request.meta.pop("storycrawl_features", None),
        )  # fmt: skip
        self.writer.add(queued)

    def response_received(self, response: Response, request: Request) -> None:
        if self.writer is not None and (kind := request.meta.get("storycrawl_kind")):
            self.writer.add(Decided(canonical(request.url), "fetched", url=request.url, kind=kind))

    async def process_item(self, item: BatchItem) -> BatchItem:
        """Pages and the frontier decisions the spider yields, written in batches."""
        assert self.writer is not None
        if isinstance(item, PageRecord):
            score = None if item.score is None else round(item.score, 4)
            self.writer.add(Decided(canonical(item.url), item.state, score, item.reasons or None))
        sent = self.writer.add(item)
        if sent is not None:
            await asyncio.wrap_future(sent)
        return item

    def spider_closed(self, reason: str) -> None:
        # A signal handler, not close_spider: it runs after the engine's final stats are in.
        if self.writer is None or self.store is None or self.crawl_id is None:
            return  # the run never started
        self.writer.close()
        story = self.crawler.spider.story
        stats = self.crawler.stats
        figures = RunFigures(
            pages_fetched=stats.get_value("storycrawl/run/fetched", 0),
            not_modified=stats.get_value("storycrawl/run/not_modified", 0),
            new_pages=stats.get_value("storycrawl/run/new", 0),
            changed_pages=stats.get_value("storycrawl/run/changed", 0),
            new_matches=stats.get_value("storycrawl/run/new_matches", 0),
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
        copies = settled.duplicates if settled else len(mark_duplicates(self.store, story.name))
        stats.set_value("storycrawl/duplicates", copies)
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

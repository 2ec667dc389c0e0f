"""Hands finished pages, and the frontier's changes, to archive/ for storage: in batches,
off the reactor thread."""

from __future__ import annotations

import asyncio
from typing import Self

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response

from archive.store import BatchWriter, Fetched, PageRecord, Queued, RunFigures, Store, open_engine
from crawler.config import Config
from crawler.urls import canonical


class StorePipeline:
    def __init__(self, crawler: Crawler, store: Store, batch_size: int):
        self.crawler = crawler
        self.store = store
        self.batch_size = batch_size
        self.writer: BatchWriter | None = None
        self.crawl_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        config = Config.from_settings(crawler.settings)
        pipeline = cls(crawler, Store(open_engine(config.db_url)), config.db_batch)
        for handler, signal in (
            (pipeline.request_scheduled, signals.request_scheduled),
            (pipeline.response_received, signals.response_received),
            (pipeline.spider_closed, signals.spider_closed),
        ):
            crawler.signals.connect(handler, signal=signal)
        return pipeline

    def open_spider(self) -> None:
        story = self.crawler.spider.story
        story_id = self.store.story_id(story.name, story.as_json())
        self.crawl_id = self.store.start_crawl(story_id, story.as_json())
        self.crawler.stats.set_value("storycrawl/crawl_id", self.crawl_id)
        self.writer = BatchWriter(self.store, self.crawl_id, story_id, self.batch_size)

    # The frontier is kept in the database as it changes, so that a crawl stopped in any way,
    # SIGKILL included, resumes from it (see crawler.incremental).

    def request_scheduled(self, request: Request) -> None:
        if self.writer is not None and (kind := request.meta.get("storycrawl_kind")):
            queued = Queued(
                canonical(request.url), request.url, kind, request.priority,
                request.meta.get("depth", 0),
            )  # fmt: skip
            self.writer.add(queued)

    def response_received(self, response: Response, request: Request) -> None:
        if self.writer is not None and request.meta.get("storycrawl_kind"):
            self.writer.add(Fetched(canonical(request.url)))

    async def process_item(self, item: PageRecord) -> PageRecord:
        assert self.writer is not None
        sent = self.writer.add(item)
        if sent is not None:
            await asyncio.wrap_future(sent)
        return item

    def spider_closed(self, reason: str) -> None:
        # A signal handler, not close_spider: it runs after the engine's final stats are in.
        if self.writer is None or self.crawl_id is None:
            return  # the crawl never opened
        self.writer.close()
        stats = self.crawler.stats
        figures = RunFigures(
            pages_fetched=stats.get_value("storycrawl/run/fetched", 0),
            not_modified=stats.get_value("storycrawl/run/not_modified", 0),
            new_pages=stats.get_value("storycrawl/run/new", 0),
            changed_pages=stats.get_value("storycrawl/run/changed", 0),
            new_matches=stats.get_value("storycrawl/run/new_matches", 0),
        )
        plain = {k: v for k, v in stats.get_stats().items() if _jsonable(v)}
        self.store.finish_crawl(self.crawl_id, reason, plain, figures)


def _jsonable(value: object) -> bool:
    return isinstance(value, (int, float, str, bool))

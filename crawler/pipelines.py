"""Hands finished pages to archive/ for storage, in batches, off the reactor thread."""

from __future__ import annotations

import asyncio
from typing import Self

from scrapy import signals
from scrapy.crawler import Crawler

from archive.store import BatchWriter, PageRecord, Store, open_engine
from crawler.config import Config


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
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        story = self.crawler.spider.story
        story_id = self.store.story_id(story.name, story.as_json())
        self.crawl_id = self.store.start_crawl(story_id, story.as_json())
        self.crawler.stats.set_value("storycrawl/crawl_id", self.crawl_id)
        self.writer = BatchWriter(self.store, self.crawl_id, story_id, self.batch_size)

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
        stats = {k: v for k, v in self.crawler.stats.get_stats().items() if _jsonable(v)}
        self.store.finish_crawl(self.crawl_id, reason, stats)


def _jsonable(value: object) -> bool:
    return isinstance(value, (int, float, str, bool))

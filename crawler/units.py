"""Page units: what a callback makes of one response is stored whole or not at all.

A callback yields the page's record, then requests for the links it follows and notes on
those it does not. Stored apart, in whatever batches they fell into, the page's new state
could commit while its links did not, and a resume would skip the page and lose all below
it. This spider middleware holds the record until its callback is done and hands it to
storage with its links (``PageRecord.links``), one item, written in one transaction; the
requests go on to the scheduler at once. A callback that meets a storage failure (the
database gone while it saved a site model) makes nothing, and stops the crawl.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from archive.db.engine import StoreError
from archive.db.items import Noted, PageRecord, Queued
from archive.urls import canonical
from crawler.archived import live_url
from crawler.storage_failure import stop_crawl

#: On a request whose frontier row its page's record carries: the pipeline writes no other.
IN_UNIT = "storycrawl_in_unit"


def queued_of(request: Request) -> Queued:
    """The frontier row of a request. What the link was scored on travels with the request
    this far and no further: a broad crawl holds tens of thousands of requests."""
    meta = request.meta
    url = live_url(request.url)  # a page asked of a web archive is known by its own URL
    return Queued(
        canonical(url), url, meta["storycrawl_kind"], request.priority,
        meta.get("depth", 0), meta.pop("storycrawl_score", None),
        meta.pop("storycrawl_features", None),
    )  # fmt: skip


class PageUnits:
    """Spider middleware; it sits next to the engine (after DepthMiddleware has dropped
    the requests too deep), so it sees the requests that are really scheduled."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_spider_input(self, response: Response) -> None:
        # The capture could not archive it (a full disk: the crawl is stopping). Neither the
        # callback nor the errback's verdict may store anything of it: the URL stays queued
        # for the resume (see process_spider_output).
        if "warc" not in response.meta:
            raise IgnoreRequest(f"{response.url} was not archived")

    def process_spider_exception(self, response: Response, exception: Exception) -> list | None:
        if isinstance(exception, StoreError):
            stop_crawl(self.crawler, str(exception))
            return []
        return None

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        record: PageRecord | None = None
        links: list[Queued | Noted] = []
        if "warc" not in response.meta:
            async for _item in result:
                pass
            return
        async for item in result:
            if isinstance(item, PageRecord) and record is None:
                record = item
                continue
            if isinstance(item, Noted):
                links.append(item)
                continue
            if isinstance(item, Request) and "storycrawl_kind" in item.meta:
                item.meta[IN_UNIT] = True
                links.append(queued_of(item))
            yield item
        if record is None:  # a seed that could not be read: its links stand alone
            for link in links:
                yield link
            return
        record.kind = response.meta.get("storycrawl_kind", record.kind)
        record.links = links
        yield record

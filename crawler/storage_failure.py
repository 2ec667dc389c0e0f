"""A crawl that cannot store what it fetches stops at once: every page fetched after a
disk filled up or the database went away would be lost, and fetched again by the resume.

Whatever part of the crawl meets the failure (the WARC capture, the batch writer) calls
:func:`stop_crawl`; the crawl closes with reason ``storage_failed``, the database keeps
whole pages only (each batch is one transaction), and `storycrawl crawl` ends with the
error on one line and exit status 2. The next run resumes the crawl.
"""

from __future__ import annotations

import logging

from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_from_coro

logger = logging.getLogger(__name__)

REASON = "storage_failed"
#: The stat holding the first failure's one-line description.
ERROR_STAT = "storycrawl/storage_error"


def stop_crawl(crawler: Crawler, error: str) -> None:
    """Close the crawl for a storage failure; later failures (the same cause, met by the
    pages still in flight) are not news."""
    if crawler.stats.get_value(ERROR_STAT):
        return
    crawler.stats.set_value(ERROR_STAT, error)
    logger.error("Storage failed, the crawl stops: %s", error)
    if crawler.engine is not None and crawler.engine.spider is not None:
        deferred_from_coro(crawler.engine.close_spider_async(reason=REASON))


def failed(crawler: Crawler) -> bool:
    return bool(crawler.stats.get_value(ERROR_STAT))

"""`--log-format json`: the crawl's log as one JSON object a line, for log collectors.

Scrapy builds its log handler itself, with a printf-style LOG_FORMAT, and builds it again
once the spider's settings are known, after the extensions. So the JSON is made where every
handler will find it: a log record factory gives each record a ``json`` attribute, and
LOG_FORMAT becomes ``%(json)s``. The extension changes both when STORYCRAWL_LOG_FORMAT is
``json``; Scrapy's settings are still open while extensions are built.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from collections.abc import Callable

    from scrapy.crawler import Crawler
    from scrapy.settings import Settings

FORMATS = ("text", "json")
JSON_LOG_FORMAT = "%(json)s"


def as_json(record: logging.LogRecord) -> str:
    """time (UTC, ISO 8601), level, logger and message; a traceback as ``exception``."""
    entry = {
        "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
        "level": record.levelname,
        "logger": record.name,
        "message": record.getMessage(),
    }
    if record.exc_info:
        entry["exception"] = logging.Formatter().formatException(record.exc_info)
    return json.dumps(entry, ensure_ascii=False)


def json_records(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    """A log record factory whose records carry their JSON line. The traceback is in it, so
    the record's own is dropped: a formatter would append it as lines of its own."""

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        record.json = as_json(record)
        record.exc_info = record.exc_text = None
        return record

    factory.json_records = True  # type: ignore[attr-defined]
    return factory


def apply_log_format(settings: Settings) -> bool:
    """Make the log JSON if STORYCRAWL_LOG_FORMAT says so (ValueError for an unknown
    format); whether it does. Called before the CrawlerProcess starts logging by
    `storycrawl crawl`, and by the extension for `scrapy crawl`."""
    fmt = settings.get("STORYCRAWL_LOG_FORMAT", "text")
    if fmt not in FORMATS:
        raise ValueError(f"STORYCRAWL_LOG_FORMAT must be text or json, not {fmt!r}")
    if fmt == "text":
        return False
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "json_records", False):
        logging.setLogRecordFactory(json_records(factory))
    settings.set("LOG_FORMAT", JSON_LOG_FORMAT, priority="cmdline")
    return True


class JsonLogs:
    """A Scrapy extension: STORYCRAWL_LOG_FORMAT = text (Scrapy's own) or json. Under
    `scrapy crawl`, the lines Scrapy logs before it builds extensions stay text."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not apply_log_format(crawler.settings):
            raise NotConfigured
        return cls()

"""What a crawl is doing, while it does it: pages fetched and queued, matches found, per
outlet, with the rate and the time elapsed.

On a terminal the figures are a rich table redrawn in place; elsewhere (cron, a pipe, a
log collector) a plain line every few seconds. Either goes to standard output, the crawl's
human channel: standard error is kept for the one line that says what went wrong, and
Scrapy's log goes to its file. Each judged article also gets one INFO line in that log
(URL, score, verdict), so a user can follow the judge's work with `tail -f`.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self, TextIO
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from archive.db.items import PageRecord

if TYPE_CHECKING:
    from rich.live import Live
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

MODES = ("auto", "live", "lines", "off")
#: How many outlets the progress shows, those with the most pages first.
OUTLETS_SHOWN = 8


@dataclass(frozen=True)
class Snapshot:
    """The crawl's figures at one moment."""

    elapsed: float
    fetched: int
    queued: int
    matches: int
    rate: float  # pages per second since the previous snapshot
    outlets: list[tuple[str, int, int]]  # name, pages fetched, matches

    def line(self) -> str:
        outlets = ", ".join(f"{name} {pages}/{found}" for name, pages, found in self.outlets)
        return (
            f"[{_clock(self.elapsed)}] {self.fetched} pages fetched ({self.rate:.1f}/s), "
            f"{self.queued} queued, {self.matches} matches"
            + (f"; outlets (pages/matches): {outlets}" if outlets else "")
        )


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}:{seconds:02d}"


class CrawlProgress:
    """A Scrapy extension: STORYCRAWL_PROGRESS = auto (live on a terminal, lines
    otherwise), live, lines or off; STORYCRAWL_PROGRESS_INTERVAL seconds between lines."""

    def __init__(self, crawler: Crawler, live: bool, interval: float, out: TextIO):
        self.crawler = crawler
        self.live = live
        self.interval = interval
        self.out = out
        self.started = time.monotonic()
        self._pages: Counter[str] = Counter()
        self._matches: Counter[str] = Counter()
        self._names: dict[str, str] = {}  # host -> site name, once a page gives it
        self._last = (self.started, 0)
        self._loop: task.LoopingCall | None = None
        self._display: Live | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        mode = crawler.settings.get("STORYCRAWL_PROGRESS", "auto")
        if mode not in MODES:
            raise ValueError(f"STORYCRAWL_PROGRESS must be one of {', '.join(MODES)}, not {mode!r}")
        if mode == "off":
            raise NotConfigured
        out = sys.stdout
        live = mode == "live" or (mode == "auto" and out.isatty())
        interval = crawler.settings.getfloat("STORYCRAWL_PROGRESS_INTERVAL", 5.0)
        if interval <= 0:
            raise ValueError("STORYCRAWL_PROGRESS_INTERVAL must be a positive number of seconds")
        extension = cls(crawler, live, 0.5 if live else interval, out)
        for handler, signal in (
            (extension.spider_opened, signals.spider_opened),
            (extension.spider_closed, signals.spider_closed),
            (extension.response_received, signals.response_received),
            (extension.item_scraped, signals.item_scraped),
        ):
            crawler.signals.connect(handler, signal=signal)
        return extension

    # -- signals ----------------------------------------------------------------------------

    def spider_opened(self) -> None:
        self.started = time.monotonic()
        self._last = (self.started, 0)
        if self.live:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.out)
            self._display = Live(self._table(self.snapshot()), console=console, auto_refresh=False)
            self._display.start()
        self._loop = task.LoopingCall(self.show)
        self._loop.start(self.interval, now=True)  # a first line at once

    def spider_closed(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self.show()
        if self._display is not None:
            self._display.stop()

    def response_received(self, response: Response, **_: Any) -> None:
        self._pages[urlsplit(response.url).netloc] += 1

    def item_scraped(self, item: Any, **_: Any) -> None:
        """A page stored: one log line for an article the judge weighed."""
        if not isinstance(item, PageRecord):
            return
        host = urlsplit(item.url).netloc
        if item.document is not None and item.document.sitename:
            self._names.setdefault(host, item.document.sitename)
        if item.score is None:
            return
        if item.is_match:
            self._matches[host] += 1
            verdict = "match"
        else:
            verdict = f"{item.state}: {item.reasons.get('rejected') or item.state}"
        logger.info("Judged %s: score %.2f, %s", item.url, item.score, verdict)

    # -- output -----------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        now = time.monotonic()
        stats = self.crawler.stats
        fetched = stats.get_value("response_received_count", 0)
        enqueued = stats.get_value("scheduler/enqueued", 0)
        dequeued = stats.get_value("scheduler/dequeued", 0)
        then, before = self._last
        rate = (fetched - before) / (now - then) if now > then else 0.0
        self._last = (now, fetched)
        outlets = [
            (self._names.get(host, host), pages, self._matches[host])
            for host, pages in self._pages.most_common(OUTLETS_SHOWN)
        ]
        return Snapshot(
            elapsed=now - self.started,
            fetched=fetched,
            queued=max(enqueued - dequeued, 0),
            matches=stats.get_value("storycrawl/matches", 0),
            rate=rate,
            outlets=outlets,
        )

    def show(self) -> None:
        snapshot = self.snapshot()
        if self._display is not None:
            self._display.update(self._table(snapshot), refresh=True)
        else:
            self.out.write(snapshot.line() + "\n")
            self.out.flush()

    def _table(self, snapshot: Snapshot) -> Any:
        from rich.table import Table

        story = getattr(self.crawler.spider, "story", None)
        name = getattr(story, "name", None) or "crawl"
        table = Table(
            title=f"{name}: {_clock(snapshot.elapsed)} elapsed, {snapshot.rate:.1f} pages/s",
            title_justify="left",
        )
        for column in ("outlet", "pages", "matches"):
            table.add_column(column, justify="left" if column == "outlet" else "right")
        for outlet, pages, found in snapshot.outlets:
            table.add_row(outlet, str(pages), str(found))
        table.add_section()
        table.add_row(
            f"all ({snapshot.queued} queued)", str(snapshot.fetched), str(snapshot.matches)
        )
        return table

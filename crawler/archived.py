"""Pages fetched from a web archive rather than from the live web.

A story from 2018 has lost pages since: moved, cut, or whole outlets gone. A story that
names web archives (``archives = ["wayback"]``) gets those pages from an archive's replay
URL in raw mode, ``{prefix}{timestamp}id_/{original URL}`` (the bytes as archived, no
rewriting; the Wayback Machine and pywb both serve it, and redirect to the nearest capture).

Everything after the download sees the original URL: :class:`ArchivedResponses`, the last
downloader middleware a response passes, gives the response the URL it had on the live web,
so the page is keyed, judged and its links resolved as the outlet's own page. The WARC
capture (crawler.capture) keeps the original URL as the record's target and names the
archive's capture in a metadata record; the page row and the export name it too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Self
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from archive.db.items import ArchivedFrom

#: A replay URL in raw mode: the archive's prefix, the capture's timestamp, the original.
_REPLAY = re.compile(r"^(?P<prefix>https?://.+?/)(?P<timestamp>\d{4,14})id_/(?P<url>https?://.+)$")


@dataclass(frozen=True)
class Replay:
    """Where to ask an archive for a URL: its replay prefix and the moment wanted."""

    archive: str  # as the story names it: "wayback", or the CDX server's URL
    prefix: str  # e.g. https://web.archive.org/web/
    timestamp: str  # 1 to 14 digits of YYYYMMDDhhmmss: the archive serves the nearest

    def url(self, original: str) -> str:
        return f"{self.prefix}{self.timestamp}id_/{original}"

    def at(self, timestamp: str) -> Replay:
        return Replay(self.archive, self.prefix, timestamp)


def live_url(url: str) -> str:
    """The original URL of a raw-mode replay URL; any other URL as it is."""
    match = _REPLAY.match(url)
    return match["url"] if match else url


def capture_of(response: Response, archive: str) -> ArchivedFrom | None:
    """The capture a replay response holds, dated by its Memento-Datetime (RFC 7089) or,
    failing that, by the timestamp of the URL the archive redirected to."""
    match = _REPLAY.match(response.url)
    if match is None:
        return None
    archived_at = None
    if memento := response.headers.get("Memento-Datetime"):
        try:
            archived_at = parsedate_to_datetime(memento.decode("latin-1"))
        except (TypeError, ValueError):
            archived_at = None
    if archived_at is None:
        digits = match["timestamp"].ljust(14, "0")
        archived_at = datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return ArchivedFrom(archive, response.url, archived_at.astimezone(UTC).replace(tzinfo=None))


class ArchivedResponses:
    """Gives a response from a web archive its original URL, and puts where it came from
    on ``request.meta["storycrawl_archived"]``.

    It runs last on the way back (the lowest order of all): the archive's own redirects,
    between captures, have been followed by then with the replay URLs they name.

    On the way out, it keeps AutoThrottle off the hosts whose delay the settings fix
    (``DOWNLOAD_SLOTS``: the Wayback Machine's documented rate limit), which AutoThrottle
    would otherwise shorten to what the host's latency allows."""

    def __init__(self, crawler: Crawler, fixed_delay_hosts: frozenset[str]):
        self.crawler = crawler
        self.fixed_delay_hosts = fixed_delay_hosts

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        spider = crawler.spider
        if spider is None or not getattr(spider.story, "archives", ()):
            raise NotConfigured("the story names no web archive")
        slots = crawler.settings.getdict("DOWNLOAD_SLOTS")
        return cls(crawler, frozenset(host for host, slot in slots.items() if "delay" in slot))

    def process_request(self, request: Request) -> None:
        if urlsplit(request.url).hostname in self.fixed_delay_hosts:
            request.meta["autothrottle_dont_adjust_delay"] = True

    def process_response(self, request: Request, response: Response) -> Response:
        replay: Replay | None = request.meta.get("storycrawl_replay")
        if replay is None:
            return response
        self.crawler.stats.inc_value(f"storycrawl/archived/{response.status}")
        if response.status == 200 and (capture := capture_of(response, replay.archive)):
            request.meta["storycrawl_archived"] = capture
        return response.replace(url=live_url(response.url))

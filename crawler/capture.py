"""WARC capture of every fetch: the request as sent, the response as received."""

from __future__ import annotations

import logging
import platform
import socket
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any, Self
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured, StopDownload
from scrapy.http import Headers, Response

from archive.db.engine import StoreError
from archive.db.items import ArchivedFrom, PageRecord
from archive.db.repository import Store
from archive.warc import (
    Exchange,
    Original,
    WarcRef,
    WarcWriter,
    WarcWriterConfig,
    payload_digest,
    warc_date,
)
from crawler import __version__
from crawler.archived import capture_of, live_url
from crawler.signals import run_started
from crawler.storage_failure import stop_crawl

logger = logging.getLogger(__name__)

CAPTURE_NOTE = (
    "HTTP bytes captured at Scrapy's response_downloaded signal: status, headers and body as "
    "received, the body with its Content-Encoding kept and its chunking removed by the "
    "client. Twisted drops the connection-control headers (Transfer-Encoding, Connection, "
    "Keep-Alive) before Scrapy sees them, so they are not recorded; a Content-Length that no "
    "longer matches the body (a truncated download) is kept as X-Crawler-Content-Length and a "
    "true Content-Length written. The request record holds the headers Scrapy sent, Host "
    "added when the client set it itself."
)


def header_pairs(headers: Headers) -> list[tuple[str, str]]:
    """Every header value, repeated names kept as separate lines."""
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in headers.items()
        for value in values
    ]


class WarcCapture:
    """Writes a response (or revisit) and a request record for every response downloaded,
    and a resource record with the cleaned text of every page stored.

    The hook is the ``response_downloaded`` signal, not a downloader middleware: there the
    body is still content-coded (HttpCompressionMiddleware has not run), and responses
    served from HttpCache, which sits in the middleware chain, are not mistaken for fetches.
    """

    def __init__(self, crawler: Crawler, config: WarcWriterConfig, dedup: bool, maxsize: int):
        self.crawler = crawler
        self.writer = WarcWriter(config, on_open=self._file_opened)
        self.crawl_id: int | None = None
        self.dedup = dedup
        self.maxsize = maxsize
        self.store: Store | None = None  # the digest index of earlier crawls, when dedup is on
        self._originals: dict[str, Original] = {}  # this crawl's digest index
        self._archived: frozenset[str] = frozenset()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if crawler.spider is None:  # a crawler made for its settings alone, never started
            raise NotConfigured("WARC capture archives a story crawl: no spider, no capture")
        config = crawler.spider.config
        info = {
            "software": f"storycrawl/{__version__} (Scrapy {version('scrapy')}, "
            f"warcio {version('warcio')}, trafilatura {version('trafilatura')})",
            "format": "WARC File Format 1.1",
            "hostname": socket.gethostname(),
            "python": platform.python_version(),
            "operator": config.operator,
            "story": crawler.spider.story.name if crawler.spider else "",
            "robots": "obey" if crawler.settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "http-header-user-agent": crawler.settings.get("USER_AGENT"),
            "capture": CAPTURE_NOTE,
        }
        writer_config = WarcWriterConfig(
            directory=config.warc_dir,
            prefix=config.warc_prefix,
            max_size=config.warc_max_size,
            info=info,
        )
        capture = cls(
            crawler, writer_config, config.dedup, crawler.settings.getint("DOWNLOAD_MAXSIZE")
        )
        for handler, signal in (
            (capture.spider_opened, signals.spider_opened),
            (capture.run_started, run_started),
            (capture.request_scheduled, signals.request_scheduled),
            (capture.bytes_received, signals.bytes_received),
            (capture.response_downloaded, signals.response_downloaded),
            (capture.item_scraped, signals.item_scraped),
            (capture.spider_closed, signals.spider_closed),
        ):
            crawler.signals.connect(handler, signal=signal)
        return capture

    def spider_opened(self) -> None:
        if self.dedup:
            self.store = self.crawler.spider.store
            # The digests earlier crawls archived, read once: most pages are new, and asking
            # the database about each (a query per response, on the reactor thread) costs.
            self._archived = self.store.response_digests()

    def run_started(self, story_id: int, crawl_id: int) -> None:
        self.crawl_id = crawl_id

    def _file_opened(self, name: str) -> None:
        """Each file is recorded with its crawl before it is written: a resume finishes
        from it what the crawl archived and did not store (crawler.replay)."""
        assert self.crawl_id is not None, "a crawl archives nothing before it starts"
        self.crawler.spider.store.add_warc_file(self.crawl_id, name)

    def request_scheduled(self, request: Request) -> None:
        # Scrapy cancels a download over DOWNLOAD_MAXSIZE and keeps nothing of it; the
        # capture stops it itself at that size instead (bytes_received), so what arrived is
        # archived, marked truncated. robots.txt, fetched unscheduled, keeps Scrapy's limit.
        request.meta["storycrawl_maxsize"] = request.meta.get("download_maxsize", self.maxsize)
        request.meta["download_maxsize"] = 0

    def bytes_received(self, data: bytes, request: Request) -> None:
        limit = request.meta.get("storycrawl_maxsize")
        if not limit:
            return
        received = request.meta["storycrawl_received"] = request.meta.get(
            "storycrawl_received", 0
        ) + len(data)
        if received > limit:
            request.meta["storycrawl_truncated"] = "length"
            raise StopDownload(fail=False)

    def response_downloaded(self, response: Response, request: Request) -> None:
        request_headers = header_pairs(request.headers)
        if not request.headers.get("Host"):
            request_headers.insert(0, ("Host", urlsplit(response.url).netloc))
        truncated = request.meta.get("storycrawl_truncated")
        if "dataloss" in response.flags:
            truncated = "disconnect"
        replay = request.meta.get("storycrawl_replay")
        exchange = Exchange(
            url=live_url(response.url) if replay else response.url,
            method=request.method,
            request_headers=request_headers,
            request_body=request.body,
            protocol=response.protocol or "HTTP/1.1",
            status=response.status,
            response_headers=header_pairs(response.headers),
            body=response.body,
            fetched_at=datetime.now(UTC),
            ip_address=str(response.ip_address) if response.ip_address else None,
            truncated=truncated,
            requested=response.url if replay else None,
        )
        previous = request.meta.get("storycrawl_previous")
        try:
            if exchange.status == 304 and previous is not None:
                ref = self.writer.write_exchange(exchange, previous, not_modified=True)
                original = previous
            else:
                original = self._original(exchange)
                ref = self.writer.write_exchange(exchange, original)
        except (OSError, StoreError) as exc:
            # Not archived: the response makes no page (crawler.units) and the crawl stops.
            stop_crawl(self.crawler, _storage_error(exc))
            return
        if original is None and ref.payload_digest and exchange.status == 200:
            self._originals.setdefault(
                ref.payload_digest,
                Original(exchange.url, warc_date(exchange.fetched_at), ref.record_id),
            )
        if replay and exchange.status == 200 and (capture := capture_of(response, replay.archive)):
            self._provenance(exchange, capture, ref)
        request.meta["warc"] = ref
        request.meta["fetched_at"] = exchange.fetched_at
        self.crawler.stats.inc_value(f"storycrawl/warc/{ref.rec_type}")

    def _provenance(self, exchange: Exchange, capture: ArchivedFrom, ref: WarcRef) -> None:
        """A metadata record naming the web archive's capture a page was fetched from."""
        fields = {
            "archive": capture.archive,
            "archive-url": capture.archive_url,
            "archived-at": warc_date(capture.archived_at),
        }
        self.writer.write_metadata(exchange.url, fields, ref.record_id, exchange.fetched_at)
        self.crawler.stats.inc_value("storycrawl/warc/metadata")

    def _original(self, exchange: Exchange) -> Original | None:
        """The earlier capture of the same payload, if this one should be a revisit: only
        whole, non-empty 200 responses, and never with dedup off."""
        if self.store is None or exchange.status != 200 or not exchange.body or exchange.truncated:
            return None
        digest = payload_digest(exchange.body)
        if digest in self._originals:
            return self._originals[digest]
        return self.store.original(digest) if digest in self._archived else None

    def item_scraped(self, item: Any) -> None:
        if isinstance(item, PageRecord) and item.document is not None:
            try:
                self.writer.write_text(
                    item.url, item.document.text, item.warc.record_id, item.fetched_at
                )
            except OSError as exc:
                stop_crawl(self.crawler, _storage_error(exc))
                return
            self.crawler.stats.inc_value("storycrawl/warc/resource")

    def spider_closed(self) -> None:
        try:
            self.writer.close()
        except OSError as exc:  # the file stays .open, the next run's recovery closes it
            stop_crawl(self.crawler, _storage_error(exc))


def _storage_error(exc: OSError | StoreError) -> str:
    if isinstance(exc, StoreError):
        return str(exc)
    return f"cannot write WARC file: {exc.strerror or exc}"

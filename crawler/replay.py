"""Finishing from the archive what an interrupted crawl fetched and never stored.

A response is archived before its page is stored (the WARC record at once, the page row
with its batch), so a crawl killed in between, or stopped by a failed batch, leaves
records without rows. A run resuming it reads those records back and answers the
requests for their URLs with them: the pages are stored and their links followed, and
nothing is fetched twice. Of several records of a URL the newest wins (by file, then
offset); a server error (5xx) is fetched again, as a retry would.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.timeutils import iso_date_to_datetime

from archive.db.repository import Store
from archive.urls import canonical
from archive.warc import StoredRecord, WarcRef, read_record
from crawler.signals import run_started

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unstored:
    """Where a record without a page row lives."""

    file: str
    offset: int


@dataclass
class Unfinished:
    """What interrupted crawls archived and did not store."""

    #: The newest unstored response or revisit record of each URL, by canonical URL.
    pages: dict[str, Unstored]
    #: Every response record read, by record id: the originals revisits refer to.
    responses: dict[str, Unstored]


def unfinished(store: Store, warc_dir: Path, crawl_ids: tuple[int, ...]) -> Unfinished:
    files = store.warc_files(crawl_ids)
    stored = store.stored_records(files)
    found = Unfinished({}, {})
    for name in files:
        path = warc_dir / name
        if not path.exists():  # never written, or set aside as corrupt by the recovery
            continue
        with open(path, "rb") as stream:
            iterator = ArchiveIterator(stream)
            try:
                for record in iterator:
                    offset = iterator.get_record_offset()
                    url = record.rec_headers.get_header("WARC-Target-URI") or ""
                    if record.rec_type == "response":
                        record_id = record.rec_headers.get_header("WARC-Record-ID")
                        found.responses[record_id] = Unstored(name, offset)
                    status = record.http_headers.get_statuscode() if record.http_headers else ""
                    if (
                        record.rec_type in ("response", "revisit")
                        and url.startswith("http")
                        and status.isdigit()
                        and int(status) < 500
                        and (name, offset) not in stored
                    ):
                        found.pages[canonical(url)] = Unstored(name, offset)
            except ArchiveLoadFailed as exc:  # the recovery left whole records only
                logger.warning("Replay stops reading %s: %s", name, exc)
    return found


class WarcReplay:
    """Downloader middleware: answers a request from the record an interrupted crawl left
    unstored, if there is one; the request never reaches the network."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self._unfinished = Unfinished({}, {})

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        replay = cls(crawler)
        crawler.signals.connect(replay.run_started, signal=run_started)
        return replay

    def run_started(self, story_id: int, crawl_id: int) -> None:
        spider = self.crawler.spider
        resumes = spider.frontier.history.resumes
        if resumes:
            self._unfinished = unfinished(spider.store, spider.config.warc_dir, resumes)
            pages = len(self._unfinished.pages)
            self.crawler.stats.set_value("storycrawl/replay/unstored", pages)

    def process_request(self, request: Request) -> Response | None:
        if not self._unfinished.pages:
            return None
        found = self._unfinished.pages.pop(canonical(request.url), None)
        if found is None:
            return None
        spider = self.crawler.spider
        record = read_record(spider.config.warc_dir / found.file, found.offset)
        payload = self._payload(spider.store, record)
        if payload is None:
            return None  # its original is gone: fetched again
        headers = record.warc_headers
        request.meta["warc"] = WarcRef(
            found.file, found.offset, record.length, record.record_id,
            headers.get_header("WARC-Payload-Digest"), record.rec_type,
        )  # fmt: skip
        request.meta["fetched_at"] = iso_date_to_datetime(headers.get_header("WARC-Date"))
        if truncated := headers.get_header("WARC-Truncated"):
            request.meta["storycrawl_truncated"] = truncated
        self.crawler.stats.inc_value("storycrawl/replay/pages")
        return _response(request, record, payload)

    def _payload(self, store: Store, record: StoredRecord) -> bytes | None:
        """The body the record stands for: its own, or a revisit's original's."""
        if record.rec_type != "revisit" or record.http_headers is None:
            return record.payload
        if record.http_headers.get_statuscode() == "304":
            return b""
        refers_to = record.warc_headers.get_header("WARC-Refers-To") or ""
        original = self._unfinished.responses.get(refers_to)
        if original is None and (page := store.page_of_record(refers_to)):
            original = Unstored(page.warc_file, page.warc_offset)
        if original is None:
            return None
        warc_dir = self.crawler.spider.config.warc_dir
        return read_record(warc_dir / original.file, original.offset).payload


def _response(request: Request, record: StoredRecord, payload: bytes) -> Response:
    """The response as it was received: status, headers and the body still content-coded
    (HttpCompressionMiddleware decodes it, as it did the first time)."""
    assert record.http_headers is not None
    headers = Headers()
    for name, value in record.http_headers.headers:
        headers.appendlist(name, value)
    kind = responsetypes.from_args(headers=headers, url=request.url)
    return kind(
        url=record.url,
        status=int(record.http_headers.get_statuscode()),
        headers=headers,
        body=payload,
        request=request,
        flags=["replayed"],
        protocol=record.http_headers.protocol,
    )

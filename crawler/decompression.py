"""Decompression within a limit, during the download and after it.

Scrapy's HttpCompressionMiddleware takes its decompression limit from the request's
``download_maxsize``, which the WARC capture sets to 0 (unlimited) to cut oversized bodies
itself (see crawler.capture): a 2.7 MB gzip bomb then inflated to 1.1 GB in memory. This
middleware takes its place with a limit of its own, STORYCRAWL_MAX_DECODED_SIZE, applied
twice:

- as the coded bytes arrive (``headers_received``/``bytes_received``), their decoded size
  is counted, and a body that decodes past the limit stops downloading there: the capture
  archives what arrived, marked ``WARC-Truncated: length``, so the page is stored (never
  fetched again on resume) and never extracted;
- when the response is decoded, at most the limit is inflated, whatever arrived.

Only codings with a bounded decoder (archive.coding) are advertised and decoded; a body in
another coding is left coded.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import Self
from weakref import WeakKeyDictionary

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured, StopDownload
from scrapy.http import Headers, Response, TextResponse
from scrapy.responsetypes import responsetypes

from archive.coding import ACCEPTED, SizeMeter, UnsupportedCoding, codings_of, decode

logger = logging.getLogger(__name__)

#: Where a response's bodies that decoded past the limit are marked, for the capture and
#: the spider (the same key as a body cut on the wire).
TRUNCATED = "storycrawl_truncated"


def _codings(headers: Headers) -> list[str]:
    return codings_of(value.decode("latin-1") for value in headers.getlist("Content-Encoding"))


class BoundedDecompression:
    """Decodes gzip, deflate, zstd (and Brotli where bounded) responses, never past
    STORYCRAWL_MAX_DECODED_SIZE bytes; stops a download whose body would decode past it."""

    def __init__(self, crawler: Crawler, limit: int):
        self.crawler = crawler
        self.limit = limit
        self.accept = ", ".join(ACCEPTED).encode()
        # One meter per download in flight, gone with its request.
        self._meters: WeakKeyDictionary[Request, SizeMeter] = WeakKeyDictionary()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("COMPRESSION_ENABLED"):
            raise NotConfigured
        middleware = cls(crawler, crawler.settings.getint("STORYCRAWL_MAX_DECODED_SIZE"))
        crawler.signals.connect(middleware.headers_received, signal=signals.headers_received)
        crawler.signals.connect(middleware.bytes_received, signal=signals.bytes_received)
        return middleware

    def process_request(self, request: Request) -> None:
        request.headers.setdefault("Accept-Encoding", self.accept)

    def headers_received(self, headers: Headers, request: Request) -> None:
        codings = _codings(headers)
        if codings and request.method != "HEAD":
            with suppress(UnsupportedCoding):  # left coded: the download's size limit holds
                self._meters[request] = SizeMeter(codings, self.limit)

    def bytes_received(self, data: bytes, request: Request) -> None:
        meter = self._meters.get(request)
        if meter is not None and meter.over_limit(data):
            del self._meters[request]
            request.meta[TRUNCATED] = "length"
            self.crawler.stats.inc_value("storycrawl/decompression/over_limit")
            logger.warning(
                "Stopped %s: its body decodes to more than %d bytes", request.url, self.limit
            )
            raise StopDownload(fail=False)

    def process_response(self, request: Request, response: Response) -> Response:
        self._meters.pop(request, None)
        codings = _codings(response.headers)
        if request.method == "HEAD" or not codings:
            return response
        try:
            decoded = decode(response.body, codings, self.limit)
        except UnsupportedCoding as exc:
            logger.warning("%s: %s", response.url, exc)
            return response
        if decoded.over_limit and request.meta.get(TRUNCATED) != "length":
            # Counted once: a download the meter stopped decodes past the limit too.
            request.meta[TRUNCATED] = "length"
            self.crawler.stats.inc_value("storycrawl/decompression/over_limit")
        headers = response.headers.copy()
        del headers["Content-Encoding"]
        kind = responsetypes.from_args(headers=headers, url=response.url, body=decoded.body)
        kwargs = {"encoding": None} if issubclass(kind, TextResponse) else {}
        return response.replace(cls=kind, body=decoded.body, headers=headers, **kwargs)

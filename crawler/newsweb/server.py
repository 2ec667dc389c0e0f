"""Serving the news web: one threaded HTTP/1.1 server per outlet on its own loopback IP.

The servers behave like real news web servers in the ways a crawler notices:
keep-alive, gzip on request, chunked transfer on one outlet, validators and 304s on
articles, redirects to the trailing-slash form, robots-disallowed print and search
pages, and 404 pages dressed in the outlet's chrome. Every GET and HEAD is recorded
so that tests can check what a crawler actually fetched.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import socket
import socketserver
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, unquote, urlsplit

from .outlets import OUTLETS, Article, Outlet, article_path, load_articles
from .render import HTML_TYPE, Page, Site

CHUNK_SIZE = 1024  # small enough that every page, even gzipped, goes out in several chunks


@dataclass(frozen=True)
class Served:
    """One request as the web saw it; header names are normalised to Title-Case."""

    outlet: str
    method: str
    path_with_query: str
    headers: dict[str, str]
    status: int


@dataclass(frozen=True)
class _Response:
    status: int
    page: Page
    headers: dict[str, str] = field(default_factory=dict)


class _OutletServer(ThreadingHTTPServer):
    """An outlet's server; it remembers its open connections so stop() can cut them."""

    daemon_threads = True
    site: Site  # set by NewsWeb once every outlet's base URL is known

    def __init__(self, outlet: Outlet, record: Callable[[Served], None], port: int) -> None:
        self.outlet = outlet
        self.record = record
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__((outlet.ip, port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would look up the IP's host name, which can hang offline.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request: socket.socket, client_address: tuple[str, int]) -> None:  # type: ignore[override]
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake handler threads idling on keep-alive connections so they end."""
        with self._open_lock:
            for connection in self._open:
                with contextlib.suppress(OSError):  # already closed by the client
                    connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: object, client_address: object) -> None:
        # A client hanging up mid-response is normal for a web server; anything else is a bug.
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections are dropped after this many seconds
    disable_nagle_algorithm = True  # else headers and body, written apart, wait 40 ms for an ACK
    server: _OutletServer

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def version_string(self) -> str:
        return "nginx"

    def log_message(self, format: str, *args: object) -> None:
        """Silent: NewsWeb.requests is the log."""

    def _respond(self, send_body: bool) -> None:
        status, headers, body = self._response()
        request_headers = {
            "-".join(part.capitalize() for part in name.split("-")): value
            for name, value in self.headers.items()
        }
        served = Served(self.server.outlet.key, self.command, self.path, request_headers, status)
        self.server.record(served)  # before replying, so a client never sees an unlogged response
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not send_body or not body:
            return
        if headers.get("Transfer-Encoding") == "chunked":
            for start in range(0, len(body), CHUNK_SIZE):
                piece = body[start : start + CHUNK_SIZE]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)

    def _response(self) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for the request: validators, gzip, framing."""
        response = _route(self.server.site, self.path)
        status, headers, page = response.status, dict(response.headers), response.page
        body = page.body
        is_html = page.content_type == HTML_TYPE
        headers["Content-Type"] = page.content_type
        if is_html:
            headers["Vary"] = "Accept-Encoding"
        if status == 200 and page.modified:
            headers["Last-Modified"] = format_datetime(page.modified.astimezone(UTC), usegmt=True)
            headers["ETag"] = f'W/"{page.etag or hashlib.sha1(body).hexdigest()[:16]}"'
            if _not_modified(self.headers, headers["ETag"], page.modified):
                return 304, headers, b""
        if is_html and _accepts_gzip(self.headers.get("Accept-Encoding", "")):
            body = gzip.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
        if self.server.outlet.chunked and is_html and self.request_version == "HTTP/1.1":
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Content-Length"] = str(len(body))
        return status, headers, body


def _route(site: Site, target: str) -> _Response:
    url = urlsplit(target)
    path = unquote(url.path)
    if page := site.pages.get(path):
        return _Response(200, page)
    if path == "/search":
        return _Response(200, site.search(parse_qs(url.query).get("q", [""])[0]))
    if path + "/" in site.pages:
        location = site.absolute(path + "/") + (f"?{url.query}" if url.query else "")
        moved = Page(
            b'<html><body><a href="%s">Moved Permanently</a></body></html>' % location.encode()
        )
        return _Response(301, moved, {"Location": location})
    return _Response(404, site.not_found())


def _not_modified(request: Message, etag: str, modified: datetime) -> bool:
    """Conditional GET as RFC 9110 orders it: If-None-Match wins over If-Modified-Since."""
    if (if_none_match := request.get("If-None-Match")) is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag.removeprefix("W/") in tags
    if (if_modified_since := request.get("If-Modified-Since")) is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        return since.tzinfo is not None and modified.replace(microsecond=0) <= since
    return False


def _accepts_gzip(accept_encoding: str) -> bool:
    for coding in accept_encoding.split(","):
        name, _, params = coding.partition(";")
        if name.strip().lower() == "gzip":
            return params.replace(" ", "") not in {"q=0", "q=0.0", "q=0.00", "q=0.000"}
    return False


class NewsWeb:
    """The whole news web: every outlet served on its loopback IP, on a port of its own.

    Use as a context manager (or call start() and stop()). Ports are bound to 0 and
    read back, so several webs can run at once and no port can be stolen in between;
    the demo asks for a fixed port, so that its URLs, and its archive, stay the same
    from one run to the next.
    """

    def __init__(self, articles: Sequence[Article] | None = None, port: int = 0) -> None:
        self.port = port
        self.articles: list[Article] = list(articles) if articles is not None else load_articles()
        self._by_id = {article.id: article for article in self.articles}
        self._servers: list[_OutletServer] = []
        self._threads: list[threading.Thread] = []
        self._base_urls: dict[str, str] = {}
        self._served: list[Served] = []
        self._served_lock = threading.Lock()

    def start(self) -> NewsWeb:
        if self._servers:
            raise RuntimeError("the news web is already running")
        servers: list[_OutletServer] = []
        try:
            for outlet in OUTLETS.values():
                servers.append(_OutletServer(outlet, self._record, self.port))
            base_urls = {s.outlet.key: f"http://{s.outlet.ip}:{s.server_port}/" for s in servers}
            for server in servers:
                server.site = Site(server.outlet, self.articles, base_urls)
        except BaseException:
            for server in servers:
                server.server_close()
            raise
        self._servers, self._base_urls = servers, base_urls
        for server in servers:
            thread = threading.Thread(
                target=server.serve_forever, name=f"newsweb-{server.outlet.key}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def publish(self, articles: Sequence[Article]) -> None:
        """Replace the web's articles while it runs: new ones appear on home, section and
        tag pages, feeds and sitemaps; a changed one gets a new ETag and Last-Modified."""
        self.articles = list(articles)
        self._by_id = {article.id: article for article in self.articles}
        for server in self._servers:
            server.site = Site(server.outlet, self.articles, self._base_urls)

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
        for server in self._servers:
            server.close_connections()
            server.server_close()
        for thread in self._threads:
            thread.join()
        self._servers, self._threads, self._base_urls = [], [], {}

    def __enter__(self) -> NewsWeb:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_urls(self) -> dict[str, str]:
        """Outlet key -> "http://127.0.0.N:PORT/", in OUTLETS order."""
        if not self._base_urls:
            raise RuntimeError("the news web is not running")
        return dict(self._base_urls)

    def url(self, article_id: str) -> str:
        """Absolute URL of an article's page."""
        article = self._by_id[article_id]
        return self.base_urls[article.outlet] + article_path(article).lstrip("/")

    @property
    def requests(self) -> list[Served]:
        """Every request served so far, oldest first (a copy, safe to keep)."""
        with self._served_lock:
            return list(self._served)

    def _record(self, served: Served) -> None:
        with self._served_lock:
            self._served.append(served)

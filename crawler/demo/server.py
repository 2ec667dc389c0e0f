"""Serving the news web: one threaded HTTP/1.1 server per outlet on its own loopback IP.

The servers behave like real news web servers in the ways a crawler notices:
keep-alive, gzip on request, chunked transfer on one outlet, validators and 304s on
articles, redirects to the trailing-slash form and from articles' old URLs, search
pages (and on most outlets print pages) disallowed to robots, and 404 pages dressed
in the outlet's chrome. They misbehave as real ones do too (outlets.py says which
outlet does what): a page that fails once with a 500, a slow page, session ids
minted anew in every response's links, a calendar and a filtered listing without end.

Every GET and HEAD is recorded, with what kind of page it reached and which
article, so that tests and benchmarks can check what a crawler actually fetched;
NewsWeb also gives the ground truth to score a crawl against (story URLs,
syndicated copies, article count, robots.txt rules).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import re
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from email.message import Message
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, unquote, urlsplit

from .outlets import OUTLETS, REAL_DELAYS, Article, Delays, Outlet, article_path, load_articles
from .render import SESSION_MARK, Page, PageKind, Site

CHUNK_SIZE = 1024  # small enough that every page, even gzipped, goes out in several chunks
#: How often a server looks for a stop request: stop() waits this long per outlet.
POLL_SECONDS = 0.1
SESSION_PARAMETER = re.compile(r";jsessionid=[^/?#]*", re.IGNORECASE)
CALENDAR_DAY = re.compile(r"/archive/(\d{4})/(\d{2})/(\d{2})/")
SERVER_ERROR = (
    b"<html><head><title>500 Internal Server Error</title></head><body>"
    b"<center><h1>500 Internal Server Error</h1></center><hr><center>nginx</center>"
    b"</body></html>"
)


@dataclass(frozen=True)
class Served:
    """One request as the web saw it; header names are normalised to Title-Case.

    `kind` says what the request reached (an article, a variant of one such as its
    print or AMP copy or old URL, a listing, a feed...: render.PageKind) and
    `article_id` which article, if any: enough to count the requests per article.
    """

    outlet: str
    method: str
    path_with_query: str
    headers: dict[str, str]
    status: int
    kind: PageKind | None = None  # None when made outside the web, as tests do
    article_id: str | None = None
    at: float = 0.0  # time.monotonic() when served: the gaps a site's Crawl-delay asks for


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
        self.closing = threading.Event()  # cuts a slow page's wait short on stop()
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self._sessions = 0
        self._failed: set[str] = set()
        self._state_lock = threading.Lock()
        super().__init__((outlet.ip, port), _Handler)

    def new_session_id(self) -> str:
        """A session id like a servlet container's, new for every response; counted, not
        random, so that a run of the web is repeatable."""
        with self._state_lock:
            self._sessions += 1
            count = self._sessions
        return hashlib.sha256(f"{self.outlet.key}/{count}".encode()).hexdigest()[:32].upper()

    def first_failure(self, article_id: str) -> bool:
        """Whether this GET of a fail-once article is its first in this server's lifetime,
        the one that fails."""
        with self._state_lock:
            first = article_id not in self._failed
            self._failed.add(article_id)
        return first

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
        status, headers, body, page = self._response()
        request_headers = {
            "-".join(part.capitalize() for part in name.split("-")): value
            for name, value in self.headers.items()
        }
        served = Served(
            self.server.outlet.key,
            self.command,
            self.path,
            request_headers,
            status,
            page.kind,
            page.article_id,
            time.monotonic(),
        )
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

    def _response(self) -> tuple[int, dict[str, str], bytes, Page]:
        """Status, headers and body for the request, and the page it reached: quirks,
        validators, session ids, gzip, framing."""
        response = self._misbehaving(_route(self.server.site, self.path))
        status, headers, page = response.status, dict(response.headers), response.page
        body = page.body
        is_html = page.content_type.startswith("text/html")
        headers["Content-Type"] = page.content_type
        if is_html:
            headers["Vary"] = "Accept-Encoding"
        if status == 200 and page.modified:
            headers["Last-Modified"] = format_datetime(page.modified.astimezone(UTC), usegmt=True)
            headers["ETag"] = f'W/"{page.etag or hashlib.sha1(body).hexdigest()[:16]}"'
            if _not_modified(self.headers, headers["ETag"], page.modified):
                return 304, headers, b"", page
        if is_html and self.server.outlet.session_ids:
            body = body.replace(SESSION_MARK.encode(), self.server.new_session_id().encode())
        if is_html and _accepts_gzip(self.headers.get("Accept-Encoding", "")):
            body = gzip.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
        if self.server.outlet.chunked and is_html and self.request_version == "HTTP/1.1":
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Content-Length"] = str(len(body))
        return status, headers, body, page

    def _misbehaving(self, response: _Response) -> _Response:
        """The response as the page's quirks make it: late, or a 500 the first time."""
        page = response.page
        if "slow" in page.quirks:
            self.server.closing.wait(self.server.site.delays.slow_page)
        if (
            "fails-once" in page.quirks
            and self.command == "GET"
            and self.server.first_failure(page.article_id or "")
        ):
            return _Response(
                500, replace(page, body=SERVER_ERROR, modified=None, quirks=frozenset())
            )
        return response


def _route(site: Site, target: str) -> _Response:
    url = urlsplit(target)
    path = unquote(url.path)
    if site.outlet.session_ids:
        path = SESSION_PARAMETER.sub("", path)
    if page := site.pages.get(path):
        return _Response(200, page)
    if article := site.moved.get(path):
        return _moved(site.article_url(article), "moved", article.id)
    if path == "/search":
        return _Response(200, site.search(parse_qs(url.query).get("q", [""])[0]))
    if path == "/latest/" and site.outlet.filters:
        return _Response(200, site.filtered(url.query))
    if site.outlet.calendar and (day := _calendar_day(path)):
        return _Response(200, site.calendar_day(day))
    if path + "/" in site.pages:
        location = site.absolute(path + "/") + (f"?{url.query}" if url.query else "")
        return _moved(location, "redirect")
    return _Response(404, site.not_found())


def _moved(location: str, kind: PageKind, article_id: str | None = None) -> _Response:
    body = b'<html><body><a href="%s">Moved Permanently</a></body></html>' % location.encode()
    page = Page(body, kind=kind, article_id=article_id)
    return _Response(301, page, {"Location": location})


def _calendar_day(path: str) -> date | None:
    if not (match := CALENDAR_DAY.fullmatch(path)):
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:  # 2018/02/30: no such day, a 404
        return None


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
    from one run to the next. ``delays`` say how long it keeps a crawler waiting.
    """

    def __init__(
        self,
        articles: Sequence[Article] | None = None,
        port: int = 0,
        delays: Delays = REAL_DELAYS,
    ) -> None:
        self.port = port
        self.delays = delays
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
                server.site = Site(server.outlet, self.articles, base_urls, self.delays)
        except BaseException:
            for server in servers:
                server.server_close()
            raise
        self._servers, self._base_urls = servers, base_urls
        for server in servers:
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": POLL_SECONDS},
                name=f"newsweb-{server.outlet.key}",
                daemon=True,
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
            server.site = Site(server.outlet, self.articles, self._base_urls, self.delays)

    def stop(self) -> None:
        for server in self._servers:
            server.closing.set()
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

    # -- ground truth, to score a crawl against ---------------------------------------

    def story_urls(self) -> set[str]:
        """The canonical URLs of the story's articles: originals only, so no syndicated
        copy, and no variant (print, AMP, old URL, URL with tracking or session id)."""
        return {
            self.url(a.id) for a in self.articles if a.label == "story" and not a.syndicated_from
        }

    def neighbour_urls(self) -> set[str]:
        """The canonical URLs of the story's hard neighbours: the same system or the same
        row elsewhere (Aegis Ashore in Poland, the INF treaty), not the story."""
        return {
            self.url(a.id)
            for a in self.articles
            if a.label == "neighbour" and not a.syndicated_from
        }

    def syndicated_urls(self) -> dict[str, str]:
        """Each syndicated copy's URL -> the URL of the original it republishes."""
        return {
            self.url(a.id): self.url(a.syndicated_from) for a in self.articles if a.syndicated_from
        }

    @property
    def article_count(self) -> int:
        """How many article pages the web has: one per article, syndicated copies
        included (each is a page of its own), however many URLs reach it."""
        return len(self.articles)

    @staticmethod
    def robots_disallowed() -> dict[str, tuple[str, ...]]:
        """Outlet key -> the path prefixes its robots.txt disallows to every agent."""
        return {key: outlet.robots_disallowed for key, outlet in OUTLETS.items()}

    @staticmethod
    def violates_robots(served: Served) -> bool:
        """Whether a request was for a path its outlet's robots.txt disallows."""
        return served.path_with_query.startswith(OUTLETS[served.outlet].robots_disallowed)

    @property
    def requests(self) -> list[Served]:
        """Every request served so far, oldest first (a copy, safe to keep)."""
        with self._served_lock:
            return list(self._served)

    def _record(self, served: Served) -> None:
        with self._served_lock:
            self._served.append(served)

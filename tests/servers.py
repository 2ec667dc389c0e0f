"""Small loopback HTTP servers for tests: routes named for the behaviour they produce."""

from __future__ import annotations

import gzip
import socketserver
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    chunk_size: int = 0  # > 0: sent with Transfer-Encoding: chunked, in chunks this large
    cut_at: int | None = None  # send this many body bytes of the announced length, then hang up
    pieces: int = 1  # the body written in this many pieces ...
    pause: float = 0.0  # ... with this many seconds between them: a slow server


def page(html: str, headers: tuple[tuple[str, str], ...] = ()) -> Callable[[], Reply]:
    return lambda: Reply(headers=[("Content-Type", "text/html; charset=utf-8"), *headers],
                         body=html.encode())  # fmt: skip


def gzipped(html: str) -> Callable[[], Reply]:
    """The page sent gzip-encoded whatever the client asked: what many servers do."""
    return lambda: Reply(
        headers=[("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")],
        body=gzip.compress(html.encode(), mtime=0),
    )


def chunked(html: str, chunk_size: int = 1000) -> Callable[[], Reply]:
    """The page sent with Transfer-Encoding: chunked, in several real chunks."""
    return lambda: Reply(headers=[("Content-Type", "text/html; charset=utf-8")],
                         body=html.encode(), chunk_size=chunk_size)  # fmt: skip


def redirect(location: str) -> Callable[[], Reply]:
    return lambda: Reply(302, [("Location", location)])


def status(code: int, html: str) -> Callable[[], Reply]:
    return lambda: Reply(code, [("Content-Type", "text/html; charset=utf-8")], html.encode())


def binary(content_type: str, data: bytes) -> Callable[[], Reply]:
    return lambda: Reply(headers=[("Content-Type", content_type)], body=data)


def drop_mid_body(html: str, sent: int) -> Callable[[], Reply]:
    """Announces the whole page's Content-Length, sends its first ``sent`` bytes, hangs up."""
    return lambda: Reply(headers=[("Content-Type", "text/html; charset=utf-8")],
                         body=html.encode(), cut_at=sent)  # fmt: skip


def slow(html: str, pieces: int, pause: float) -> Callable[[], Reply]:
    """The page trickled out in ``pieces`` parts ``pause`` seconds apart: bounded slowness."""
    return lambda: Reply(headers=[("Content-Type", "text/html; charset=utf-8")],
                         body=html.encode(), pieces=pieces, pause=pause)  # fmt: skip


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the address's host name, which can hang offline.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request: object, client_address: object) -> None:
        # A client hanging up mid-response (a killed crawl) is normal; anything else is a bug.
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class LoopbackServer:
    """Serves fixed routes on a loopback address and port 0; records every path requested
    (when the request arrives) and answered (when the last byte of the reply is sent)."""

    def __init__(self, host: str, routes: dict[str, Callable[[], Reply]]):
        self.routes = routes
        self.requested: list[str] = []
        self.arrived: list[float] = []  # time.monotonic() of each request, as requested
        self.answered: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                server.requested.append(self.path)
                server.arrived.append(time.monotonic())
                route = server.routes.get(self.path)
                reply = route() if route else Reply(404, body=b"not found")
                self.send_response(reply.status)
                for name, value in reply.headers:
                    self.send_header(name, value)
                if reply.chunk_size:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if reply.chunk_size:
                    for start in range(0, len(reply.body), reply.chunk_size):
                        piece = reply.body[start : start + reply.chunk_size]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\n\r\n")
                elif reply.cut_at is not None:
                    self.wfile.write(reply.body[: reply.cut_at])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                else:
                    step = max(1, -(-len(reply.body) // reply.pieces))
                    for start in range(0, len(reply.body), step):
                        if start:
                            time.sleep(reply.pause)
                        self.wfile.write(reply.body[start : start + step])
                        self.wfile.flush()
                server.answered.append(self.path)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = _Server((host, 0), Handler)
        self.url = f"http://{host}:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

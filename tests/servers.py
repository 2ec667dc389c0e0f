"""Small loopback HTTP servers for tests: routes named for the behaviour they produce."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def page(html: str) -> Callable[[], Reply]:
    return lambda: Reply(headers=[("Content-Type", "text/html; charset=utf-8")],
                         body=html.encode())  # fmt: skip


def gzipped(html: str) -> Callable[[], Reply]:
    """The page sent gzip-encoded whatever the client asked: what many servers do."""
    return lambda: Reply(
        headers=[("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")],
        body=gzip.compress(html.encode(), mtime=0),
    )


def redirect(location: str) -> Callable[[], Reply]:
    return lambda: Reply(302, [("Location", location)])


class LoopbackServer:
    """Serves fixed routes on a loopback address and port 0; records every path requested."""

    def __init__(self, host: str, routes: dict[str, Callable[[], Reply]]):
        self.routes = routes
        self.requested: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.requested.append(self.path)
                route = server.routes.get(self.path)
                reply = route() if route else Reply(404, body=b"not found")
                self.send_response(reply.status)
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer((host, 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://{host}:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

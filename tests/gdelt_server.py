"""A loopback stand-in for the GDELT DOC 2.0 API, answering in its documented format.

It behaves as the real API does in the ways storycrawl relies on: article-list mode in
JSON gives ``{"articles": [...]}`` with GDELT's fields, a query that matches nothing gives
``{}``, and a request it cannot run gives a line of plain text with status 200.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from tests.servers import _Server

PATH = "/api/v2/doc/doc"


@dataclass(frozen=True)
class Result:
    """One article as GDELT lists it."""

    url: str
    title: str
    seendate: str  # 20180117T084000Z

    def as_json(self) -> dict[str, str]:
        return {
            "url": self.url,
            "url_mobile": "",
            "title": self.title,
            "seendate": self.seendate,
            "socialimage": "",
            "domain": urlsplit(self.url).hostname or "",
            "language": "English",
            "sourcecountry": "Russia",
        }


class GdeltServer:
    """Lists ``results`` for a query that contains every one of ``terms`` (as a search
    engine would find them), ``{}`` for any other; records every query it receives."""

    def __init__(self, host: str, results: list[Result], terms: tuple[str, ...]):
        self.results = results
        self.terms = terms
        self.requested: list[str] = []  # path and query of every request, robots.txt too
        self.queries: list[dict[str, str]] = []  # the parameters of each API request
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.requested.append(self.path)
                status, content_type, body = server.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = _Server((host, 0), Handler)
        self.url = f"http://{host}:{self._httpd.server_address[1]}{PATH}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def answer(self, target: str) -> tuple[int, str, bytes]:
        parts = urlsplit(target)
        if parts.path != PATH:
            return 404, "text/plain", b"not found"
        params = {name: values[0] for name, values in parse_qs(parts.query).items()}
        self.queries.append(params)
        if params.get("mode", "").lower() != "artlist" or params.get("format") != "json":
            return 200, "text/html", b"Invalid mode or format.\n"
        query = params.get("query", "").lower()
        if not query:
            return 200, "text/html", b"Your search contained no keywords.\n"
        found = all(term.lower() in query for term in self.terms)
        answer = {"articles": [r.as_json() for r in self.results]} if found else {}
        return 200, "application/json; charset=utf-8", json.dumps(answer).encode()

    def __enter__(self) -> GdeltServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

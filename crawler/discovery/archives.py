"""Web archives as sources: what the Wayback Machine, or any CDX server, captured of the
watched outlets while the story ran.

For each outlet the archive's CDX API is asked for its HTML captures with status 200 in the
story's window (widened by the judge's slack), one per URL; each capture becomes a
candidate scored like any link, and the ones followed are fetched from the archive in raw
mode (crawler.archived). A story names its archives: ``"wayback"``, or the URL of a CDX
server of the pywb kind (``http://host/COLLECTION/cdx``, replayed at
``http://host/COLLECTION/``) or of the Wayback kind (``…/cdx/search/cdx``, replayed at
``…/web/``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from scrapy import Request
from scrapy.http import Response

from archive.judge.profile import WINDOW_SLACK_DAYS
from archive.urls import canonical
from crawler.archived import Replay, live_url

if TYPE_CHECKING:
    from crawler.storyfile import StoryDefinition

WAYBACK_CDX = "https://web.archive.org/cdx/search/cdx"
#: Captures asked for per outlet: a news site's window of a few months, one row per URL.
CDX_LIMIT = 10_000


class CdxError(ValueError):
    """An answer that is no list of captures: said in one line."""


#: The captures read, by MIME type: pages, and the feeds and sitemaps that list them (an
#: outlet's robots.txt, which names its sitemaps live, is not asked of an archive).
_KINDS = {
    "text/html": "page",
    "application/xhtml+xml": "page",
    "application/rss+xml": "feed",
    "application/atom+xml": "feed",
    "application/xml": "sitemap",
    "text/xml": "sitemap",
}
_WAYBACK_MIME_FILTER = "mimetype:(" + "|".join(m.replace("+", r"\+") for m in _KINDS) + ")"


@dataclass(frozen=True)
class CdxCapture:
    url: str
    timestamp: str
    kind: str  # page, feed or sitemap


def _kind(url: str, mime: str) -> str | None:
    kind = _KINDS.get(mime.split(";")[0].strip().lower())
    if kind == "sitemap" and any(word in url.lower() for word in ("rss", "atom", "feed")):
        return "feed"  # a feed served as plain XML
    return kind


@dataclass(frozen=True)
class WebArchive:
    name: str  # as the story names it
    cdx: str  # the CDX server's endpoint
    replay_prefix: str  # {replay_prefix}{timestamp}id_/{url}
    #: The Wayback Machine's CDX server filters on `mimetype` and `statuscode` and
    #: collapses server-side; pywb's calls the fields `mime` and `status`, and ignores what
    #: it does not know: its answers are filtered here.
    wayback_fields: bool

    @classmethod
    def named(cls, name: str) -> WebArchive:
        """The archive a story names; ValueError for a name that is neither."""
        if name == "wayback":
            return cls(name, WAYBACK_CDX, _replay_prefix(WAYBACK_CDX), wayback_fields=True)
        if not name.startswith(("http://", "https://")):
            raise ValueError(f"unknown web archive {name!r} (wayback, or a CDX server's URL)")
        return cls(name, name, _replay_prefix(name), wayback_fields=name.endswith("/search/cdx"))

    def replay(self, moment: date) -> Replay:
        return Replay(self.name, self.replay_prefix, f"{moment:%Y%m%d}")

    def queries(self, sites: tuple[str, ...], since: date | None, until: date | None) -> list[str]:
        """One CDX query per outlet: every URL under the site's address, in the window."""
        slack = timedelta(days=WINDOW_SLACK_DAYS)
        queries = []
        for site in sites:
            parts = urlsplit(site)
            params: list[tuple[str, str | int]] = [
                ("url", f"{parts.netloc}{parts.path or '/'}"),
                ("matchType", "prefix"),
                ("output", "json"),
                ("limit", CDX_LIMIT),
            ]
            if since:
                params.append(("from", f"{since - slack:%Y%m%d}"))
            if until:
                params.append(("to", f"{until + slack:%Y%m%d}"))
            if self.wayback_fields:
                params += [
                    ("filter", "statuscode:200"),
                    ("filter", _WAYBACK_MIME_FILTER),
                    ("collapse", "urlkey"),
                ]
            queries.append(f"{self.cdx}?{urlencode(params)}")
        return queries

    def lookup(self, url: str) -> str:
        """The CDX query for one URL's captures: where to find a good capture when the one
        served was of an error."""
        params: list[tuple[str, str | int]] = [("url", url), ("output", "json"), ("limit", 100)]
        if self.wayback_fields:
            params.append(("filter", "statuscode:200"))
        return f"{self.cdx}?{urlencode(params)}"

    def captures(self, response: Response) -> list[CdxCapture]:
        """The captures with status 200 of pages, feeds and sitemaps that an answer lists,
        the first of each URL."""
        rows = _rows(response.body)
        seen: set[str] = set()
        found = []
        for row in rows:
            url, timestamp = row.get("original") or row.get("url"), row.get("timestamp")
            mime = row.get("mimetype") or row.get("mime") or ""
            status = row.get("statuscode") or row.get("status") or ""
            if not isinstance(url, str) or not isinstance(timestamp, str):
                continue
            kind = _kind(url, mime)
            if status != "200" or kind is None or url in seen:
                continue
            seen.add(url)
            found.append(CdxCapture(url, timestamp, kind))
        return found


def _replay_prefix(cdx: str) -> str:
    """Where a CDX server's captures are replayed: the Wayback kind's ``…/cdx/search/cdx``
    at ``…/web/``, pywb's ``…/COLLECTION/cdx`` at ``…/COLLECTION/``."""
    if cdx.endswith("/cdx/search/cdx"):
        return cdx.removesuffix("cdx/search/cdx") + "web/"
    return cdx.removesuffix("cdx")


def _rows(body: bytes) -> list[dict]:
    """CDX JSON in either dialect: the Wayback Machine's array of arrays whose first row
    names the fields, or pywb's (and Common Crawl's) one JSON object per line."""
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return []
    try:
        if text.startswith("["):
            table = json.loads(text)
            if not table:
                return []
            header = table[0]
            return [dict(zip(header, row, strict=False)) for row in table[1:]]
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except (ValueError, TypeError):
        message = " ".join(text.split())[:200]
        raise CdxError(f"not a CDX JSON answer: {message}") from None


def ask_archive(request: Request, replay: Replay, **meta: Any) -> Request:
    """The request again, of an archive's replay URL; only the story's own keys of its
    meta go along (not Scrapy's download keys, nor a conditional request's headers)."""
    kept = {k: v for k, v in request.meta.items() if k in ("storycrawl_kind", "depth")}
    return request.replace(
        url=replay.url(live_url(request.url)),
        meta={**kept, "storycrawl_replay": replay, **meta},
        headers={},
        dont_filter=True,
    )


class ArchiveSources:
    """The web archives a story names, as its crawl uses them: their CDX queries, the
    good captures they list, and what to ask them when a fetch failed."""

    def __init__(self, story: StoryDefinition):
        self.archives = [WebArchive.named(name) for name in story.archives]
        #: Where an archive is asked for a page nobody dated: the end of the story's
        #: window (an archive serves the capture nearest to it).
        self.moment = story.until or story.since or date.today()
        self._since, self._until = story.since, story.until
        self._outlets = story.sites or tuple(
            dict.fromkeys(f"{urlsplit(u).scheme}://{urlsplit(u).netloc}/" for u in story.seeds)
        )
        self._captured: dict[str, str] = {}  # canonical URL -> a capture with status 200

    def __bool__(self) -> bool:
        return bool(self.archives)

    def queries(self) -> list[str]:
        """Every archive's CDX queries for the watched outlets (or the seeds' sites)."""
        return [
            q for a in self.archives for q in a.queries(self._outlets, self._since, self._until)
        ]

    def answer(self, response: Response) -> tuple[WebArchive, list[CdxCapture]] | None:
        """The archive a CDX answer is from and the captures it lists (CdxError for an
        answer that is none); None for a query of an archive the story no longer names."""
        queried = response.meta.get("redirect_urls", [response.url])[0]
        archive = next((a for a in self.archives if queried.startswith(a.cdx)), None)
        if archive is None:
            return None
        captures = archive.captures(response)
        for capture in captures:
            self._captured.setdefault(canonical(capture.url), capture.timestamp)
        return archive, captures

    def best(self, url: str, replay: Replay) -> Replay:
        """Where to ask for a URL: at the time of a good capture an archive listed, if any."""
        return replay.at(self._captured.get(canonical(url), replay.timestamp))

    def instead(
        self, request: Request, status: int | None, lookup: Callable[[Response], Any]
    ) -> Request | None:
        """What to ask when a fetch failed (``status`` None: no answer at all): for a live
        page gone (404, 410), failing (5xx) or unreachable today, the first archive; for
        a capture of an error (an archived 5xx), that archive's list of the URL's captures
        (answered to ``lookup``), to fetch a good one. Never for a refusal (401, 403, 429),
        a search, or twice."""
        if not self.archives or request.meta.get("storycrawl_kind") in (None, "search"):
            return None
        if status is not None and status not in (404, 410) and status < 500:
            return None
        replay: Replay | None = request.meta.get("storycrawl_replay")
        if replay is None:
            return ask_archive(
                request, self.best(request.url, self.archives[0].replay(self.moment))
            )
        if status in (None, 404) or request.meta.get("storycrawl_looked_up"):
            return None  # the archive has no capture, or cannot be reached
        archive = next(a for a in self.archives if a.name == replay.archive)
        return Request(
            archive.lookup(live_url(request.url)),
            lookup,
            priority=request.priority,
            meta={"storycrawl_lookup": request},
        )

    def looked_up(self, response: Response) -> Request | None:
        """The failed request again, at a good capture the lookup found; None if none."""
        failed: Request = response.meta["storycrawl_lookup"]
        replay: Replay = failed.meta["storycrawl_replay"]
        archive = next(a for a in self.archives if a.name == replay.archive)
        captures = archive.captures(response)
        if not captures:
            return None
        return ask_archive(failed, replay.at(captures[0].timestamp), storycrawl_looked_up=True)

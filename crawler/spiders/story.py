"""StorySpider: thin orchestration of one story crawl.

Seeds first, since the story profile is built from them; then the outlets' home pages,
feeds and sitemaps. Every candidate URL is scored before it is fetched and requested with
that score as its priority, so the frontier is best-first and unpromising links are never
fetched at all.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, Self

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.responsetypes import responsetypes
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from archive.extract import Document, ExtractorPool
from archive.store import PageRecord
from archive.warc import read_record
from crawler import discovery
from crawler.config import Config, user_agent
from crawler.incremental import History, parse_duration
from crawler.story import SEED_VERDICT, StoryProfile, Verdict
from crawler.storyfile import StoryDefinition, story_from_file
from crawler.urls import Scope, canonical, host_of

logger = logging.getLogger(__name__)

SEED_PRIORITY = 10_000
#: A run lock this old is a crashed run's, when its holder cannot be checked (another host).
LOCK_STALE_AFTER = 24 * 3600
#: A feed or sitemap entry dated this long before the story began cannot be a follow-up
#: (sitemap dates are last-modified dates, hence the margin): it is not fetched at all.
STALE_BEFORE_STORY = timedelta(days=30)
#: Home, section and pagination pages: worth fetching early, since their headlines steer.
NAVIGATION_PRIORITY = 300


def story_settings(story: StoryDefinition) -> dict[str, Any]:
    """The Scrapy settings a story file sets (at 'spider' priority: ``-s`` still wins)."""
    settings: dict[str, Any] = {
        "STORYCRAWL_DATA_DIR": str(story.data),
        "STORYCRAWL_NAMED_HOSTS": sorted(story.named_hosts),
        "DEPTH_LIMIT": story.max_depth,
    }
    if story.db:
        settings["STORYCRAWL_DB"] = story.db
    if story.warc_dir:
        settings["STORYCRAWL_WARC_DIR"] = str(story.warc_dir)
    if story.allow_private:
        settings["STORYCRAWL_ALLOW_PRIVATE"] = True
    if story.no_dedup:
        settings["STORYCRAWL_DEDUP"] = False
    return settings


class StorySpider(Spider):
    name = "story"

    def __init__(self, story: StoryDefinition, config: Config, **kwargs: Any):
        super().__init__(**kwargs)
        self.story = story
        self.config = config
        self.profile = StoryProfile(
            keywords=story.keywords,
            since=story.since,
            until=story.until,
            threshold=config.threshold,
        )
        self.scope = Scope.of((*story.seeds, *story.sites, *story.feeds, *story.sitemaps))
        self.problem: str | None = None  # bad input found mid-crawl: the CLI's one-line error
        self.locked_by: str | None = None  # the run holding the story's lock, if not us
        self._requested: set[str] = set()
        self._seeds_left = len(story.seeds)
        # Set once every seed is fetched and read: no link can be scored before.
        self._profile_ready = asyncio.Event()
        self._announced_sitemaps: list[str] = []
        self._pool: ExtractorPool | None = None
        self.store = config.prepare_storage()
        self.history = History(self.store, story.name, parse_duration(story.recrawl_after))
        self._lock_holder = f"{socket.gethostname()}:{os.getpid()}"
        self._callbacks = {
            "seed": self.parse_seed,
            "page": self.parse_page,
            "feed": self.parse_feed,
            "sitemap": self.parse_sitemap,
        }

    @classmethod
    def from_crawler(
        cls, crawler: Crawler, *args: Any, story: StoryDefinition | str = "", **kwargs: Any
    ) -> Self:
        if isinstance(story, str):  # `scrapy crawl story -a story=FILE`
            if not story:
                raise ValueError("StorySpider needs a story: -a story=STORY.toml")
            story = story_from_file(Path(story))
        if not crawler.settings.frozen:
            crawler.settings.setdict(story_settings(story), priority="spider")
            contact = crawler.settings.get("STORYCRAWL_CONTACT")
            if contact and (crawler.settings.getpriority("USER_AGENT") or 0) < 40:
                crawler.settings.set("USER_AGENT", user_agent(contact), priority="spider")
        spider = super().from_crawler(
            crawler, *args, story=story, config=Config.from_settings(crawler.settings), **kwargs
        )
        crawler.signals.connect(spider._sitemaps_found, signal=discovery.sitemaps_found)
        return spider

    async def start(self) -> AsyncIterator[Request]:
        holder = self.store.acquire_lock(self.story.name, self._lock_holder, LOCK_STALE_AFTER)
        if holder:
            self.locked_by = holder
            raise CloseSpider("story_locked")
        self._pool = ExtractorPool(self.config.extract_workers)
        for url in self.story.seeds:
            if request := self._request(url, "seed", SEED_PRIORITY):
                yield request
            else:  # archived recently, or by the run this one resumes: use what is stored
                self._stored_seed(url)
        if self._seeds_left:
            await self._profile_ready.wait()
        if self.problem:
            raise CloseSpider("bad_seed")
        logger.info(
            "Story profile built from %d seeds; key terms: %s",
            len(self.profile.seed_vectors),
            ", ".join(self.profile.key_terms),
        )
        for url in self.story.sites:
            if request := self._request(url, "page", NAVIGATION_PRIORITY):
                yield request
        for url in self.story.feeds:
            if request := self._request(url, "feed", NAVIGATION_PRIORITY):
                yield request
        for url in (*self.story.sitemaps, *self._announced_sitemaps):
            if request := self._request(url, "sitemap", NAVIGATION_PRIORITY):
                yield request
        for queued in self.history.frontier:  # what an earlier run scheduled and never fetched
            if request := self._request(queued.url, queued.kind, queued.priority, queued.depth):
                yield request

    def closed(self, reason: str) -> None:
        if self._pool:
            self._pool.close()
        if reason != "story_locked":
            self.store.release_lock(self.story.name, self._lock_holder)

    # -- requests -------------------------------------------------------------------------

    def _request(self, url: str, kind: str, priority: int, depth: int = 0) -> Request | None:
        """A request for a URL not yet requested in this crawl, within the page budget,
        and not archived recently (conditional when archived long enough ago).

        Seen URLs are dropped here, before a Request exists: a news page carries dozens of
        links, most already known, and building Requests only for the dupefilter to discard
        them costs more than the crawl itself.
        """
        key = canonical(url)
        if key in self._requested:
            return None
        if len(self._requested) >= self.story.max_pages:
            self.crawler.stats.inc_value("storycrawl/budget_refused")
            return None
        self._requested.add(key)
        decision = self.history.decide(key)
        if decision.skip:
            self.crawler.stats.inc_value("storycrawl/incremental/not_fetched")
            return None
        meta: dict[str, Any] = {"storycrawl_kind": kind}
        if depth:
            meta["depth"] = depth
        if decision.previous:
            # A 304 is an answer, not an error: the callback records it as not modified.
            meta.update(handle_httpstatus_list=[304], storycrawl_previous=decision.original)
        return Request(
            url,
            callback=self._callbacks[kind],
            errback=self.seed_failed if kind == "seed" else self.fetch_failed,
            priority=priority,
            headers=decision.headers,
            meta=meta,
        )

    def _follow(
        self, candidates: Iterable[discovery.Candidate], parent_score: float, from_listing: bool
    ) -> Iterator[Request]:
        for candidate in candidates:
            if not self.scope.allows(candidate.url):
                continue
            if (
                candidate.published
                and self.story.since
                and candidate.published < self.story.since - STALE_BEFORE_STORY
            ):
                self.crawler.stats.inc_value("storycrawl/skipped_out_of_window")
                continue
            score = self.profile.link_score(candidate.text, candidate.url)
            if candidate.navigation in ("pagination", "section"):
                # Listings lead to the outlet's coverage; from an article they lead anywhere.
                follow = from_listing or self.story.broad
                priority = NAVIGATION_PRIORITY
            elif candidate.navigation == "topic":
                # A tag page is worth it when its name is the story's: "Aegis Ashore".
                follow = self.story.broad or score >= 3 * self.config.link_floor
                priority = NAVIGATION_PRIORITY
            else:
                follow = self.story.broad or score >= self.config.link_floor
                priority = int(1000 * (0.7 * score + 0.3 * parent_score))
            if follow and (request := self._request(candidate.url, "page", priority)):
                yield request

    def _sitemaps_found(self, urls: list[str]) -> None:
        """Sitemaps a robots.txt lists: held back until the seeds have proved good."""
        if not self._profile_ready.is_set():
            self._announced_sitemaps.extend(urls)
            return
        for url in urls:
            if self.scope.allows(url) and (
                request := self._request(url, "sitemap", NAVIGATION_PRIORITY)
            ):
                self.crawler.engine.crawl(request)

    # -- callbacks ------------------------------------------------------------------------

    def _stored_seed(self, url: str) -> None:
        stored = self.store.stored_document(self.story.name, canonical(url))
        if stored is None:
            self._seed_problem(url, "is archived without article text")
        else:
            self.profile.add_seed(stored)
        self._seed_done()

    async def parse_seed(self, response: Response) -> AsyncIterator[Any]:
        if self._unchanged(response):
            yield self._record(response)
            self._stored_seed(response.url)
        else:
            document = await self._extract(response)
            if document is None:
                self._seed_problem(response.url, "has no article text storycrawl could extract")
            else:
                self.profile.add_seed(document)
                yield self._record(response, document, SEED_VERDICT)
            self._seed_done()
        await self._profile_ready.wait()
        page = self._readable(response)
        if isinstance(page, HtmlResponse) and not self.problem:
            links = discovery.page_links(page, self.story.broad)
            for request in self._follow(links, 1.0, from_listing=False):
                yield request

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        change = self._change(response)
        page = self._readable(response)
        if change == "not_modified" or not isinstance(page, HtmlResponse):
            # Nothing new to extract; its links still lead to pages that may be due.
            yield self._record(response)
            document, verdict = None, None
            previous = self.history.archived.get(canonical(response.url))
            listing = not (previous and previous.is_article)
        else:
            document = await self._extract(page) if self.config.extract else None
            verdict = self.profile.judge(document) if document else None
            yield self._record(response, document, verdict)
            listing = document is None or not document.is_article
        if verdict and verdict.is_match:
            self.crawler.stats.inc_value("storycrawl/matches")
            if change == "new":
                self.crawler.stats.inc_value("storycrawl/run/new_matches")
        if not isinstance(page, HtmlResponse):
            return
        for url in discovery.feed_links(page):
            if self.scope.allows(url) and (
                request := self._request(url, "feed", NAVIGATION_PRIORITY)
            ):
                yield request
        score = verdict.score if verdict else 0.0
        links = discovery.page_links(page, self.story.broad)
        for request in self._follow(links, score, from_listing=listing):
            yield request

    # Feeds and sitemaps are only requested once the profile is ready (see start() and
    # _sitemaps_found), so their entries can be scored at once.

    def parse_feed(self, response: Response) -> Iterator[Any]:
        yield self._record(response)
        self._change(response)
        try:
            entries = discovery.parse_feed(
                self._readable(response), self.settings.getint("DOWNLOAD_MAXSIZE")
            )
        except ValueError as exc:
            self._unreadable(response, exc)
            return
        yield from self._follow(entries, 0.0, from_listing=False)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        yield self._record(response)
        self._change(response)
        try:
            sitemap = discovery.parse_sitemap(
                self._readable(response), self.settings.getint("DOWNLOAD_MAXSIZE")
            )
        except ValueError as exc:
            self._unreadable(response, exc)
            return
        if not sitemap.is_index:
            yield from self._follow(sitemap.entries, 0.0, from_listing=False)
            return
        for entry in sitemap.entries:
            if self.scope.allows(entry.url) and (
                request := self._request(entry.url, "sitemap", NAVIGATION_PRIORITY)
            ):
                yield request

    def _unreadable(self, response: Response, error: Exception) -> None:
        logger.warning("Ignoring %s: %s", response.url, error)
        self.crawler.stats.inc_value("storycrawl/unreadable_feeds_and_sitemaps")

    # -- failures -------------------------------------------------------------------------

    def seed_failed(self, failure: Failure) -> Iterator[Any]:
        yield from self.fetch_failed(failure)
        self._seed_problem(failure.request.url, _failure_reason(failure))
        self._seed_done()

    def fetch_failed(self, failure: Failure) -> Iterator[Any]:
        """An HTTP error page is still a page fetched and archived: keep its row."""
        if failure.check(HttpError):
            yield self._record(failure.value.response)
        else:
            self.crawler.stats.inc_value(f"storycrawl/failed/{failure.type.__name__}")

    def _seed_problem(self, url: str, why: str) -> None:
        self.problem = self.problem or f"seed {url} {why}"

    def _seed_done(self) -> None:
        self._seeds_left -= 1
        if self._seeds_left <= 0:
            self._profile_ready.set()

    # -- pages ----------------------------------------------------------------------------

    def _change(self, response: Response) -> str:
        """'new', 'changed' or 'not_modified' (a 304, or the same bytes as archived before):
        counted in this run's figures."""
        warc = response.meta["warc"]
        change = self.history.kind_of_change(
            canonical(response.url), response.status, warc.payload_digest
        )
        self.crawler.stats.inc_value(f"storycrawl/run/{change}")
        return change

    def _unchanged(self, response: Response) -> bool:
        return self._change(response) == "not_modified"

    def _readable(self, response: Response) -> Response:
        """The response to read links and entries from: itself, or for a 304 the capture
        it confirmed, read back from the archive (an empty response if it is not there)."""
        if response.status != 304:
            return response
        previous = response.meta.get("storycrawl_previous")
        stored = self.store.page_of_record(previous.record_id) if previous else None
        if stored is None:
            return Response(response.url)
        record = read_record(self.config.warc_dir / stored.warc_file, stored.warc_offset)
        headers = dict(record.http_headers.headers) if record.http_headers else {}
        headers.pop("Content-Encoding", None)
        kind = responsetypes.from_args(headers=headers, url=response.url)
        return kind(url=response.url, body=record.decoded(), headers=headers)

    async def _extract(self, response: Response) -> Document | None:
        """The page's document; None for non-text and for bodies a limit cut short, whose
        text would be a fragment judged as if it were the article."""
        if not isinstance(response, TextResponse):
            return None
        if response.meta.get("storycrawl_truncated") or "dataloss" in response.flags:
            self.crawler.stats.inc_value("storycrawl/truncated_not_extracted")
            return None
        assert self._pool is not None
        try:
            return await self._pool.extract(response.text, response.url)
        except Exception:
            logger.exception("Extraction failed for %s", response.url)
            self.crawler.stats.inc_value("storycrawl/extract_errors")
            return None

    def _record(
        self, response: Response, document: Document | None = None, verdict: Verdict | None = None
    ) -> PageRecord:
        canonical_url = canonical(response.url)
        if (
            document
            and document.canonical_url
            and host_of(document.canonical_url) == host_of(response.url)
        ):
            canonical_url = canonical(document.canonical_url)
        content_type = response.headers.get("Content-Type")
        self.crawler.stats.inc_value("storycrawl/run/fetched")
        etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
        return PageRecord(
            url=response.url,
            canonical_url=canonical_url,
            status=response.status,
            content_type=content_type.decode("latin-1") if content_type else None,
            fetched_at=response.meta["fetched_at"].replace(tzinfo=None),
            warc=response.meta["warc"],
            document=document,
            score=verdict.score if verdict else None,
            is_match=bool(verdict and verdict.is_match),
            reasons=verdict.reasons if verdict else {},
            etag=etag.decode("latin-1") if etag else None,
            last_modified=modified.decode("latin-1") if modified else None,
        )


def _failure_reason(failure: Failure) -> str:
    if failure.check(HttpError):
        return f"answered HTTP {failure.value.response.status}"
    message = str(failure.value).strip() or failure.type.__name__
    if "robots.txt" in message.lower() or failure.type.__name__ == "IgnoreRequest":
        return f"could not be fetched: {message}"
    return f"could not be fetched ({failure.type.__name__}: {message})"

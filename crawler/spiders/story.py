"""StorySpider: thin orchestration of one story crawl.

Seeds first, since the story profile is built from them; then the outlets' home pages,
feeds and sitemaps. Every candidate URL is scored before it is fetched and requested with
that score as its priority, so the frontier is best-first and unpromising links are never
fetched at all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, Self

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from archive.extract import Document, ExtractorPool
from archive.store import PageRecord
from crawler import discovery
from crawler.config import Config, user_agent
from crawler.story import SEED_VERDICT, StoryProfile, Verdict
from crawler.storyfile import StoryDefinition, story_from_file
from crawler.urls import Scope, canonical, host_of

logger = logging.getLogger(__name__)

SEED_PRIORITY = 10_000
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
        self._requested: set[str] = set()
        self._seeds_left = len(story.seeds)
        # Set once every seed is fetched and read: no link can be scored before.
        self._profile_ready = asyncio.Event()
        self._announced_sitemaps: list[str] = []
        self._pool: ExtractorPool | None = None

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
        self._pool = ExtractorPool(self.config.extract_workers)
        for url in self.story.seeds:
            request = self._request(url, self.parse_seed, SEED_PRIORITY, errback=self.seed_failed)
            if request:
                yield request
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
            if request := self._request(url, self.parse_page, NAVIGATION_PRIORITY):
                yield request
        for url in self.story.feeds:
            if request := self._request(url, self.parse_feed, NAVIGATION_PRIORITY):
                yield request
        for url in (*self.story.sitemaps, *self._announced_sitemaps):
            if request := self._request(url, self.parse_sitemap, NAVIGATION_PRIORITY):
                yield request

    def closed(self, reason: str) -> None:
        if self._pool:
            self._pool.close()

    # -- requests -------------------------------------------------------------------------

    def _request(self, url: str, callback, priority: int, errback=None) -> Request | None:
        """A request for a URL not yet requested in this crawl, within the page budget.

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
        return Request(
            url, callback=callback, priority=priority, errback=errback or self.fetch_failed
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
            if follow and (request := self._request(candidate.url, self.parse_page, priority)):
                yield request

    def _sitemaps_found(self, urls: list[str]) -> None:
        """Sitemaps a robots.txt lists: held back until the seeds have proved good."""
        if not self._profile_ready.is_set():
            self._announced_sitemaps.extend(urls)
            return
        for url in urls:
            if self.scope.allows(url) and (
                request := self._request(url, self.parse_sitemap, NAVIGATION_PRIORITY)
            ):
                self.crawler.engine.crawl(request)

    # -- callbacks ------------------------------------------------------------------------

    async def parse_seed(self, response: Response) -> AsyncIterator[Any]:
        document = await self._extract(response)
        if document is None:
            self._seed_problem(response.url, "has no article text storycrawl could extract")
        else:
            self.profile.add_seed(document)
            yield self._record(response, document, SEED_VERDICT)
        self._seed_done()
        await self._profile_ready.wait()
        if isinstance(response, HtmlResponse) and not self.problem:
            links = discovery.page_links(response, self.story.broad)
            for request in self._follow(links, 1.0, from_listing=False):
                yield request

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        if not isinstance(response, HtmlResponse):
            yield self._record(response)
            return
        document = await self._extract(response)
        verdict = self.profile.judge(document) if document else None
        yield self._record(response, document, verdict)
        if verdict and verdict.is_match:
            self.crawler.stats.inc_value("storycrawl/matches")
        for url in discovery.feed_links(response):
            if self.scope.allows(url) and (
                request := self._request(url, self.parse_feed, NAVIGATION_PRIORITY)
            ):
                yield request
        listing = document is None or not document.is_article
        score = verdict.score if verdict else 0.0
        links = discovery.page_links(response, self.story.broad)
        for request in self._follow(links, score, from_listing=listing):
            yield request

    # Feeds and sitemaps are only requested once the profile is ready (see start() and
    # _sitemaps_found), so their entries can be scored at once.

    def parse_feed(self, response: Response) -> Iterator[Any]:
        yield self._record(response)
        try:
            entries = discovery.parse_feed(response, self.settings.getint("DOWNLOAD_MAXSIZE"))
        except ValueError as exc:
            self._unreadable(response, exc)
            return
        yield from self._follow(entries, 0.0, from_listing=False)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        yield self._record(response)
        try:
            sitemap = discovery.parse_sitemap(response, self.settings.getint("DOWNLOAD_MAXSIZE"))
        except ValueError as exc:
            self._unreadable(response, exc)
            return
        if not sitemap.is_index:
            yield from self._follow(sitemap.entries, 0.0, from_listing=False)
            return
        for entry in sitemap.entries:
            if self.scope.allows(entry.url) and (
                request := self._request(entry.url, self.parse_sitemap, NAVIGATION_PRIORITY)
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
        )


def _failure_reason(failure: Failure) -> str:
    if failure.check(HttpError):
        return f"answered HTTP {failure.value.response.status}"
    message = str(failure.value).strip() or failure.type.__name__
    if "robots.txt" in message.lower() or failure.type.__name__ == "IgnoreRequest":
        return f"could not be fetched: {message}"
    return f"could not be fetched ({failure.type.__name__}: {message})"

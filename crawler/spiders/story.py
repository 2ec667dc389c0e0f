"""StorySpider: wires Scrapy to the frontier, the link policy and the judge.

Seeds first, since the story profile is built from them; then the outlets' home pages,
feeds and sitemaps. Every candidate URL is judged by the link policy before it is fetched
(crawler.discovery.policy) and admitted by the frontier (crawler.frontier), so the crawl
is best-first and unpromising links are never fetched at all. The spider itself decides
nothing of that: it turns responses into pages, verdicts and candidates, and admitted
candidates into requests.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator, Iterable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any, Self

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.responsetypes import responsetypes
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from archive.coding import TooLarge
from archive.db.engine import StoreError
from archive.db.items import Decided, Noted, PageRecord
from archive.db.repository import Store
from archive.extract import Document, Extraction, ExtractorPool
from archive.extract.chrome import ChromeLearner
from archive.judge.features import features_of
from archive.judge.profile import SEED_VERDICT, StoryProfile, Verdict
from archive.urls import canonical, host_of
from archive.warc import read_record, recover_open_files
from crawler.archived import Replay, live_url
from crawler.config import Config, user_agent
from crawler.discovery import Candidate, feeds, links
from crawler.discovery.archives import ArchiveSources, CdxError
from crawler.discovery.policy import NAVIGATION_PRIORITY, LinkPolicy
from crawler.discovery.requisites import page_requisites, stylesheet_requisites
from crawler.discovery.robots import SITE_UNREACHABLE
from crawler.discovery.scope import Scope
from crawler.discovery.search import SearchError, search_sources
from crawler.distributed.shared import FrontierUnavailable, SharedCrawl, configure_worker
from crawler.frontier import Admitted, Frontier
from crawler.guard import KnownPage
from crawler.signals import run_started, sitemaps_found
from crawler.storyfile import StoryDefinition, story_from_file

logger = logging.getLogger(__name__)

SEED_PRIORITY = 10_000
#: An accepted article's images and stylesheets: after the pages still to be judged.
REQUISITE_PRIORITY = -100
#: A run lock this old is a crashed run's, when its holder cannot be checked (another host).
LOCK_STALE_AFTER = 24 * 3600


def story_settings(story: StoryDefinition) -> dict[str, Any]:
    """The Scrapy settings a story file sets (at 'spider' priority: ``-s`` still wins)."""
    settings: dict[str, Any] = {
        "STORYCRAWL_DATA_DIR": str(story.data),
        "STORYCRAWL_NAMED_SITES": sorted(story.named_sites),
        "DEPTH_LIMIT": story.max_depth,
    }
    if story.threshold is not None:
        settings["STORYCRAWL_THRESHOLD"] = story.threshold
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

    def __init__(
        self,
        story: StoryDefinition,
        config: Config,
        shared: SharedCrawl | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.story = story
        self.config = config
        #: The crawl's state in Redis when several workers share it (crawler.distributed).
        self.shared = shared
        self.profile = StoryProfile(
            keywords=story.keywords,
            since=story.since,
            until=story.until,
            threshold=config.threshold,
        )
        self.links = LinkPolicy(story, self.profile, config.link_floor)
        self.frontier = (
            Frontier(story, shared.requested, shared.trap_rules(story.max_pages_per_site))
            if shared
            else Frontier(story)
        )
        self.scope = Scope.of((*story.seeds, *story.sites, *story.feeds, *story.sitemaps))
        self.problem: str | None = None  # bad input found mid-crawl: the CLI's one-line error
        self.locked_by: str | None = None  # the run holding the story's lock, if not us
        self._seeds_left = len(story.seeds)
        # Set once every seed is fetched and read: no link can be scored before.
        self._profile_ready = asyncio.Event()
        self._announced_sitemaps: list[str] = []
        # Articles this run matched for the first time (canonical URLs): the run's new
        # matches, once the pipeline has set the syndicated copies apart.
        self.new_matches: set[str] = set()
        self._pool: ExtractorPool | None = None
        self._lock_holder = f"{socket.gethostname()}:{os.getpid()}"
        self._search = search_sources(story.search, config)  # none unless the story asks
        self._archives = ArchiveSources(story)  # none unless the story names them
        self._callbacks = {
            "seed": self.parse_seed,
            "page": self.parse_page,
            "feed": self.parse_feed,
            "sitemap": self.parse_sitemap,
            "search": self.parse_search,
        }

    @cached_property
    def store(self) -> Store:
        """The crawl's database, opened at its first use (the pipeline's open_spider), once
        for every component of the crawl."""
        return self.config.prepare_storage()

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
            configure_worker(crawler.settings)
        spider = super().from_crawler(
            crawler,
            *args,
            story=story,
            config=Config.from_settings(crawler.settings),
            shared=SharedCrawl.from_settings(crawler.settings, story.name),
            **kwargs,
        )
        crawler.signals.connect(spider._sitemaps_found, signal=sitemaps_found)
        # The lock is let go once the engine has stopped: after every spider_closed handler,
        # the pipeline's settling and final writes included, else the next run would start
        # while this one still writes.
        crawler.signals.connect(spider._release_lock, signal=signals.engine_stopped)
        return spider

    async def start(self) -> AsyncIterator[Request]:
        if self.shared is not None and not self.shared.lead():
            await self._join()
            return
        holder = self.store.acquire_lock(self.story.name, self._lock_holder, LOCK_STALE_AFTER)
        if holder:
            self.locked_by = holder
            raise CloseSpider("story_locked")
        story_id, crawl_id = self._begin_run()
        for url in self.story.seeds:
            request = self._request(url, "seed", SEED_PRIORITY)
            if isinstance(request, Noted):  # over the story's budget: judged without it
                logger.warning("Seed %s not fetched: %s", url, request.features["rule"])
                self._seed_done()
                yield request
            elif request is None:  # archived recently, or by the run this one resumes
                self._stored_seed(url)
                self._seed_done()
            else:
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
            if request := self._request(url, "page", NAVIGATION_PRIORITY):
                yield request
        for url in self.story.feeds:
            if request := self._request(url, "feed", NAVIGATION_PRIORITY):
                yield request
        for url in (*self.story.sitemaps, *self._announced_sitemaps):
            if request := self._request(url, "sitemap", NAVIGATION_PRIORITY):
                yield request
        for source in self._search:
            for url in source.requests_for(self.profile, self.story):
                if request := self._request(url, "search", NAVIGATION_PRIORITY):
                    yield request
        # Not frontier candidates: a CDX server's queries differ only in parameters that a
        # canonical URL drops, and a resumed run asks them again anyway.
        for url in self._archives.queries():
            yield Request(url, self.parse_archive, priority=NAVIGATION_PRIORITY)
        for queued in self.frontier.resumed:
            if request := self._request(queued.url, queued.kind, queued.priority, queued.depth):
                yield request
        if self.shared is not None:  # the other workers take requests from now on
            self.shared.announce(story_id, crawl_id, self._lock_holder)

    def _begin_run(self) -> tuple[int, int]:
        """With the story's lock held: close the WARC files a killed crawl left open, read
        the story's history (what this run resumes), and record this run's crawl."""
        for recovery in recover_open_files(self.config.warc_dir):
            logger.warning("WARC file left open by an interrupted crawl: %s", recovery)
            self.crawler.stats.inc_value("storycrawl/warc/recovered_files")
        self.frontier.open(self.store, self.crawler.stats)
        story_id = self.store.story_id(self.story.name, self.story.as_json())
        crawl_id = self.store.start_crawl(story_id, self.story.as_json())
        self._open_run(story_id, crawl_id)
        return story_id, crawl_id

    async def _join(self) -> None:
        """A shared crawl's worker that does not lead: it takes the leader's crawl and seeds
        (crawler.distributed), and requests from the shared queue once it has them."""
        assert self.shared is not None
        try:
            joined = await self.shared.join()
        except FrontierUnavailable as exc:
            self.problem = str(exc)
            raise CloseSpider("frontier_unavailable") from None
        for document in joined.seeds:
            self.profile.add_seed(document)
        self._seeds_left = 0
        self._profile_ready.set()
        self.frontier.open(self.store, self.crawler.stats)
        self._open_run(joined.story_id, joined.crawl_id)

    def _open_run(self, story_id: int, crawl_id: int) -> None:
        self.crawler.stats.set_value("storycrawl/crawl_id", crawl_id)
        self.crawler.signals.send_catch_log(run_started, story_id=story_id, crawl_id=crawl_id)
        self._pool = ExtractorPool(self.config.extract_workers, analyse=features_of)
        # What earlier crawls and re-extractions learned of each outlet's chrome.
        self._chrome = ChromeLearner(self.store.site_models())
        if self.shared is not None:
            self.shared.register(self.config.warc_prefix)

    def closed(self, reason: str) -> None:
        if self._pool:
            self._pool.close()

    def _release_lock(self) -> None:
        # A shared crawl's lock is released by its last worker (StorePipeline).
        if self.locked_by is None and "store" in self.__dict__ and self.shared is None:
            try:
                self.store.release_lock(self.story.name, self._lock_holder)
            except StoreError as exc:  # the next run takes over the lock of a dead holder
                logger.error("Run lock not released: %s", exc)

    # -- requests -------------------------------------------------------------------------

    def _request(
        self,
        url: str,
        kind: str,
        priority: int,
        depth: int = 0,
        score: float | None = None,
        features: dict | None = None,
        replay: Replay | None = None,
    ) -> Request | Noted | None:
        """A request for a URL the frontier admits (see Frontier.admit), conditional when
        the archive holds it, made to a web archive's ``replay`` when given; the
        frontier's refusal (Noted), or None."""
        admitted = self.frontier.admit(url, kind)
        if not isinstance(admitted, Admitted):
            return admitted
        meta: dict[str, Any] = {
            "storycrawl_kind": kind,
            "storycrawl_score": score,
            "storycrawl_features": features,
        }
        if depth:
            meta["depth"] = depth
        decision = admitted.decision
        if replay:
            replay = self._archives.best(admitted.url, replay)
            meta["storycrawl_replay"] = replay
        elif decision.previous:
            # A 304 is an answer, not an error: the callback records it as not modified.
            meta.update(handle_httpstatus_list=[304], storycrawl_previous=decision.original)
        return Request(
            replay.url(admitted.url) if replay else admitted.url,
            callback=self._callbacks[kind],
            errback=self.seed_failed if kind == "seed" else self.fetch_failed,
            priority=priority,
            headers=decision.headers,
            meta=meta,
        )

    def known_target(self, redirected: Request) -> str | None:
        """Why a redirect's target is not worth fetching, or None; see KnownRedirects."""
        return self.frontier.known_target(redirected.url, redirected.meta["redirect_urls"])

    def _follow(
        self,
        candidates: Iterable[Candidate],
        parent_score: float,
        from_listing: bool,
        replay: Replay | None = None,
    ) -> Iterator[Request | Noted]:
        """Requests for the candidates the link policy follows, notes for the others. Only
        a final fate settles a link: one not worth it from one page (its anchor "More", or
        a section seen from an article) may be from another. Links of a page a web archive
        served are asked of that archive, at that page's capture time (``replay``)."""
        for candidate in candidates:
            if candidate.url in self.frontier.settled:
                continue
            if not self.scope.allows(candidate.url):
                self.frontier.settled.add(candidate.url)
                continue
            if outside := self.links.out_of_window(candidate):
                self.frontier.settled.add(candidate.url)
                features = {"text": candidate.text[:200], "window": outside}
                noted = self.frontier.note(candidate.url, "page", "out_of_window", None, features)
                if noted:
                    self.crawler.stats.inc_value("storycrawl/skipped_out_of_window")
                    yield noted
                continue
            link = self.links.decide(candidate, parent_score, from_listing)
            if link.follow:
                self.frontier.settled.add(candidate.url)
                item = self._request(
                    candidate.url, "page", link.priority, 0, link.score, link.features, replay
                )
            else:
                item = self.frontier.note(
                    candidate.url, "page", "discovered", link.score, link.features
                )
            if item:
                yield item

    def _sitemaps_found(self, urls: list[str]) -> None:
        """Sitemaps a robots.txt lists, on the crawl's sites only: held back until the seeds
        have proved good."""
        urls = [url for url in urls if self.scope.allows(url)]
        if not self._profile_ready.is_set():
            self._announced_sitemaps.extend(urls)
            return
        for url in urls:
            request = self._request(url, "sitemap", NAVIGATION_PRIORITY)
            if isinstance(request, Request):  # a refusal is no news: robots.txt named it
                self.crawler.engine.crawl(request)

    # -- callbacks ------------------------------------------------------------------------

    def _stored_seed(self, url: str) -> None:
        stored = self.store.stored_document(self.story.name, canonical(url))
        if stored is None:
            self._seed_problem(url, "is archived without article text")
        else:
            self._add_seed(stored)

    async def parse_seed(self, response: Response) -> AsyncIterator[Any]:
        try:
            if self._unchanged(response):
                yield self._record(response)
                self._stored_seed(response.url)
            else:
                extraction = await self._extract(response)
                document = extraction.document if extraction else None
                if document is None:
                    self._seed_problem(response.url, "has no article text storycrawl could extract")
                else:
                    self._add_seed(document)
                    yield self._record(response, document, SEED_VERDICT)
                    for request in self._requisites(response):
                        yield request
        except Exception as exc:
            self._seed_problem(response.url, f"could not be read ({type(exc).__name__}: {exc})")
            raise
        finally:  # however it went, the crawl must not wait for this seed forever
            self._seed_done()
        await self._profile_ready.wait()
        page = self._readable(response)
        if isinstance(page, HtmlResponse) and not self.problem:
            found = links.page_links(page, self.story.broad, self.frontier.settled)
            for request in self._follow(found, 1.0, False, self._replay_of(response)):
                yield request

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        change = self._change(response)
        page = self._readable(response)
        if change == "not_modified" or not isinstance(page, HtmlResponse):
            # Nothing new to extract; its links still lead to pages that may be due.
            record = self._record(response)
            yield record
            document, verdict = None, None
            previous = self.frontier.history.archived.get(canonical(response.url))
            listing = not (previous and previous.is_article)
        else:
            extraction = await self._extract(page) if self.config.extract else None
            document = extraction.document if extraction else None
            verdict = self._judge(extraction) if extraction else None
            record = self._record(response, document, verdict)
            yield record
            listing = document is None or not document.is_article
        if verdict and verdict.is_match:
            self.crawler.stats.inc_value("storycrawl/matches")
            if change == "new":
                self.new_matches.add(record.canonical_url)
            for request in self._requisites(response):
                yield request
        if not isinstance(page, HtmlResponse):
            return
        replay = self._replay_of(response)
        for url in links.feed_links(page):
            if self.scope.allows(url) and (
                request := self._request(url, "feed", NAVIGATION_PRIORITY, replay=replay)
            ):
                yield request
        score = verdict.score if verdict else 0.0
        found = links.page_links(page, self.story.broad, self.frontier.settled)
        for request in self._follow(found, score, listing, replay):
            yield request

    # Feeds and sitemaps are only requested once the profile is ready (see start() and
    # _sitemaps_found), so their entries can be scored at once.

    def parse_feed(self, response: Response) -> Iterator[Any]:
        yield self._record(response)
        self._change(response)
        try:
            entries = feeds.parse_feed(
                self._readable(response), self.settings.getint("DOWNLOAD_MAXSIZE")
            )
        except ValueError as exc:
            self._unreadable(response, exc)
            return
        yield from self._follow(entries, 0.0, False, self._replay_of(response))

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        yield self._record(response)
        self._change(response)
        try:
            sitemap = feeds.parse_sitemap(
                self._readable(response), self.settings.getint("DOWNLOAD_MAXSIZE")
            )
        except ValueError as exc:
            self._unreadable(response, exc)
            return
        replay = self._replay_of(response)
        if not sitemap.is_index:
            yield from self._follow(sitemap.entries, 0.0, False, replay)
            return
        for entry in sitemap.entries:
            if self.scope.allows(entry.url) and (
                request := self._request(entry.url, "sitemap", NAVIGATION_PRIORITY, replay=replay)
            ):
                yield request

    def parse_search(self, response: Response) -> Iterator[Any]:
        """A search engine's results, followed like feed entries. They lie on any outlet, so
        the scope takes in each result's page, not its site (see crawler.discovery.scope)."""
        yield self._record(response)
        self._change(response)
        queried = response.meta.get("redirect_urls", [response.url])[0]
        # None for a query an interrupted run left queued, when the story no longer asks it.
        source = next((s for s in self._search if queried.startswith(s.endpoint)), None)
        if source is None:
            return
        try:
            results = source.parse(self._readable(response))
        except SearchError as exc:
            logger.warning("Search %s failed: %s", queried, exc)
            self.crawler.stats.inc_value("storycrawl/search/errors")
            return
        self.crawler.stats.inc_value("storycrawl/search/results", len(results))
        self.scope = self.scope.with_pages(result.url for result in results)
        yield from self._follow(results, 0.0, from_listing=False)

    def parse_archive(self, response: Response) -> Iterator[Any]:
        """A web archive's captures of an outlet in the story's window: each page's URL
        scored like a link, feeds and sitemaps read, all fetched from the archive."""
        yield self._record(response)
        try:
            answer = self._archives.answer(response)
        except CdxError as exc:
            logger.warning("Web archive answer %s: %s", response.url, exc)
            self.crawler.stats.inc_value("storycrawl/archive/errors")
            return
        if answer is None:  # asked by an interrupted run, of an archive no longer named
            return
        archive, captures = answer
        self.crawler.stats.inc_value("storycrawl/archive/captures", len(captures))
        for capture in captures:
            at = archive.replay(self._archives.moment).at(capture.timestamp)
            if capture.kind == "page":
                yield from self._follow([Candidate(capture.url)], 0.0, False, at)
            elif self.scope.allows(capture.url) and (
                request := self._request(capture.url, capture.kind, NAVIGATION_PRIORITY, replay=at)
            ):
                yield request

    def parse_lookup(self, response: Response) -> Iterator[Any]:
        """A web archive's captures of a URL it served an error page for: the request
        again, for a capture with status 200 if there is one."""
        yield self._record(response)
        try:
            again = self._archives.looked_up(response)
        except CdxError as exc:
            logger.warning("Web archive answer %s: %s", response.url, exc)
            again = None
        failed = response.meta["storycrawl_lookup"]
        if again:
            yield again
        elif failed.meta.get("storycrawl_kind") == "seed":
            self._seed_problem(live_url(failed.url), "is archived only as an error page")
            self._seed_done()

    def _replay_of(self, response: Response) -> Replay | None:
        """Where a page's links are asked for: the web archive that served the page, at
        its capture time; None for a page of the live web."""
        replay: Replay | None = response.meta.get("storycrawl_replay")
        archived = response.meta.get("storycrawl_archived")
        return replay.at(archived.timestamp) if replay and archived else replay

    def _archive_retry(self, failure: Failure) -> Request | None:
        """A failed fetch asked of a web archive instead (ArchiveSources.instead); never
        after a refusal by robots.txt or a redirect to a known page. A site whose robots.txt
        does not answer at all is unreachable, not refusing: its archived pages are asked."""
        status = failure.value.response.status if failure.check(HttpError) else None
        if status is None and failure.check(IgnoreRequest, KnownPage) and not _unreachable(failure):
            return None
        retry = self._archives.instead(failure.request, status, self.parse_lookup)
        if retry is not None:
            self.crawler.stats.inc_value(f"storycrawl/archive/retries/{status or 'unreachable'}")
        return retry

    def _requisites(self, response: Response) -> Iterator[Request]:
        """Requests for what an accepted article loads (crawler.discovery.requisites),
        asked of the web archive that served the article, if one did."""
        if self.config.requisites and isinstance(response, HtmlResponse):
            replay = self._replay_of(response)
            for url in page_requisites(response):
                yield self._requisite(url, replay)

    def _requisite(self, url: str, replay: Replay | None) -> Request:
        # No frontier candidate: a requisite is no page of the story. Scrapy's dupefilter
        # fetches a logo shared by every article once; an identical payload at another
        # URL becomes a revisit record (crawler.capture).
        return Request(
            replay.url(url) if replay else url,
            self.parse_requisite,
            errback=self.fetch_failed,
            priority=REQUISITE_PRIORITY,
            meta={"storycrawl_replay": replay} if replay else {},
        )

    def parse_requisite(self, response: Response) -> Iterator[Any]:
        yield self._record(response)
        self.crawler.stats.inc_value("storycrawl/requisites")
        content_type = response.headers.get("Content-Type") or b""
        if content_type.split(b";")[0].strip().lower() == b"text/css":
            replay = self._replay_of(response)
            for url in stylesheet_requisites(response):
                yield self._requisite(url, replay)

    def _judge(self, extraction: Extraction) -> Verdict:
        """The verdict on a page; a match joins the story's accepted set, against which
        later pages are judged too (anchored to the seeds: see archive.judge.story). The page's
        features were computed in the extraction worker (ExtractorPool's ``analyse``)."""
        return self.profile.follow(extraction.analysis)

    def _unreadable(self, response: Response, error: Exception) -> None:
        logger.warning("Ignoring %s: %s", response.url, error)
        self.crawler.stats.inc_value("storycrawl/unreadable_feeds_and_sitemaps")

    # -- failures -------------------------------------------------------------------------

    def seed_failed(self, failure: Failure) -> Iterator[Any]:
        yield from self._failed(failure)
        if retry := self._archive_retry(failure):
            yield retry  # whose own failure is the seed's problem
            return
        self._seed_problem(live_url(failure.request.url), _failure_reason(failure))
        self._seed_done()

    def fetch_failed(self, failure: Failure) -> Iterator[Any]:
        yield from self._failed(failure)
        if retry := self._archive_retry(failure):
            yield retry

    def _failed(self, failure: Failure) -> Iterator[Any]:
        """An HTTP error page is still a page fetched and archived: keep its row. Any other
        failure leaves the candidate's state and why."""
        if failure.check(HttpError):
            yield self._record(failure.value.response)
            return
        if failure.check(KnownPage):
            return  # the redirect's source is settled as redirected, its target is known
        key = canonical(live_url(failure.request.url))
        if failure.check(IgnoreRequest) and "robots.txt" in str(failure.value):
            yield Decided(
                key,
                "blocked_by_robots",
                features={"reason": SITE_UNREACHABLE} if _unreachable(failure) else None,
            )
            return
        self.crawler.stats.inc_value(f"storycrawl/failed/{failure.type.__name__}")
        yield Decided(key, "failed", features={"error": _failure_reason(failure)})

    def _add_seed(self, document: Document) -> None:
        self.profile.add_seed(document)
        if self.shared is not None:  # the other workers build their profile from it
            self.shared.add_seed(document)

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
        change = self.frontier.history.kind_of_change(
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
        try:
            return kind(url=response.url, body=record.decoded(), headers=headers)
        except TooLarge:  # a capture cut short as a decompression bomb: nothing to read
            return Response(response.url)

    async def _extract(self, response: Response) -> Extraction | None:
        """The page's extraction, with its document and the judge's features of it; None
        for non-text, for pages without text, and for bodies a limit cut short, whose text
        would be a fragment judged as if it were the article.

        The page is extracted with its outlet's site model, and its blocks are counted
        towards that model (archive.chrome); a model the page grew is saved at once, off
        the reactor thread, so that the next crawl and `reextract` start from it."""
        if not isinstance(response, TextResponse):
            return None
        if response.meta.get("storycrawl_truncated") or "dataloss" in response.flags:
            self.crawler.stats.inc_value("storycrawl/truncated_not_extracted")
            return None
        assert self._pool is not None
        model = self._chrome.model(response.url)
        try:
            extraction = await self._pool.extract(response.text, response.url, model)
        except Exception:
            logger.exception("Extraction failed for %s", response.url)
            self.crawler.stats.inc_value("storycrawl/extract_errors")
            return None
        if extraction is None:
            return None
        if grown := self._chrome.learn(canonical(response.url), extraction.fingerprints):
            self.crawler.stats.inc_value("storycrawl/site_models_grown")
            await asyncio.to_thread(self.store.save_site_model, grown)
        return extraction if extraction.document is not None else None

    def _record(
        self, response: Response, document: Document | None = None, verdict: Verdict | None = None
    ) -> PageRecord:
        canonical_url = canonical(response.url)
        # A redirect's target is fetched now: a link to it found later must not queue it.
        self.frontier.fetched(response.url)
        if (
            document
            and document.canonical_url
            and host_of(document.canonical_url) == host_of(response.url)
        ):
            # The page names the URL it is known by (rel=canonical, og:url): a link to that
            # one is this article again.
            canonical_url = canonical(document.canonical_url)
            self.frontier.fetched(document.canonical_url)
        content_type = response.headers.get("Content-Type")
        self.crawler.stats.inc_value("storycrawl/run/fetched")
        etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
        return PageRecord(
            state=_state(response, verdict),
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
            archived=response.meta.get("storycrawl_archived"),
        )


def _state(response: Response, verdict: Verdict | None) -> str:
    """The candidate state a fetched page ends in (see archive.db.items.CANDIDATE_STATES)."""
    if response.status >= 400:
        return "failed"
    if verdict is None:
        return "fetched"
    if verdict.is_match:
        return "accepted"
    return "out_of_window" if verdict.reasons.get("in_window") is False else "rejected"


def _unreachable(failure: Failure) -> bool:
    """Whether a request was refused because its site's robots.txt did not answer."""
    return failure.check(IgnoreRequest) is not None and SITE_UNREACHABLE in str(failure.value)


def _failure_reason(failure: Failure) -> str:
    if failure.check(HttpError):
        return f"answered HTTP {failure.value.response.status}"
    message = str(failure.value).strip() or failure.type.__name__
    if "robots.txt" in message.lower() or failure.type.__name__ == "IgnoreRequest":
        return f"could not be fetched: {message}"
    return f"could not be fetched ({failure.type.__name__}: {message})"

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
from scrapy.exceptions import CloseSpider, IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.responsetypes import responsetypes
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from archive.chrome import ChromeLearner
from archive.db.items import Decided, Noted, PageRecord
from archive.extract import Document, Extraction, ExtractorPool
from archive.urls import canonical, host_of, original_of
from archive.warc import read_record
from crawler.config import Config, user_agent
from crawler.discovery import Candidate, feeds, links, sitemaps_found
from crawler.discovery.scope import Scope
from crawler.discovery.search import SearchError, search_sources
from crawler.discovery.traps import TrapRules, url_date
from crawler.features import features_of
from crawler.frontier import History
from crawler.guard import KnownPage
from crawler.story import SEED_VERDICT, StoryProfile, Verdict
from crawler.storyfile import StoryDefinition, parse_duration, story_from_file

logger = logging.getLogger(__name__)

SEED_PRIORITY = 10_000
#: A run lock this old is a crashed run's, when its holder cannot be checked (another host).
LOCK_STALE_AFTER = 24 * 3600
#: An entry or URL dated this far outside the story's window is not fetched at all: wire
#: copy is republished a day or two later, and time zones shift dates by one.
WINDOW_SLACK = timedelta(days=2)
#: Home, section and pagination pages: worth fetching early, since their headlines steer.
NAVIGATION_PRIORITY = 300


def story_settings(story: StoryDefinition) -> dict[str, Any]:
    """The Scrapy settings a story file sets (at 'spider' priority: ``-s`` still wins)."""
    settings: dict[str, Any] = {
        "STORYCRAWL_DATA_DIR": str(story.data),
        "STORYCRAWL_NAMED_HOSTS": sorted(story.named_hosts),
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
        self._noted: set[str] = set()  # seen, not requested, and recorded as such
        self._settled_links: set[str] = set()  # link URLs, as written, whose fate is final
        self.traps = TrapRules(max_per_site=story.max_pages_per_site)
        self._seeds_left = len(story.seeds)
        # Set once every seed is fetched and read: no link can be scored before.
        self._profile_ready = asyncio.Event()
        self._announced_sitemaps: list[str] = []
        self._pool: ExtractorPool | None = None
        self.store = config.prepare_storage()
        self.history = History(self.store, story.name, parse_duration(story.recrawl_after))
        self._lock_holder = f"{socket.gethostname()}:{os.getpid()}"
        self._search = search_sources(story.search, config)  # none unless the story asks
        self._callbacks = {
            "seed": self.parse_seed,
            "page": self.parse_page,
            "feed": self.parse_feed,
            "sitemap": self.parse_sitemap,
            "search": self.parse_search,
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
        crawler.signals.connect(spider._sitemaps_found, signal=sitemaps_found)
        return spider

    async def start(self) -> AsyncIterator[Request]:
        holder = self.store.acquire_lock(self.story.name, self._lock_holder, LOCK_STALE_AFTER)
        if holder:
            self.locked_by = holder
            raise CloseSpider("story_locked")
        self._pool = ExtractorPool(self.config.extract_workers, analyse=features_of)
        # What earlier crawls and re-extractions learned of each outlet's chrome.
        self._chrome = ChromeLearner(self.store.site_models())
        for url in self.story.seeds:
            if request := self._request(url, "seed", SEED_PRIORITY):
                yield request
            else:  # archived recently, or by the run this one resumes: use what is stored
                self._stored_seed(url)
                self._seed_done()
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
        for queued in self.history.frontier:  # what an earlier run scheduled and never fetched
            if request := self._request(queued.url, queued.kind, queued.priority, queued.depth):
                yield request

    def closed(self, reason: str) -> None:
        if self._pool:
            self._pool.close()
        if reason != "story_locked":
            self.store.release_lock(self.story.name, self._lock_holder)

    # -- requests -------------------------------------------------------------------------

    def _request(
        self,
        url: str,
        kind: str,
        priority: int,
        depth: int = 0,
        score: float | None = None,
        features: dict | None = None,
    ) -> Request | Noted | None:
        """A request for a URL not yet requested in this crawl, within the page budgets and
        the trap rules, and not archived recently (conditional when archived long enough
        ago); a Noted item when a budget or a rule refuses it, None when nothing is new.

        Seen URLs are dropped here, before a Request exists: a news page carries dozens of
        links, most already known, and building Requests only for the dupefilter to discard
        them costs more than the crawl itself. An AMP or print copy is fetched as its
        article, which is what the archive should hold.
        """
        url = original_of(url)
        key = canonical(url)
        if moved_to := self.history.redirects.get(key):  # an earlier run was redirected
            url, key = moved_to, canonical(moved_to)
        if key in self._requested:
            return None
        refusal = None
        if len(self._requested) >= self.story.max_pages:
            refusal = ("over_budget", f"story budget of {self.story.max_pages} pages")
        elif kind != "seed":  # the user named the seeds: no rule second-guesses them
            refusal = self.traps.refusal(url)
        if refusal:
            state, rule = refusal
            self.crawler.stats.inc_value(f"storycrawl/refused/{state}")
            return self._note(url, kind, state, score, {**(features or {}), "rule": rule})
        self._requested.add(key)
        decision = self.history.decide(key)
        if decision.skip:
            self.crawler.stats.inc_value("storycrawl/incremental/not_fetched")
            return None
        meta: dict[str, Any] = {
            "storycrawl_kind": kind,
            "storycrawl_score": score,
            "storycrawl_features": features,
        }
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

    def known_target(self, redirected: Request) -> str | None:
        """Why a redirect's target is not worth fetching (requested already under another
        URL, or archived by an earlier run), or None when it is; see KnownRedirects."""
        key = canonical(redirected.url)
        # A redirect onto the same key (tracking parameters dropped) is the page itself.
        sources = {canonical(url) for url in redirected.meta["redirect_urls"]}
        if key in self._requested and key not in sources:
            return "requested already"
        self._requested.add(key)
        return self.history.decide(key).skip

    def _note(
        self, url: str, kind: str, state: str, score: float | None, features: dict
    ) -> Noted | None:
        """A URL not fetched, recorded once with why (see archive.db.items.CANDIDATE_STATES)."""
        key = canonical(url)
        if key in self._requested or key in self._noted:
            return None
        self._noted.add(key)
        return Noted(key, url, kind, state, None if score is None else round(score, 4), features)

    def _out_of_window(self, candidate: Candidate) -> str | None:
        """Why an entry or link is dated outside the story's window, before fetching it:
        its feed or news-sitemap date, a date in its URL, or a sitemap lastmod before the
        window (a page last changed before the story began was published before it too)."""
        since, until = self.story.since, self.story.until
        published = candidate.published or url_date(candidate.url)
        if published and since and published < since - WINDOW_SLACK:
            return f"published {published}, before {since}"
        if published and until and published > until + WINDOW_SLACK:
            return f"published {published}, after {until}"
        if candidate.modified and since and candidate.modified < since - WINDOW_SLACK:
            return f"last modified {candidate.modified}, before {since}"
        return None

    def _follow(
        self, candidates: Iterable[Candidate], parent_score: float, from_listing: bool
    ) -> Iterator[Request | Noted]:
        for candidate in candidates:
            # Most links of a page were seen on the pages before it: the raw URL, before
            # canonicalising and scoring it, is the cheapest test there is. Only a final
            # fate is remembered so: a link not worth it from one page (its anchor "More",
            # or a section seen from an article) may be from another.
            if candidate.url in self._settled_links:
                continue
            if not self.scope.allows(candidate.url):
                self._settled_links.add(candidate.url)
                continue
            features: dict[str, Any] = {"text": candidate.text[:200]}
            if outside := self._out_of_window(candidate):
                self._settled_links.add(candidate.url)
                features["window"] = outside
                if noted := self._note(candidate.url, "page", "out_of_window", None, features):
                    self.crawler.stats.inc_value("storycrawl/skipped_out_of_window")
                    yield noted
                continue
            score = self.profile.link_score(candidate.text, candidate.url)
            features.update(link_score=round(score, 4), parent_score=round(parent_score, 4))
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
            if candidate.navigation:
                features["navigation"] = candidate.navigation
            if follow:
                self._settled_links.add(candidate.url)
                item = self._request(candidate.url, "page", priority, 0, score, features)
            else:
                item = self._note(candidate.url, "page", "discovered", score, features)
            if item:
                yield item

    def _sitemaps_found(self, urls: list[str]) -> None:
        """Sitemaps a robots.txt lists: held back until the seeds have proved good."""
        if not self._profile_ready.is_set():
            self._announced_sitemaps.extend(urls)
            return
        for url in urls:
            if self.scope.allows(url):
                request = self._request(url, "sitemap", NAVIGATION_PRIORITY)
                if isinstance(request, Request):  # a refusal is no news: robots.txt named it
                    self.crawler.engine.crawl(request)

    # -- callbacks ------------------------------------------------------------------------

    def _stored_seed(self, url: str) -> None:
        stored = self.store.stored_document(self.story.name, canonical(url))
        if stored is None:
            self._seed_problem(url, "is archived without article text")
        else:
            self.profile.add_seed(stored)

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
                    self.profile.add_seed(document)
                    yield self._record(response, document, SEED_VERDICT)
        except Exception as exc:
            self._seed_problem(response.url, f"could not be read ({type(exc).__name__}: {exc})")
            raise
        finally:  # however it went, the crawl must not wait for this seed forever
            self._seed_done()
        await self._profile_ready.wait()
        page = self._readable(response)
        if isinstance(page, HtmlResponse) and not self.problem:
            found = links.page_links(page, self.story.broad, self._settled_links)
            for request in self._follow(found, 1.0, from_listing=False):
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
            extraction = await self._extract(page) if self.config.extract else None
            document = extraction.document if extraction else None
            verdict = self._judge(extraction) if extraction else None
            yield self._record(response, document, verdict)
            listing = document is None or not document.is_article
        if verdict and verdict.is_match:
            self.crawler.stats.inc_value("storycrawl/matches")
            if change == "new":
                self.crawler.stats.inc_value("storycrawl/run/new_matches")
        if not isinstance(page, HtmlResponse):
            return
        for url in links.feed_links(page):
            if self.scope.allows(url) and (
                request := self._request(url, "feed", NAVIGATION_PRIORITY)
            ):
                yield request
        score = verdict.score if verdict else 0.0
        found = links.page_links(page, self.story.broad, self._settled_links)
        for request in self._follow(found, score, from_listing=listing):
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
        yield from self._follow(entries, 0.0, from_listing=False)

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
        if not sitemap.is_index:
            yield from self._follow(sitemap.entries, 0.0, from_listing=False)
            return
        for entry in sitemap.entries:
            if self.scope.allows(entry.url) and (
                request := self._request(entry.url, "sitemap", NAVIGATION_PRIORITY)
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

    def _judge(self, extraction: Extraction) -> Verdict:
        """The verdict on a page; a match joins the story's accepted set, against which
        later pages are judged too (anchored to the seeds: see crawler.judge). The page's
        features were computed in the extraction worker (ExtractorPool's ``analyse``)."""
        return self.profile.follow(extraction.analysis)

    def _unreadable(self, response: Response, error: Exception) -> None:
        logger.warning("Ignoring %s: %s", response.url, error)
        self.crawler.stats.inc_value("storycrawl/unreadable_feeds_and_sitemaps")

    # -- failures -------------------------------------------------------------------------

    def seed_failed(self, failure: Failure) -> Iterator[Any]:
        yield from self.fetch_failed(failure)
        self._seed_problem(failure.request.url, _failure_reason(failure))
        self._seed_done()

    def fetch_failed(self, failure: Failure) -> Iterator[Any]:
        """An HTTP error page is still a page fetched and archived: keep its row. Any other
        failure leaves the candidate's state and why."""
        if failure.check(HttpError):
            yield self._record(failure.value.response)
            return
        if failure.check(KnownPage):
            return  # the redirect's source is settled as redirected, its target is known
        key = canonical(failure.request.url)
        if failure.check(IgnoreRequest) and "robots.txt" in str(failure.value):
            yield Decided(key, "blocked_by_robots")
            return
        self.crawler.stats.inc_value(f"storycrawl/failed/{failure.type.__name__}")
        yield Decided(key, "failed", features={"error": _failure_reason(failure)})

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
        self._requested.add(canonical_url)
        if (
            document
            and document.canonical_url
            and host_of(document.canonical_url) == host_of(response.url)
        ):
            # The page names the URL it is known by (rel=canonical, og:url): a link to that
            # one is this article again.
            canonical_url = canonical(document.canonical_url)
            self._requested.add(canonical_url)
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


def _failure_reason(failure: Failure) -> str:
    if failure.check(HttpError):
        return f"answered HTTP {failure.value.response.status}"
    message = str(failure.value).strip() or failure.type.__name__
    if "robots.txt" in message.lower() or failure.type.__name__ == "IgnoreRequest":
        return f"could not be fetched: {message}"
    return f"could not be fetched ({failure.type.__name__}: {message})"

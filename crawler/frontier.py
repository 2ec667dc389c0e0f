"""What to fetch next: one request per article, within the story's budgets and the trap
rules, and only what the story's archive does not hold already.

Every URL the crawl comes across is keyed by its canonical URL (archive.urls): an AMP or
print copy is fetched as its article, a URL an earlier run saw redirected as its target.
A key is requested once per crawl; a URL a budget or a trap rule refuses, or that the link
policy judged not worth fetching, is noted once with why.

A story is crawled again and again as it unfolds. An article archived recently is not
fetched again; one archived longer ago than ``recrawl_after`` is fetched conditionally,
with the validators its server gave (If-None-Match, If-Modified-Since); listing pages,
feeds and sitemaps are always polled, conditionally too. A run that follows one which did
not finish (Ctrl-C, SIGTERM, SIGKILL) is a resume: nothing that run fetched is fetched again,
and its frontier is taken up where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from archive.db.engine import now
from archive.db.items import Archived, Noted
from archive.db.repository import Store
from archive.urls import canonical, original_of
from archive.warc import Original
from crawler.discovery.traps import TrapRules
from crawler.schema import parse_duration
from crawler.storyfile import StoryDefinition


@dataclass(frozen=True)
class Decision:
    """``skip`` says why a URL is not fetched; otherwise the headers that make it conditional
    and the capture a 304 answer will refer to."""

    skip: str | None = None
    headers: dict[str, str] | None = None
    previous: Archived | None = None

    @property
    def original(self) -> Original | None:
        return self.previous.original if self.previous else None


class History:
    """The story's archive as this run starts."""

    def __init__(self, store: Store, story: str, recrawl_after: timedelta):
        self.recrawl_after = recrawl_after
        self.archived = store.archived(story)
        #: The crawls this run resumes: every one since the last that finished.
        self.resumes = store.interrupted_crawls(story)
        self.frontier = store.queued(story)
        #: What the resumed runs got an answer for, by frontier key.
        self.answered = store.answered(story, self.resumes) if self.resumes else frozenset()
        #: Redirected URLs and their targets: a moved article is not fetched twice a run.
        self.redirects = store.redirects(story)

    def decide(self, canonical_url: str) -> Decision:
        if canonical_url in self.answered:
            return Decision(skip="fetched by the run this one resumes")
        previous = self.archived.get(canonical_url)
        if previous is None:
            return Decision()
        if previous.crawl_id in self.resumes:
            return Decision(skip="fetched by the run this one resumes")
        if previous.is_article and now() - previous.fetched_at < self.recrawl_after:
            return Decision(skip="archived less than recrawl_after ago")
        headers = {}
        if previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
        return Decision(headers=headers, previous=previous)

    def kind_of_change(self, canonical_url: str, status: int, digest: str | None) -> str:
        """'new', 'changed' or 'not_modified': this run's figure a fetched page counts in."""
        previous = self.archived.get(canonical_url)
        if previous is None:
            return "new"
        if status == 304 or (digest is not None and digest == previous.payload_digest):
            return "not_modified"
        return "changed"


class Stats(Protocol):
    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None: ...


@dataclass(frozen=True)
class Admitted:
    """A URL to request: what to fetch (the article for its copy, a moved URL's target),
    its key, and what the story's archive holds of it (see :class:`Decision`)."""

    url: str
    key: str
    decision: Decision


class RequestedKeys(Protocol):
    """The keys requested or fetched in this crawl: this process's (:class:`LocalKeys`), or
    those of every worker of a shared crawl (crawler.distributed.shared.SharedKeys)."""

    def __contains__(self, key: str) -> bool: ...
    def __len__(self) -> int: ...
    def add(self, key: str) -> None: ...
    def claim(self, key: str) -> bool: ...


class LocalKeys(set[str]):
    def claim(self, key: str) -> bool:
        """Add the key; True when it is new."""
        if key in self:
            return False
        self.add(key)
        return True


class Frontier:
    """De-duplication, budgets, trap rules and the story's history, for one crawl.

    Built from values; :meth:`open` reads the history from the database when the crawl
    starts, not when it is built.
    """

    def __init__(
        self,
        story: StoryDefinition,
        requested: RequestedKeys | None = None,
        traps: TrapRules | None = None,
    ):
        """``requested`` and ``traps``: a shared crawl's (crawler.distributed), counted
        crawl-wide; by default this process's."""
        self.story = story
        self.stats: Stats | None = None
        self.traps = traps or TrapRules(max_per_site=story.max_pages_per_site)
        self.recrawl_after = parse_duration(story.recrawl_after)
        self.history: History | None = None
        self._requested = LocalKeys() if requested is None else requested
        self._noted: set[str] = set()  # keys seen, not requested, and recorded as such
        #: Link URLs, as written, whose fate is final: most links of a page were seen on the
        #: pages before it, and the raw URL is the cheapest test there is.
        self.settled: set[str] = set()

    def open(self, store: Store, stats: Stats) -> None:
        self.history = History(store, self.story.name, self.recrawl_after)
        self.stats = stats

    @property
    def resumed(self) -> list:
        """What an earlier run scheduled and never fetched: this run's to fetch."""
        assert self.history is not None
        return self.history.frontier

    def admit(self, url: str, kind: str) -> Admitted | Noted | None:
        """The URL to request, if its key is new to this crawl, within the budgets and the
        trap rules, and not archived recently; a Noted refusal when a budget or a rule
        refuses it; None when there is nothing to fetch.

        Seen URLs are dropped here, before a Request exists: a news page carries dozens of
        links, most already known, and building Requests only for the dupefilter to
        discard them costs more than the crawl itself.
        """
        assert self.history is not None and self.stats is not None
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
            self.stats.inc_value(f"storycrawl/refused/{state}")
            return self.note(url, kind, state, None, {"rule": rule})
        if not self._requested.claim(key):  # another worker of a shared crawl was first
            return None
        decision = self.history.decide(key)
        if decision.skip:
            self.stats.inc_value("storycrawl/incremental/not_fetched")
            return None
        return Admitted(url, key, decision)

    def note(
        self, url: str, kind: str, state: str, score: float | None, features: dict[str, Any]
    ) -> Noted | None:
        """A URL not fetched, recorded once with why (see archive.db.items.CANDIDATE_STATES)."""
        key = canonical(url)
        if key in self._requested or key in self._noted:
            return None
        self._noted.add(key)
        return Noted(key, url, kind, state, None if score is None else round(score, 4), features)

    def fetched(self, url: str) -> None:
        """A URL answered without being requested under its key (a redirect's target, the
        URL a page names as canonical): a link to it found later must not queue it."""
        self._requested.add(canonical(url))

    def known_target(self, target: str, sources: list[str]) -> str | None:
        """Why a redirect's target is not worth fetching (requested already under another
        URL, or archived by an earlier run), or None when it is."""
        assert self.history is not None
        key = canonical(target)
        # A redirect onto the same key (tracking parameters dropped) is the page itself.
        if key in self._requested and key not in {canonical(url) for url in sources}:
            return "requested already"
        self._requested.add(key)
        return self.history.decide(key).skip

"""What an earlier run already holds, and what this run should do about each URL.

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

from archive.db.engine import now
from archive.db.items import Archived
from archive.db.repository import Store
from archive.warc import Original


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
        last = store.last_crawl(story)
        #: The crawl this run resumes: the last one, if it did not finish.
        self.resumes = last[0] if last and last[1] not in ("finished", "bad_seed") else None
        self.frontier = store.queued(story)
        #: What the resumed run got an answer for, by frontier key.
        self.answered = store.answered(story, self.resumes) if self.resumes else frozenset()
        #: Redirected URLs and their targets: a moved article is not fetched twice a run.
        self.redirects = store.redirects(story)

    def decide(self, canonical_url: str) -> Decision:
        if canonical_url in self.answered:
            return Decision(skip="fetched by the run this one resumes")
        previous = self.archived.get(canonical_url)
        if previous is None:
            return Decision()
        if previous.crawl_id == self.resumes:
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

"""What the database holds, story by story: the figures `stories` and `show` print."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.db import models
from archive.db.engine import StoreError
from archive.db.repository import Store, holder_alive
from archive.export import newest_verdicts


@dataclass(frozen=True)
class StorySummary:
    name: str
    crawls: int
    pages: int
    matches: int
    last_crawl: datetime | None
    last_finish: str | None
    last_new_matches: int | None
    next_run: datetime | None  # None: no running scheduler will crawl it


@dataclass(frozen=True)
class Candidate:
    """A URL the story's crawls came across, what became of it, and why."""

    url: str
    state: str
    kind: str
    score: float | None
    features: dict
    title: str | None = None
    date: str | None = None
    duplicate_of: str | None = None

    @property
    def why(self) -> str:
        """The decisive feature in a few words: what a user reads in `storycrawl show`.
        Never empty: a row without a reason leaves the user guessing."""
        f = self.features
        if f.get("seed"):
            return "seed"
        if self.state == "duplicate" and self.duplicate_of:
            return f"a syndicated copy of {self.duplicate_of}"
        for key in ("rejected", "decision", "window", "rule", "error", "decisive"):
            if f.get(key):
                return str(f[key])
        if self.state == "redirected":
            return f"to {f.get('to')}"
        if self.state in ("discovered", "queued") and "link_score" in f:
            return f"link score {f['link_score']:.2f}: {f.get('text') or 'no anchor text'}"
        return _STATE_WHY.get((self.state, self.kind)) or _STATE_WHY.get(
            (self.state, None), self.state.replace("_", " ")
        )


#: What a state says when no feature tells more, by (state, kind); kind None: any kind.
_STATE_WHY = {
    ("fetched", "feed"): "a feed: read for its entries",
    ("fetched", "sitemap"): "a sitemap: read for its entries",
    ("fetched", "search"): "search results: read for coverage elsewhere",
    ("fetched", None): "a listing or a page not judged: read for its links",
    ("queued", None): "waiting to be fetched",
    ("discovered", None): "seen, not worth fetching",
    ("rejected", None): "scored below the threshold",
    ("accepted", None): "judged the same story",
    ("blocked_by_robots", None): "disallowed by robots.txt",
    ("failed", None): "the server answered with an error",
    ("over_budget", None): "the page budget was spent",
    ("trap", None): "a crawler trap",
}


#: The order `show` lists states in: what the story holds first.
STATE_ORDER = (
    "accepted", "duplicate", "rejected", "out_of_window", "fetched", "queued", "discovered",
    "redirected", "blocked_by_robots", "over_budget", "trap", "failed",
)  # fmt: skip


def story_summaries(store: Store) -> list[StorySummary]:
    with Session(store.engine) as session:
        crawls = (
            select(
                models.Crawl.story_id,
                func.count(models.Crawl.id).label("crawls"),
                func.max(models.Crawl.started_at).label("last"),
            )
            .group_by(models.Crawl.story_id)
            .subquery()
        )
        pages = (
            select(models.Crawl.story_id, func.count(models.Page.id).label("pages"))
            .join(models.Page, models.Page.crawl_id == models.Crawl.id)
            .group_by(models.Crawl.story_id)
            .subquery()
        )
        rows = session.execute(
            select(
                models.Story.id,
                models.Story.name,
                func.coalesce(crawls.c.crawls, 0),
                func.coalesce(pages.c.pages, 0),
                crawls.c.last,
            )
            .outerjoin(crawls, crawls.c.story_id == models.Story.id)
            .outerjoin(pages, pages.c.story_id == models.Story.id)
            .order_by(models.Story.name)
        ).all()
        schedules = {
            row.story: row.next_run
            for row in session.scalars(select(models.StorySchedule))
            if holder_alive(row.holder)
        }
        summaries = []
        for story_id, name, n_crawls, n_pages, last in rows:
            crawl = session.scalar(
                select(models.Crawl)
                .where(models.Crawl.story_id == story_id)
                .order_by(models.Crawl.started_at.desc())
                .limit(1)
            )
            summaries.append(
                StorySummary(
                    name, n_crawls, n_pages, _match_count(session, story_id), last,
                    crawl.finish_reason if crawl else None,
                    crawl.new_matches if crawl else None,
                    schedules.get(name),
                )
            )  # fmt: skip
        return summaries


def _match_count(session: Session, story_id: int) -> int:
    """The story's matches as export counts them: each article once, by its newest
    verdict, syndicated copies left out (a copy is coverage counted twice)."""
    rows = session.execute(
        select(models.Page.canonical_url, models.Match.is_match, models.Match.duplicate_of)
        .join(models.Document, models.Document.page_id == models.Page.id)
        .join(models.Match, models.Match.document_id == models.Document.id)
        .where(models.Match.story_id == story_id)
        .order_by(
            models.Page.canonical_url, models.Page.fetched_at.desc(), models.Document.id.desc()
        )
        .execution_options(yield_per=5000)
    )
    count, previous = 0, None
    for url, is_match, duplicate_of in rows:
        if url != previous:
            previous = url
            count += bool(is_match and not duplicate_of)
    return count


def story_candidates(store: Store, name: str, state: str | None = None) -> list[Candidate]:
    """The story's candidate URLs (all, or those in one state): accepted first, then by
    state and score, each with the title and date of its newest document if it has one."""
    with Session(store.engine) as session:
        story = session.scalar(select(models.Story).where(models.Story.name == name))
        if story is None:
            raise StoreError(f"unknown story {name!r}")
        documents = {
            page.canonical_url: (document.title, document.date, match.duplicate_of)
            for page, document, match in newest_verdicts(session, story.id)
        }
        query = select(models.Candidate).where(models.Candidate.story_id == story.id)
        if state:
            query = query.where(models.Candidate.state == state)
        candidates = [
            Candidate(
                c.url, c.state, c.kind, c.score, c.features or {},
                *documents.get(c.canonical_url, (None, None, None)),
            )
            for c in session.scalars(query)
        ]  # fmt: skip
    rank = {s: i for i, s in enumerate(STATE_ORDER)}
    return sorted(
        candidates, key=lambda c: (rank.get(c.state, len(rank)), -(c.score or 0.0), c.url)
    )

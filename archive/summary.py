"""What the database holds, story by story: the figures `stories` and `show` print."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import models
from archive.export import newest_verdicts
from archive.store import Store, StoreError


@dataclass(frozen=True)
class StorySummary:
    name: str
    crawls: int
    pages: int
    matches: int
    last_crawl: datetime | None
    last_finish: str | None
    last_new_matches: int | None
    schedule: str | None


@dataclass(frozen=True)
class Candidate:
    """A judged document: the story's verdict on one page."""

    url: str
    title: str | None
    date: str | None
    score: float
    is_match: bool
    reasons: dict
    fetched_at: datetime


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
        matches = (
            select(
                models.Match.story_id,
                func.count(func.distinct(models.Page.canonical_url)).label("matches"),
            )
            .join(models.Document, models.Document.id == models.Match.document_id)
            .join(models.Page, models.Page.id == models.Document.page_id)
            .where(models.Match.is_match.is_(True))
            .group_by(models.Match.story_id)
            .subquery()
        )
        rows = session.execute(
            select(
                models.Story.id,
                models.Story.name,
                models.Story.definition,
                func.coalesce(crawls.c.crawls, 0),
                func.coalesce(pages.c.pages, 0),
                func.coalesce(matches.c.matches, 0),
                crawls.c.last,
            )
            .outerjoin(crawls, crawls.c.story_id == models.Story.id)
            .outerjoin(pages, pages.c.story_id == models.Story.id)
            .outerjoin(matches, matches.c.story_id == models.Story.id)
            .order_by(models.Story.name)
        ).all()
        summaries = []
        for story_id, name, definition, n_crawls, n_pages, n_matches, last in rows:
            crawl = session.scalar(
                select(models.Crawl)
                .where(models.Crawl.story_id == story_id)
                .order_by(models.Crawl.started_at.desc())
                .limit(1)
            )
            summaries.append(
                StorySummary(
                    name, n_crawls, n_pages, n_matches, last,
                    crawl.finish_reason if crawl else None,
                    crawl.new_matches if crawl else None,
                    definition.get("schedule"),
                )
            )  # fmt: skip
        return summaries


def story_candidates(store: Store, name: str) -> list[Candidate]:
    """Every judged document of the story, best first: its newest verdict per URL."""
    with Session(store.engine) as session:
        story = session.scalar(select(models.Story).where(models.Story.name == name))
        if story is None:
            raise StoreError(f"unknown story {name!r}")
        candidates = [
            Candidate(
                page.url, document.title, document.date, match.score, match.is_match,
                match.reasons, page.fetched_at,
            )
            for page, document, match in newest_verdicts(session, story.id)
        ]  # fmt: skip
        return sorted(candidates, key=lambda c: (-c.score, c.url))

"""Streaming corpus export: one record per article, the newest capture of each URL.

Rows come from the database in canonical-URL order with ``yield_per``, so memory stays flat
however large the corpus; a repeated canonical URL (a recrawl) is written once, newest first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.db import models
from archive.db.engine import StoreError
from archive.db.repository import Store

#: The export record of DESIGN.md, in its order; every format writes these columns.
EXPORT_FIELDS = (
    "url",
    "canonical_url",
    "title",
    "author",
    "date",
    "sitename",
    "language",
    "text",
    "story",
    "score",
    "is_match",
    "duplicate_of",
    "fetched_at",
    "status",
    "warc_file",
    "warc_offset",
    "warc_length",
    "payload_digest",
    "archive",
    "archive_url",
    "archived_at",
)


@dataclass(frozen=True)
class ExportFilter:
    story: str
    all: bool = False
    include_duplicates: bool = False
    min_score: float | None = None
    since: date | None = None
    until: date | None = None
    site: str | None = None  # a host name, or a URL whose host is taken
    language: str | None = None

    def keeps(self, record: dict) -> bool:
        if not self.all and not record["is_match"]:
            return False
        if not self.include_duplicates and record["duplicate_of"]:
            return False
        if self.min_score is not None and record["score"] < self.min_score:
            return False
        if self.language and record["language"] != self.language:
            return False
        if self.since or self.until:
            if not record["date"]:
                return False
            day = date.fromisoformat(record["date"][:10])
            if (self.since and day < self.since) or (self.until and day > self.until):
                return False
        if self.site:
            site = urlsplit(self.site).hostname if "//" in self.site else self.site
            host = urlsplit(record["url"]).hostname or ""
            if host != site and not host.endswith(f".{site}"):
                return False
        return True


def newest_verdicts(
    session: Session, story_id: int
) -> Iterator[tuple[models.Page, models.Document, models.Match]]:
    """The story's verdict on each canonical URL: its newest capture's newest document,
    streamed in canonical-URL order."""
    query = (
        select(models.Page, models.Document, models.Match)
        .join(models.Document, models.Document.page_id == models.Page.id)
        .join(models.Match, models.Match.document_id == models.Document.id)
        .where(models.Match.story_id == story_id)
        .order_by(
            models.Page.canonical_url, models.Page.fetched_at.desc(), models.Document.id.desc()
        )
        .execution_options(yield_per=500)
    )
    previous = None
    for page, document, match in session.execute(query):
        if page.canonical_url != previous:
            previous = page.canonical_url
            yield page, document, match


def story_names(store: Store) -> list[str]:
    with Session(store.engine) as session:
        return list(session.scalars(select(models.Story.name).order_by(models.Story.name)))


def export_records(store: Store, flt: ExportFilter) -> Iterator[dict]:
    """The export records of one story, streamed; StoreError for an unknown story.

    Each canonical URL is exported once: its newest capture, with that capture's newest
    document (re-extraction adds documents, never replaces them). Filters apply to that
    newest verdict, not to any older one.
    """
    with Session(store.engine) as session:
        story = session.scalar(select(models.Story).where(models.Story.name == flt.story))
        if story is None:
            known = ", ".join(story_names(store)) or "none yet"
            raise StoreError(f"unknown story {flt.story!r} (stories in this database: {known})")
        for page, document, match in newest_verdicts(session, story.id):
            record = {
                "url": page.url,
                "canonical_url": page.canonical_url,
                "title": document.title,
                "author": document.author,
                "date": document.date,
                "sitename": document.sitename,
                "language": document.language,
                "text": document.text,
                "story": story.name,
                "score": round(match.score, 4),
                "is_match": match.is_match,
                "duplicate_of": match.duplicate_of,
                "fetched_at": page.fetched_at.replace(tzinfo=UTC).isoformat(),
                "status": page.status,
                "warc_file": page.warc_file,
                "warc_offset": page.warc_offset,
                "warc_length": page.warc_length,
                "payload_digest": page.payload_digest,
                "archive": page.archive,
                "archive_url": page.archive_url,
                "archived_at": (
                    page.archived_at.replace(tzinfo=UTC).isoformat() if page.archived_at else None
                ),
            }
            if flt.keeps(record):
                yield record


def story_warc_files(store: Store, story: str) -> list[str]:
    """The WARC files holding a story's captures."""
    with Session(store.engine) as session:
        query = (
            select(models.Page.warc_file)
            .join(models.Crawl, models.Crawl.id == models.Page.crawl_id)
            .join(models.Story, models.Story.id == models.Crawl.story_id)
            .where(models.Story.name == story)
            .distinct()
            .order_by(models.Page.warc_file)
        )
        return list(session.scalars(query))

"""The database: stories, their crawls, the pages fetched, what was extracted and judged.

A page row is a capture (one fetch, one WARC response record); a document is what the
extractor made of it; a match is the story's verdict on that document. Keeping the three
apart lets re-extraction and re-judging add rows without touching what was fetched.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Story(Base):
    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    definition: Mapped[dict] = mapped_column(JSON)  # as of its last finished crawl
    created_at: Mapped[datetime]

    crawls: Mapped[list[Crawl]] = relationship(back_populates="story")


class Crawl(Base):
    __tablename__ = "crawls"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"))
    definition: Mapped[dict] = mapped_column(JSON)  # the story as this crawl was asked to run it
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    finish_reason: Mapped[str | None] = mapped_column(String(100))
    stats: Mapped[dict | None] = mapped_column(JSON)
    # The run's figures: fetched, answered 304 or unchanged, new URLs, changed, new matches.
    pages_fetched: Mapped[int | None]
    not_modified: Mapped[int | None]
    new_pages: Mapped[int | None]
    changed_pages: Mapped[int | None]
    new_matches: Mapped[int | None]

    story: Mapped[Story] = relationship(back_populates="crawls")


class Page(Base):
    __tablename__ = "pages"
    __table_args__ = (Index("ix_pages_url", "url"), Index("ix_pages_digest", "payload_digest"))

    id: Mapped[int] = mapped_column(primary_key=True)
    crawl_id: Mapped[int] = mapped_column(ForeignKey("crawls.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str] = mapped_column(Text)
    status: Mapped[int]
    content_type: Mapped[str | None] = mapped_column(String(200))
    fetched_at: Mapped[datetime]
    warc_file: Mapped[str] = mapped_column(String(300))
    warc_offset: Mapped[int]
    warc_length: Mapped[int]
    warc_record_id: Mapped[str] = mapped_column(String(100))
    warc_type: Mapped[str] = mapped_column(String(20))  # response, or revisit of one
    payload_digest: Mapped[str | None] = mapped_column(String(100))
    etag: Mapped[str | None] = mapped_column(String(300))  # validators for the next run's
    last_modified: Mapped[str | None] = mapped_column(String(100))  # conditional request
    # Fetched from a web archive, not the live web: which archive, its replay URL of the
    # capture, and when the archive captured the page.
    archive: Mapped[str | None] = mapped_column(Text)
    archive_url: Mapped[str | None] = mapped_column(Text)
    archived_at: Mapped[datetime | None]

    # One per extraction: re-extraction adds a document, the newest is the one exported.
    documents: Mapped[list[Document]] = relationship(back_populates="page")


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    date: Mapped[str | None] = mapped_column(String(40))
    sitename: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    simhash: Mapped[str] = mapped_column(String(16))
    is_article: Mapped[bool]
    extractor: Mapped[str] = mapped_column(String(100))  # whose text was kept
    extractor_version: Mapped[str | None] = mapped_column(String(40))
    # The site model that removed the outlet's chrome ("host@version"); null: none yet.
    site_model: Mapped[str | None] = mapped_column(String(300))
    # Re-extraction adds a newer document to the page; export takes the newest.
    created_at: Mapped[datetime]

    page: Mapped[Page] = relationship(back_populates="documents")
    matches: Mapped[list[Match]] = relationship(back_populates="document")


class Match(Base):
    """The story's verdict on a document: score, decision and the reasons for it."""

    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("story_id", "document_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    score: Mapped[float]
    is_match: Mapped[bool]
    reasons: Mapped[dict] = mapped_column(JSON)
    duplicate_of: Mapped[str | None] = mapped_column(Text)

    document: Mapped[Document] = relationship(back_populates="matches")


class Candidate(Base):
    """A URL a story's crawl came across, and what became of it: the kept frontier, and
    the record of every decision (why a link was not followed, why a page was rejected)."""

    __tablename__ = "candidates"
    __table_args__ = (
        UniqueConstraint("story_id", "canonical_url"),
        Index("ix_candidates_state", "story_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"))
    canonical_url: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))  # page, feed, sitemap or search
    state: Mapped[str] = mapped_column(String(20))  # one of archive.db.items.CANDIDATE_STATES
    priority: Mapped[int]
    depth: Mapped[int]
    score: Mapped[float | None]  # the link's pre-fetch score, then the page's verdict
    features: Mapped[dict | None] = mapped_column(JSON)  # what decided the state
    crawl_id: Mapped[int] = mapped_column(ForeignKey("crawls.id"))
    updated_at: Mapped[datetime]


class WarcFile(Base):
    """A WARC file a crawl wrote, named before it was opened: a resume reads the records
    of its crawl's files that have no page row (``crawler.replay``)."""

    __tablename__ = "warc_files"

    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    crawl_id: Mapped[int] = mapped_column(ForeignKey("crawls.id"), index=True)
    opened_at: Mapped[datetime]


class SiteModel(Base):
    """What one outlet's pages repeat: the fingerprints of its chrome (``archive.chrome``)."""

    __tablename__ = "site_models"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    version: Mapped[int]
    fingerprints: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime]


class StoryLock(Base):
    """Held by the one run of a story under way, whichever machine it runs on."""

    __tablename__ = "story_locks"

    story: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(300))
    acquired_at: Mapped[datetime]


class StorySchedule(Base):
    """A story a running scheduler (``storycrawl schedule``) will crawl, and when next."""

    __tablename__ = "story_schedules"

    story: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(300))  # host:pid of the scheduler
    schedule: Mapped[str] = mapped_column(String(200))
    next_run: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class Import(Base):
    """A WARC or WACZ file a story imported (``storycrawl import``): its pages point into
    it. Kept so that importing the same, unchanged file again reads nothing twice."""

    __tablename__ = "imports"
    __table_args__ = (UniqueConstraint("story_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"))
    crawl_id: Mapped[int] = mapped_column(ForeignKey("crawls.id"))  # the import's own run
    path: Mapped[str] = mapped_column(Text)  # absolute, as the page rows name it
    size: Mapped[int] = mapped_column(BigInteger)
    modified_at: Mapped[datetime]  # the file's mtime: with its size, how a change is seen
    records: Mapped[int]
    pages: Mapped[int]
    skipped: Mapped[dict] = mapped_column(JSON)  # why records were skipped, with counts
    imported_at: Mapped[datetime]

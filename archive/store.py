"""Engine and session handling, and the batched writes a crawl makes.

Every page is written with its document and match in the transaction of its batch, so a
crawl killed at any moment leaves whole pages or none. Writes run on one worker thread:
the reactor never waits on the database, and SQLite sees a single writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from archive import models
from archive.extract import Document
from archive.warc import Original, WarcRef, warc_date


class StoreError(Exception):
    """A database problem the user can fix; its message is the one line they are shown."""


def database_url(data_dir: Path, db: str | None) -> str:
    return db or f"sqlite:///{data_dir / 'storycrawl.db'}"


def open_engine(url: str) -> Engine:
    """An engine with the schema in place, or a StoreError that says what is wrong."""
    try:
        engine = create_engine(url)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use database URL {url!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        models.Base.metadata.create_all(engine)
    except OperationalError as exc:
        raise StoreError(f"cannot open database {engine.url!r}: {exc.orig}") from exc
    return engine


def _sqlite_pragmas(connection, _record) -> None:
    # WAL lets `export` read while a crawl writes; NORMAL sync is safe under WAL.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class PageRecord:
    """One fetched page with what was made of it: the item a crawl hands to storage."""

    url: str
    canonical_url: str
    status: int
    content_type: str | None
    fetched_at: datetime
    warc: WarcRef
    document: Document | None = None
    score: float | None = None
    is_match: bool = False
    reasons: dict = field(default_factory=dict)
    duplicate_of: str | None = None


class Store:
    def __init__(self, engine: Engine):
        self.engine = engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine) as session:
            try:
                yield session
                session.commit()
            except SQLAlchemyError as exc:
                session.rollback()
                raise StoreError(f"database error: {exc.__class__.__name__}: {exc}") from exc

    def story_id(self, name: str, definition: dict) -> int:
        """The story's row id, created with this definition on its first crawl."""
        with self.session() as session:
            story = session.scalar(select(models.Story).where(models.Story.name == name))
            if story is None:
                story = models.Story(name=name, definition=definition, created_at=now())
                session.add(story)
                session.flush()
            return story.id

    def start_crawl(self, story_id: int, definition: dict) -> int:
        with self.session() as session:
            crawl = models.Crawl(story_id=story_id, definition=definition, started_at=now())
            session.add(crawl)
            session.flush()
            return crawl.id

    def finish_crawl(self, crawl_id: int, reason: str, stats: dict) -> None:
        """Record how a crawl ended; only a finished one makes its definition the story's,
        so a run with a mistyped seed does not overwrite what the story was."""
        with self.session() as session:
            crawl = session.get_one(models.Crawl, crawl_id)
            crawl.finished_at = now()
            crawl.finish_reason = reason
            crawl.stats = stats
            if reason == "finished":
                crawl.story.definition = crawl.definition

    def original(self, digest: str) -> Original | None:
        """The first archived response with this payload digest: the digest index that
        makes a later capture of the same bytes a revisit, across crawls."""
        with Session(self.engine) as session:
            page = session.scalar(
                select(models.Page)
                .where(models.Page.payload_digest == digest, models.Page.warc_type == "response")
                .order_by(models.Page.fetched_at)
                .limit(1)
            )
            return (
                Original(page.url, warc_date(page.fetched_at), page.warc_record_id)
                if page
                else None
            )

    def write_pages(self, crawl_id: int, story_id: int, records: list[PageRecord]) -> None:
        with self.session() as session:
            for record in records:
                page = models.Page(
                    crawl_id=crawl_id,
                    url=record.url,
                    canonical_url=record.canonical_url,
                    status=record.status,
                    content_type=record.content_type,
                    fetched_at=record.fetched_at,
                    warc_file=record.warc.file,
                    warc_offset=record.warc.offset,
                    warc_length=record.warc.length,
                    warc_record_id=record.warc.record_id,
                    warc_type=record.warc.rec_type,
                    payload_digest=record.warc.payload_digest,
                )
                session.add(page)
                if record.document is None:
                    continue
                doc = record.document
                document = models.Document(
                    page=page,
                    title=doc.title,
                    author=doc.author,
                    date=doc.date,
                    sitename=doc.sitename,
                    language=doc.language,
                    text=doc.text,
                    simhash=doc.simhash,
                    is_article=doc.is_article,
                    extractor=doc.extractor,
                )
                session.add(document)
                if record.score is not None:
                    session.add(
                        models.Match(
                            story_id=story_id,
                            document=document,
                            score=record.score,
                            is_match=record.is_match,
                            reasons=record.reasons,
                            duplicate_of=record.duplicate_of,
                        )
                    )


class BatchWriter:
    """Collects page records and writes them in batches on one background thread."""

    def __init__(self, store: Store, crawl_id: int, story_id: int, batch_size: int):
        self.store = store
        self.crawl_id = crawl_id
        self.story_id = story_id
        self.batch_size = batch_size
        self._pending: list[PageRecord] = []
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storycrawl-db")
        self._sent: list[Future] = []
        self.written = 0

    def add(self, record: PageRecord) -> Future | None:
        """Queue a record; return the write's future when a batch was sent off."""
        self._pending.append(record)
        if len(self._pending) >= self.batch_size:
            return self.flush()
        return None

    def flush(self) -> Future:
        batch, self._pending = self._pending, []
        self.written += len(batch)
        future = self._thread.submit(self.store.write_pages, self.crawl_id, self.story_id, batch)
        self._sent = [f for f in self._sent if not f.done() or f.exception()] + [future]
        return future

    def close(self) -> None:
        """Write what is left and wait for every batch; raise the first write that failed."""
        if self._pending:
            self.flush()
        self._thread.shutdown(wait=True)
        for future in self._sent:
            future.result()

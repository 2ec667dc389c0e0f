"""Every query storycrawl makes, in one place: the crawl's writes, and what commands read.

Every page is written with its document and match, its candidate's new state and the
links found on it, in the transaction of its batch: a crawl killed at any moment leaves
whole pages or none, and never a URL marked fetched whose page or links are missing.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime
from itertools import zip_longest
from typing import Any

from sqlalchemy import Engine, bindparam, delete, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from archive.crashpoints import crash_point
from archive.db import models
from archive.db.engine import StoreError, now, one_line
from archive.db.items import (
    Archived,
    BatchItem,
    Decided,
    ImportedFile,
    Judged,
    Noted,
    PageRecord,
    Queued,
    RunFigures,
    StoredPage,
)
from archive.extract import Document
from archive.extract.chrome import SiteModel
from archive.urls import canonical
from archive.warc import Original, warc_date

#: Crawls that ended so are done with: a run after them starts afresh, it resumes nothing.
SETTLED_ENDS = ("finished", "bad_seed")
#: Candidate states that are no answer from the URL's server: a resume may fetch them.
UNANSWERED = ("queued", "discovered", "out_of_window", "over_budget", "trap")


class Store:
    def __init__(self, engine: Engine):
        self.engine = engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine) as session:
            try:
                yield session
                session.flush()
                crash_point("commit")
                session.commit()
            except SQLAlchemyError as exc:
                session.rollback()
                raise StoreError(
                    f"database error: {exc.__class__.__name__}: {one_line(exc)}"
                ) from exc

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

    def finish_crawl(self, crawl_id: int, reason: str, stats: dict, figures: RunFigures) -> None:
        """Record how a crawl ended; only a finished one makes its definition the story's,
        so a run with a mistyped seed does not overwrite what the story was."""
        with self.session() as session:
            crawl = session.get_one(models.Crawl, crawl_id)
            crawl.finished_at = now()
            crawl.finish_reason = reason
            crawl.stats = stats
            for name, value in vars(figures).items():
                setattr(crawl, name, value)
            if reason == "finished":
                crawl.story.definition = crawl.definition

    def interrupted_crawls(self, story: str) -> tuple[int, ...]:
        """The story's crawls since its last finished one, newest first: killed, stopped or
        failed, each resumed in turn by the next. A run resumes them all, so that what any
        of them fetched is not fetched again."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(models.Crawl.id, models.Crawl.finish_reason)
                .join(models.Story, models.Story.id == models.Crawl.story_id)
                .where(models.Story.name == story)
                .order_by(models.Crawl.id.desc())
            )
            interrupted = []
            for crawl_id, reason in rows:
                if reason in SETTLED_ENDS:
                    break
                interrupted.append(crawl_id)
            return tuple(interrupted)

    def add_warc_file(self, crawl_id: int, name: str) -> None:
        with self.session() as session:
            session.add(models.WarcFile(name=name, crawl_id=crawl_id, opened_at=now()))

    def warc_files(self, crawl_ids: tuple[int, ...]) -> list[str]:
        """The WARC files these crawls wrote, oldest first."""
        with Session(self.engine) as session:
            return list(
                session.scalars(
                    select(models.WarcFile.name)
                    .where(models.WarcFile.crawl_id.in_(crawl_ids))
                    .order_by(models.WarcFile.opened_at, models.WarcFile.name)
                )
            )

    def stored_records(self, files: list[str]) -> set[tuple[str, int]]:
        """The records of these files that page rows hold (file, offset)."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(models.Page.warc_file, models.Page.warc_offset).where(
                    models.Page.warc_file.in_(files)
                )
            )
            return {(name, offset) for name, offset in rows}

    def archived(self, story: str) -> dict[str, Archived]:
        """The newest capture of every URL the story's crawls fetched, by canonical URL."""
        with Session(self.engine) as session:
            articles = set(
                session.scalars(
                    select(models.Document.page_id).where(models.Document.is_article.is_(True))
                )
            )
            pages = session.scalars(
                select(models.Page)
                .join(models.Crawl, models.Crawl.id == models.Page.crawl_id)
                .join(models.Story, models.Story.id == models.Crawl.story_id)
                .where(models.Story.name == story)
                .order_by(models.Page.fetched_at)
                .execution_options(yield_per=1000)
            )
            found: dict[str, Archived] = {}
            for page in pages:
                before = found.get(page.canonical_url)
                original = before.original if before else None
                if page.warc_type == "response" and page.status == 200:
                    original = Original(
                        page.url,
                        warc_date(page.fetched_at),
                        page.warc_record_id,
                        page.payload_digest,
                    )
                found[page.canonical_url] = Archived(
                    url=page.url,
                    fetched_at=page.fetched_at,
                    crawl_id=page.crawl_id,
                    etag=page.etag or (before.etag if before else None),
                    last_modified=page.last_modified or (before.last_modified if before else None),
                    payload_digest=page.payload_digest,
                    is_article=page.id in articles or bool(before and before.is_article),
                    original=original,
                )
            return found

    def queued(self, story: str) -> list[Queued]:
        """The frontier a stopped crawl left: URLs scheduled but never fetched."""
        with Session(self.engine) as session:
            rows = session.scalars(
                select(models.Candidate)
                .join(models.Story, models.Story.id == models.Candidate.story_id)
                .where(models.Story.name == story, models.Candidate.state == "queued")
                .order_by(models.Candidate.priority.desc())
            )
            return [Queued(c.canonical_url, c.url, c.kind, c.priority, c.depth) for c in rows]

    def stored_document(self, story: str, canonical_url: str) -> Document | None:
        """The newest document of a URL in the story's archive (a seed not fetched again)."""
        with Session(self.engine) as session:
            row = session.execute(
                select(models.Page, models.Document)
                .join(models.Document, models.Document.page_id == models.Page.id)
                .join(models.Crawl, models.Crawl.id == models.Page.crawl_id)
                .join(models.Story, models.Story.id == models.Crawl.story_id)
                .where(models.Story.name == story, models.Page.canonical_url == canonical_url)
                .order_by(models.Page.fetched_at.desc(), models.Document.id.desc())
                .limit(1)
            ).first()
            if row is None:
                return None
            page, doc = row
            return Document(
                url=page.url, canonical_url=page.canonical_url, title=doc.title,
                author=doc.author, date=doc.date, sitename=doc.sitename, language=doc.language,
                text=doc.text, simhash=doc.simhash, is_article=doc.is_article,
                extractor=doc.extractor, extractor_version=doc.extractor_version,
                site_model=doc.site_model,
            )  # fmt: skip

    def site_models(self) -> list[SiteModel]:
        """Every outlet's learned chrome: where a crawl's or a re-extraction's learning starts."""
        with Session(self.engine) as session:
            rows = session.scalars(select(models.SiteModel))
            return [SiteModel.unpack(r.host, r.version, r.fingerprints) for r in rows]

    def save_site_model(self, model: SiteModel) -> None:
        """Keep a host's model, unless the database already holds a newer version (two
        learners, or two saves of one, may finish in any order)."""
        values = dict(
            host=model.host, version=model.version, fingerprints=model.packed(), updated_at=now()
        )
        with self.session() as session:
            table = models.SiteModel.__table__
            statement = _insert(session, table).values(**values)
            excluded = statement.excluded
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=["host"],
                    set_={k: excluded[k] for k in ("version", "fingerprints", "updated_at")},
                    where=table.c.version < excluded.version,
                )
            )

    def acquire_lock(self, story: str, holder: str, stale_after: float) -> str | None:
        """Take the story's run lock; return the current holder instead when another run
        has it (a lock older than ``stale_after`` seconds is a crashed run's: taken over).

        Two runs starting at the same instant may both find no lock; the primary key lets
        only one insert commit, and the other reads who won."""
        for _attempt in range(3):
            try:
                with Session(self.engine) as session, session.begin():
                    lock = session.get(models.StoryLock, story, with_for_update=True)
                    if lock is not None:
                        age = (now() - lock.acquired_at).total_seconds()
                        if age < stale_after and holder_alive(lock.holder):
                            since = f"{lock.acquired_at:%Y-%m-%d %H:%M:%S} UTC"
                            return f"{lock.holder} since {since}"
                        session.delete(lock)
                        session.flush()
                    session.add(models.StoryLock(story=story, holder=holder, acquired_at=now()))
                return None
            except IntegrityError:
                continue  # another run inserted first: read its lock
            except SQLAlchemyError as exc:
                raise StoreError(f"database error: {one_line(exc)}") from exc
        raise StoreError(f"could not take the run lock of story {story!r}")

    def set_schedule(
        self, story: str, holder: str, schedule: str, next_run: datetime | None
    ) -> None:
        """Record that a scheduler (``holder``) runs the story, and when it will next."""
        with self.session() as session:
            row = session.get(models.StorySchedule, story)
            if row is None:
                row = models.StorySchedule(story=story)
                session.add(row)
            row.holder, row.schedule, row.next_run = holder, schedule, next_run
            row.updated_at = now()

    def clear_schedules(self, holder: str) -> None:
        """A stopping scheduler's stories have no next run any more (unless another
        scheduler took them over since)."""
        with self.session() as session:
            session.execute(
                delete(models.StorySchedule).where(models.StorySchedule.holder == holder)
            )

    def latest_run(self, story: str) -> tuple[str | None, RunFigures] | None:
        """How the story's latest crawl ended, and its figures: what a scheduler logs."""
        with Session(self.engine) as session:
            crawl = session.scalar(
                select(models.Crawl)
                .join(models.Story, models.Story.id == models.Crawl.story_id)
                .where(models.Story.name == story)
                .order_by(models.Crawl.id.desc())
                .limit(1)
            )
            if crawl is None:
                return None
            figures = {f.name: getattr(crawl, f.name) or 0 for f in fields(RunFigures)}
            return crawl.finish_reason, RunFigures(**figures)

    def release_lock(self, story: str, holder: str) -> None:
        with self.session() as session:
            lock = session.get(models.StoryLock, story)
            if lock is not None and lock.holder == holder:
                session.delete(lock)

    def answered(self, story: str, crawl_ids: tuple[int, ...]) -> frozenset[str]:
        """The candidates these crawls queued and got an answer for (or a refusal from
        robots.txt or the network): what a run resuming them must not fetch again. Keyed
        as the frontier keys them, which a page's own canonical URL (rel=canonical) may not
        be."""
        with Session(self.engine) as session:
            rows = session.scalars(
                select(models.Candidate.canonical_url)
                .join(models.Story, models.Story.id == models.Candidate.story_id)
                .where(
                    models.Story.name == story,
                    models.Candidate.crawl_id.in_(crawl_ids),
                    models.Candidate.state.not_in(UNANSWERED),
                )
            )
            return frozenset(rows)

    def redirects(self, story: str) -> dict[str, str]:
        """Where the story's redirected URLs led (canonical URL -> the URL redirected to):
        a later run fetches the target at once, and the target's own history decides."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(models.Candidate.canonical_url, models.Candidate.features)
                .join(models.Story, models.Story.id == models.Candidate.story_id)
                .where(models.Story.name == story, models.Candidate.state == "redirected")
            )
            return {key: features["to"] for key, features in rows if features and "to" in features}

    def response_digests(self) -> frozenset[str]:
        """Every payload digest archived as a full response (what a revisit can refer to).
        About 80 bytes each in memory: 80 MB a million pages."""
        with Session(self.engine) as session:
            query = select(models.Page.payload_digest).where(
                models.Page.warc_type == "response", models.Page.payload_digest.is_not(None)
            )
            return frozenset(session.scalars(query.distinct()))

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

    def write_batch(self, crawl_id: int, story_id: int, items: list[BatchItem]) -> None:
        """Pages with their documents and verdicts, and frontier changes, in one transaction.
        A page comes with its candidate's new state and the links found on it (see
        :func:`_unit_changes`)."""
        created_at = now()
        with self.session() as session:
            changes = [c for item in items for c in _unit_changes(item)]
            _change_candidates(session, story_id, crawl_id, changes, created_at)
            for record in items:
                if not isinstance(record, PageRecord):
                    continue
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
                    etag=record.etag,
                    last_modified=record.last_modified,
                )
                if record.archived:
                    page.archive = record.archived.archive
                    page.archive_url = record.archived.archive_url
                    page.archived_at = record.archived.archived_at
                session.add(page)
                if record.document is not None:
                    verdict = Judged(
                        page.id, record.document, record.score, record.is_match, record.reasons,
                        record.duplicate_of,
                    )  # fmt: skip
                    _add_document(session, page, verdict, created_at, story_id)

    def story_pages(self, story: str) -> list[StoredPage]:
        """The story's stored HTML pages, oldest first: what re-extraction works from."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(models.Page)
                .join(models.Crawl, models.Crawl.id == models.Page.crawl_id)
                .join(models.Story, models.Story.id == models.Crawl.story_id)
                .where(
                    models.Story.name == story,
                    models.Page.status == 200,
                    models.Page.content_type.like("text/html%"),
                )
                .order_by(models.Page.id)
            ).scalars()
            return [StoredPage(p.id, p.url, p.warc_file, p.warc_offset, p.warc_type) for p in rows]

    def document_site_models(self, story: str, matches_only: bool = False) -> dict[int, str | None]:
        """The site model of each stored page's newest document, by page id: re-extraction
        compares it with the outlets' current models to find the pages extracted before
        their outlet's chrome was known. ``matches_only``: pages whose newest document is a
        match of the story, the corpus a crawl leaves."""
        with Session(self.engine) as session:
            story_id = session.scalar(select(models.Story.id).where(models.Story.name == story))
            rows = session.execute(
                select(models.Document.page_id, models.Document.site_model, models.Match.is_match)
                .join(models.Page, models.Page.id == models.Document.page_id)
                .join(models.Crawl, models.Crawl.id == models.Page.crawl_id)
                .outerjoin(
                    models.Match,
                    (models.Match.document_id == models.Document.id)
                    & (models.Match.story_id == story_id),
                )
                .where(models.Crawl.story_id == story_id)
                .order_by(models.Document.id)
            )
            newest = {page_id: (site_model, is_match) for page_id, site_model, is_match in rows}
            return {
                page_id: site_model
                for page_id, (site_model, is_match) in newest.items()
                if is_match or not matches_only
            }

    def page_verdicts(self, story: str) -> dict[int, tuple[float, bool, dict]]:
        """The story's newest verdict on each stored page, by page id: score, match, why."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(models.Document.page_id, models.Match.score, models.Match.is_match,
                       models.Match.reasons)
                .join(models.Match, models.Match.document_id == models.Document.id)
                .join(models.Story, models.Story.id == models.Match.story_id)
                .where(models.Story.name == story)
                .order_by(models.Document.id)
            )  # fmt: skip
            return {
                page_id: (score, is_match, reasons) for page_id, score, is_match, reasons in rows
            }

    def page_of_record(self, record_id: str) -> StoredPage | None:
        with Session(self.engine) as session:
            p = session.scalar(select(models.Page).where(models.Page.warc_record_id == record_id))
            return StoredPage(p.id, p.url, p.warc_file, p.warc_offset, p.warc_type) if p else None

    def add_documents(self, story_id: int, judged: list[Judged]) -> None:
        """New documents (and verdicts) for stored pages, as re-extraction makes them: the
        old ones stay, the newest is the one export takes."""
        created_at = now()
        with self.session() as session:
            for item in judged:
                page = session.get_one(models.Page, item.page_id)
                _add_document(session, page, item, created_at, story_id)

    def imported(self, story_id: int, path: str) -> tuple[int, datetime] | None:
        """The size and modification time a file had when the story imported it."""
        with Session(self.engine) as session:
            row = session.execute(
                select(models.Import.size, models.Import.modified_at).where(
                    models.Import.story_id == story_id, models.Import.path == path
                )
            ).first()
            return (row[0], row[1]) if row else None

    def record_import(self, story_id: int, crawl_id: int, done: ImportedFile) -> None:
        """Keep a file as imported by this run (a changed file imported again replaces
        its earlier row)."""
        values = dict(
            story_id=story_id, crawl_id=crawl_id, path=done.path, size=done.size,
            modified_at=done.modified_at, records=done.records, pages=done.pages,
            skipped=done.skipped, imported_at=now(),
        )  # fmt: skip
        with self.session() as session:
            statement = _insert(session, models.Import.__table__).values(**values)
            key = ["story_id", "path"]
            changed = {k: statement.excluded[k] for k in values if k not in key}
            session.execute(statement.on_conflict_do_update(index_elements=key, set_=changed))

    def pages_of_crawl(self, crawl_id: int) -> frozenset[int]:
        """The ids of the pages a run stored."""
        with Session(self.engine) as session:
            rows = session.scalars(select(models.Page.id).where(models.Page.crawl_id == crawl_id))
            return frozenset(rows)


def _unit_changes(item: BatchItem) -> list[Queued | Decided | Noted]:
    """The frontier changes an item makes: a page's are the links found on it, then its
    own new state (the URL it was fetched by, which a redirect's target gets a row for)."""
    if not isinstance(item, PageRecord):
        return [item]
    score = None if item.score is None else round(item.score, 4)
    reasons = item.reasons or None
    if item.state == "failed":  # an error page: its status is why
        reasons = {"error": f"answered HTTP {item.status}"}
    state = Decided(canonical(item.url), item.state, score, reasons, url=item.url, kind=item.kind)
    return [*item.links, state]


def holder_alive(holder: str) -> bool:
    """Whether a lock or schedule holder ("host:pid") still runs; a holder on another host
    is assumed alive, its lock going stale only with age."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _insert(session: Session, table):
    """An INSERT that knows ON CONFLICT, in the dialect of the database at hand."""
    dialect = session.get_bind().dialect.name
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)


#: A candidate's key: one row per story and URL.
_CANDIDATE_KEY = ("story_id", "canonical_url")


def _change_candidates(
    session: Session, story_id: int, crawl_id: int, changes: list[Queued | Decided | Noted],
    when: datetime,
) -> None:  # fmt: skip
    """Frontier changes in few statements: the changes of one URL apply in their order,
    those of different URLs in any, so they run in rounds (every URL's first change, then
    every second one...), each round one executemany per kind of statement. One statement
    per change made the database thread a fifth of an archiving crawl's CPU."""
    per_url: dict[str, list[Queued | Decided | Noted]] = {}
    for change in changes:
        per_url.setdefault(change.canonical_url, []).append(change)
    for round_ in zip_longest(*per_url.values()):
        statements: dict[tuple, list[dict]] = {}
        for change in filter(None, round_):
            kind, row = _candidate_row(change, story_id, crawl_id, when)
            statements.setdefault(kind, []).append(row)
        for kind, rows in statements.items():
            session.execute(_candidate_statement(session, *kind), rows)


def _candidate_row(
    change: Queued | Decided | Noted, story_id: int, crawl_id: int, when: datetime
) -> tuple[tuple, dict]:
    """The statement a change needs (its kind and the columns it sets) and its row."""
    key = {"story_id": story_id, "canonical_url": change.canonical_url}
    if isinstance(change, Queued):
        row = dict(
            key, url=change.url, kind=change.kind, state="queued", priority=change.priority,
            depth=change.depth, crawl_id=crawl_id, updated_at=when,
        )  # fmt: skip
        # A request queued again (a retry, a resumed run's frontier) comes without the
        # score and features of the link it was found by: they stay as they were.
        row |= _known(score=change.score, features=change.features)
        return ("queue", tuple(c for c in row if c not in _CANDIDATE_KEY)), row
    if isinstance(change, Noted):
        row = dict(
            key, url=change.url, kind=change.kind, state=change.state, priority=0, depth=0,
            crawl_id=crawl_id, updated_at=when, score=change.score, features=change.features,
        )  # fmt: skip
        return ("note", ()), row
    values = {"state": change.state, "updated_at": when}
    values |= _known(score=change.score, features=change.features)
    if change.url is None:  # a URL the frontier has: only its state changes
        row = {"key_story_id": story_id, "key_url": change.canonical_url, **values}
        return ("update", tuple(values)), row
    row = dict(
        values, **key, url=change.url, kind=change.kind, priority=0, depth=0, crawl_id=crawl_id
    )
    return ("upsert", tuple(values)), row


def _known(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _candidate_statement(session: Session, kind: str, columns: tuple[str, ...]):
    """An executemany statement on candidates: an upsert setting ``columns`` of an existing
    row, an insert that leaves an existing row alone ("note"), an update of ``columns``, or
    a queueing: an upsert that leaves alone a URL this crawl got an answer for already (a
    page's links are stored with it, maybe after a page they lead to was)."""
    table = models.Candidate.__table__
    if kind == "update":  # the rows' other keys are the columns it sets
        return update(table).where(
            table.c.story_id == bindparam("key_story_id"),
            table.c.canonical_url == bindparam("key_url"),
        )
    statement = _insert(session, table)
    if kind == "note":
        return statement.on_conflict_do_nothing(index_elements=list(_CANDIDATE_KEY))
    unanswered = None
    if kind == "queue":
        excluded = statement.excluded
        # Literal states: executemany takes no expanding IN parameters.
        states = [literal_column(f"'{state}'") for state in UNANSWERED]
        unanswered = (table.c.crawl_id != excluded.crawl_id) | table.c.state.in_(states)
    return statement.on_conflict_do_update(
        index_elements=list(_CANDIDATE_KEY),
        set_={c: statement.excluded[c] for c in columns},
        where=unanswered,
    )


def _add_document(
    session: Session, page: models.Page, verdict: Judged, created_at: datetime, story_id: int
) -> None:
    doc = verdict.document
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
        extractor_version=doc.extractor_version,
        site_model=doc.site_model,
        created_at=created_at,
    )
    session.add(document)
    if verdict.score is not None:
        session.add(
            models.Match(
                story_id=story_id,
                document=document,
                score=verdict.score,
                is_match=verdict.is_match,
                reasons=verdict.reasons,
                duplicate_of=verdict.duplicate_of,
            )
        )

"""Engine and session handling, schema migrations, and the batched writes a crawl makes.

Every page is written with its document and match in the transaction of its batch, so a
crawl killed at any moment leaves whole pages or none. Writes run on one worker thread:
the reactor never waits on the database, and SQLite sees a single writer.

The schema is Alembic's (``archive/migrations``). A new database is created at the head
revision; one at any other revision is refused with the command that migrates it, so a
crawl never writes into a schema this code does not know, and no migration runs unasked.
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import zip_longest
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    event,
    inspect,
    make_url,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from archive import models
from archive.chrome import SiteModel
from archive.extract import Document
from archive.warc import Original, WarcRef, warc_date

MIGRATIONS = Path(__file__).with_name("migrations")

#: The revision of a database made before storycrawl had migrations: ``create_all`` of the
#: models as they were then, which is what this revision creates.
BASELINE = "0001"


class StoreError(Exception):
    """A database problem the user can fix; its message is the one line they are shown."""


def database_url(data_dir: Path, db: str | None) -> str:
    return db or f"sqlite:///{data_dir / 'storycrawl.db'}"


def display_url(url: str) -> str:
    """The URL as messages show it: as given, but with a password hidden."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    return url if parsed.password is None else parsed.render_as_string(hide_password=True)


def _one_line(exc: BaseException) -> str:
    """The driver's own words on one line: SQLAlchemy adds the SQL and a link on more lines,
    and drivers (psycopg) add hints on theirs."""
    return " ".join(str(getattr(exc, "orig", None) or exc).split())


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code: the package ships no alembic.ini, and the
    migrations run on the given connection (see ``migrations/env.py``)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


@functools.cache
def _revisions() -> tuple[str, frozenset[str]]:
    """The head revision, whose schema this code reads and writes, and every revision."""
    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_current_head()
    assert head is not None, f"no migrations in {MIGRATIONS}"
    return head, frozenset(script.revision for script in scripts.walk_revisions())


def head_revision() -> str:
    return _revisions()[0]


def _engine(url: str) -> Engine:
    try:
        engine = create_engine(url)
    except ArgumentError as exc:  # NoSuchModuleError too: an unknown dialect or driver name
        raise StoreError(
            f"cannot use database URL {display_url(url)!r} ({_one_line(exc)}): give one like "
            "sqlite:///PATH or postgresql+psycopg://USER@HOST/DATABASE"
        ) from exc
    except ImportError as exc:
        raise StoreError(
            f"cannot use database URL {display_url(url)!r}: install its driver ({exc})"
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _schema_state(engine: Engine, url: str) -> tuple[str | None, bool]:
    """The database's revision, and whether it holds any storycrawl table. A revision this
    code does not know (a newer storycrawl migrated the database) is a StoreError."""
    try:
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
            tables = set(inspect(connection).get_table_names())
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"cannot open database {display_url(url)}: {_one_line(exc)}") from exc
    head, known = _revisions()
    if revision is not None and revision not in known:
        engine.dispose()
        raise StoreError(
            f"database {display_url(url)} is at revision {revision}, which this storycrawl "
            f"does not know (it needs {head}): upgrade storycrawl"
        )
    return revision, bool(tables & set(models.Base.metadata.tables))


def _migrate(engine: Engine, url: str, stamp: str | None = None) -> None:
    """Upgrade to the head revision, after recording ``stamp`` as the revision of a database
    that is at one but does not say so (made before migrations)."""
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                # Batch operations copy a table and drop the original, which foreign keys
                # pointing at it would refuse; the pragma only takes outside a transaction.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            config = alembic_config(connection)
            if stamp:
                command.stamp(config, stamp)
            command.upgrade(config, "head")
            connection.commit()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate database {display_url(url)}: {_one_line(exc)}") from exc
    finally:
        engine.dispose()  # the migration's connection, foreign keys off, is not for reuse


def open_engine(url: str) -> Engine:
    """An engine on a database at the head revision (a new database is created there), or
    a StoreError that says what is wrong and what to run."""
    engine = _engine(url)
    revision, has_tables = _schema_state(engine, url)
    head = head_revision()
    if revision == head:
        return engine
    if revision is None and not has_tables:
        _migrate(engine, url)
        return engine
    engine.dispose()
    state = (
        f"is at revision {revision}"
        if revision
        else "has storycrawl tables but no revision (made before migrations)"
    )
    raise StoreError(
        f"database {display_url(url)} {state}, this storycrawl needs {head}: "
        "run `storycrawl db upgrade`"
    )


def upgrade_database(url: str) -> tuple[str | None, str]:
    """Migrate the database to the head revision; return the revisions before and after.

    Before is None for a new, empty database; a database made before migrations counts as
    being at the baseline revision, which is what its tables are."""
    engine = _engine(url)
    revision, has_tables = _schema_state(engine, url)
    if revision is None and has_tables:
        revision = BASELINE
        _migrate(engine, url, stamp=BASELINE)
    elif revision != head_revision():
        _migrate(engine, url)
    engine.dispose()
    return revision, head_revision()


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
    etag: str | None = None
    last_modified: str | None = None
    state: str = "fetched"  # what its candidate became: accepted, rejected, …


@dataclass(frozen=True)
class Queued:
    """A URL the crawl has scheduled: written to the frontier so a stopped crawl resumes."""

    canonical_url: str
    url: str
    kind: str
    priority: int
    depth: int
    score: float | None = None  # the link's pre-fetch score
    features: dict | None = None  # what it was scored on: anchor or entry title, parent


#: What can become of a URL a story's crawl came across. Only "queued" is resumed.
CANDIDATE_STATES = (
    "discovered",  # seen in a link, feed or sitemap; scored too low to fetch
    "queued",
    "fetched",  # answered; not an article (a listing, feed, sitemap) or not judged
    "accepted",  # judged the same story
    "rejected",  # judged another story, or not an article
    "duplicate",  # the same story, a near-copy of an earlier article (see duplicate_of)
    "out_of_window",  # dated outside the story's window: by its entry or by the page
    "blocked_by_robots",
    "redirected",  # to the URL in features["to"]
    "failed",  # an HTTP error or a network failure
    "over_budget",  # the story's or the site's page budget was spent
    "trap",  # a crawler-trap rule refused it (features["rule"])
)


@dataclass(frozen=True)
class Decided:
    """A URL's new state, with the score and features that decided it. With ``url`` (and
    ``kind``), a URL the frontier never queued gets a row: a redirect's target."""

    canonical_url: str
    state: str
    score: float | None = None
    features: dict | None = None
    url: str | None = None
    kind: str = "page"


@dataclass(frozen=True)
class Noted:
    """A URL the crawl saw and chose not to fetch, and why. Noted once: it never overwrites
    what an earlier run or an earlier step of this one recorded for the URL."""

    canonical_url: str
    url: str
    kind: str
    state: str
    score: float | None = None
    features: dict | None = None


@dataclass(frozen=True)
class Archived:
    """The newest capture of a URL in a story's archive, as an incremental run sees it."""

    url: str
    fetched_at: datetime
    crawl_id: int
    etag: str | None
    last_modified: str | None
    payload_digest: str | None
    is_article: bool
    original: Original | None  # its newest full response: what a 304's revisit refers to


BatchItem = PageRecord | Queued | Decided | Noted


@dataclass(frozen=True)
class RunFigures:
    pages_fetched: int
    not_modified: int
    new_pages: int
    changed_pages: int
    new_matches: int


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
                raise StoreError(
                    f"database error: {exc.__class__.__name__}: {_one_line(exc)}"
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

    def last_crawl(self, story: str) -> tuple[int, str | None] | None:
        """The story's latest crawl and how it ended (None: it never did, it was killed)."""
        with Session(self.engine) as session:
            row = session.execute(
                select(models.Crawl.id, models.Crawl.finish_reason)
                .join(models.Story, models.Story.id == models.Crawl.story_id)
                .where(models.Story.name == story)
                .order_by(models.Crawl.id.desc())
                .limit(1)
            ).first()
            return (row[0], row[1]) if row else None

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
                        if age < stale_after and _alive(lock.holder):
                            since = f"{lock.acquired_at:%Y-%m-%d %H:%M:%S} UTC"
                            return f"{lock.holder} since {since}"
                        session.delete(lock)
                        session.flush()
                    session.add(models.StoryLock(story=story, holder=holder, acquired_at=now()))
                return None
            except IntegrityError:
                continue  # another run inserted first: read its lock
            except SQLAlchemyError as exc:
                raise StoreError(f"database error: {_one_line(exc)}") from exc
        raise StoreError(f"could not take the run lock of story {story!r}")

    def release_lock(self, story: str, holder: str) -> None:
        with self.session() as session:
            lock = session.get(models.StoryLock, story)
            if lock is not None and lock.holder == holder:
                session.delete(lock)

    def answered(self, story: str, crawl_id: int) -> frozenset[str]:
        """The candidates a crawl queued and got an answer for (or a refusal from robots.txt
        or the network): what a run resuming that crawl must not fetch again. Keyed as the
        frontier keys them, which a page's own canonical URL (rel=canonical) may not be."""
        unanswered = ("queued", "discovered", "out_of_window", "over_budget", "trap")
        with Session(self.engine) as session:
            rows = session.scalars(
                select(models.Candidate.canonical_url)
                .join(models.Story, models.Story.id == models.Candidate.story_id)
                .where(
                    models.Story.name == story,
                    models.Candidate.crawl_id == crawl_id,
                    models.Candidate.state.not_in(unanswered),
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
        """Pages with their documents and verdicts, and frontier changes, in one transaction."""
        created_at = now()
        with self.session() as session:
            changes = [i for i in items if not isinstance(i, PageRecord)]
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


def _alive(holder: str) -> bool:
    """Whether a lock holder ("host:pid") still runs; a holder on another host is assumed
    alive, its lock going stale only with age."""
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
        return ("upsert", tuple(c for c in row if c not in _CANDIDATE_KEY)), row
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
    row, an insert that leaves an existing row alone ("note"), or an update of ``columns``."""
    table = models.Candidate.__table__
    if kind == "update":  # the rows' other keys are the columns it sets
        return update(table).where(
            table.c.story_id == bindparam("key_story_id"),
            table.c.canonical_url == bindparam("key_url"),
        )
    statement = _insert(session, table)
    if kind == "note":
        return statement.on_conflict_do_nothing(index_elements=list(_CANDIDATE_KEY))
    return statement.on_conflict_do_update(
        index_elements=list(_CANDIDATE_KEY), set_={c: statement.excluded[c] for c in columns}
    )


@dataclass(frozen=True)
class Judged:
    """A document made from a stored page, with the story's verdict on it (if judged)."""

    page_id: int | None
    document: Document
    score: float | None = None
    is_match: bool = False
    reasons: dict = field(default_factory=dict)
    duplicate_of: str | None = None


@dataclass(frozen=True)
class StoredPage:
    id: int
    url: str
    warc_file: str
    warc_offset: int
    warc_type: str


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


class BatchWriter:
    """Collects page records and writes them in batches on one background thread."""

    def __init__(self, store: Store, crawl_id: int, story_id: int, batch_size: int):
        self.store = store
        self.crawl_id = crawl_id
        self.story_id = story_id
        self.batch_size = batch_size
        self._pending: list[BatchItem] = []
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storycrawl-db")
        self._sent: list[Future] = []

    def add(self, record: BatchItem) -> Future | None:
        """Queue a record; return the write's future when a batch was sent off."""
        self._pending.append(record)
        if len(self._pending) >= self.batch_size:
            return self.flush()
        return None

    def flush(self) -> Future:
        batch, self._pending = self._pending, []
        future = self._thread.submit(self.store.write_batch, self.crawl_id, self.story_id, batch)
        self._sent = [f for f in self._sent if not f.done() or f.exception()] + [future]
        return future

    def close(self) -> None:
        """Write what is left and wait for every batch; raise the first write that failed."""
        if self._pending:
            self.flush()
        self._thread.shutdown(wait=True)
        for future in self._sent:
            future.result()

"""The database engine: URLs, connections and the schema's migrations.

The schema is Alembic's (``archive/db/migrations``). A new database is created at the head
revision; one at any other revision is refused with the command that migrates it, so a
crawl never writes into a schema this code does not know, and no migration runs unasked.
"""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from archive.db import models

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


def one_line(exc: BaseException) -> str:
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
            f"cannot use database URL {display_url(url)!r} ({one_line(exc)}): give one like "
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
        raise StoreError(f"cannot open database {display_url(url)}: {one_line(exc)}") from exc
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
                # One write transaction for every step: the sqlite3 module commits each
                # CREATE TABLE of its own otherwise, and a second process starting at the
                # same moment would find a database half made.
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            config = alembic_config(connection)
            if stamp:
                command.stamp(config, stamp)
            command.upgrade(config, "head")
            connection.commit()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate database {display_url(url)}: {one_line(exc)}") from exc
    finally:
        engine.dispose()  # the migration's connection, foreign keys off, is not for reuse


def open_engine(url: str) -> Engine:
    """An engine on a database at the head revision (a new database is created there), or
    a StoreError that says what is wrong and what to run."""
    _create_sqlite_file(url)
    engine = _engine(url)
    revision, has_tables = _schema_state(engine, url)
    head = head_revision()
    if revision == head:
        return engine
    if revision is None and not has_tables:
        try:
            _migrate(engine, url)
        except StoreError:
            # Two processes may create one new database at once (two schedulers starting
            # together): the one that lost the race finds the winner's schema in place.
            if _schema_state(engine, url)[0] != head:
                engine.dispose()
                raise
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


def _create_sqlite_file(url: str) -> None:
    """A new SQLite database is made beside its path and renamed into place once migrated:
    a crawl killed while creating it left tables without a revision, a database every
    later run refused."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return  # _engine says what is wrong with it
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    path = Path(parsed.database)
    if path.exists() or not path.parent.is_dir():
        return  # an unusable path: opening it says why
    partial = path.with_name(path.name + ".partial")
    for leftover in (partial, *(partial.with_name(partial.name + s) for s in ("-wal", "-shm"))):
        leftover.unlink(missing_ok=True)
    _migrate(_engine(parsed.set(database=str(partial)).render_as_string(False)), url)
    os.replace(partial, path)


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

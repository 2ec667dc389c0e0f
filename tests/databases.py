"""Real databases for tests: ``database_url`` runs a test on SQLite and on PostgreSQL.

SQLite gets a file in the test's tmp_path; PostgreSQL a schema of its own on the server at
``STORYCRAWL_TEST_PG``, named in the URL's ``search_path`` and dropped afterwards, so tests
never see each other's rows and no database needs creating. An unreachable server skips the
PostgreSQL half locally and fails it in CI, where a skip would hide that it never ran.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.exc import SQLAlchemyError

PG_URL = os.environ.get("STORYCRAWL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def unreachable(engine: Engine) -> str | None:
    """Why the server cannot be reached, on one line; None when it can."""
    try:
        with engine.connect():
            return None
    except SQLAlchemyError as exc:
        return " ".join(str(getattr(exc, "orig", None) or exc).split())


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Engine]:
    """The server, reached once per session; autocommit, for CREATE and DROP SCHEMA."""
    engine = create_engine(
        PG_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    reason = unreachable(engine)
    if reason is not None:
        engine.dispose()
        shown = make_url(PG_URL).render_as_string(hide_password=True)
        message = f"PostgreSQL at {shown} is unreachable (set STORYCRAWL_TEST_PG): {reason}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    yield engine
    engine.dispose()


def schema_url(schema: str) -> str:
    """The server's URL with every connection's search_path set to ``schema``."""
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to a database of the test's own, empty: no storycrawl tables yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'storycrawl.db'}"
        return
    server: Engine = request.getfixturevalue("postgres_server")
    schema = f"storycrawl_test_{uuid.uuid4().hex[:12]}"
    with server.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    yield schema_url(schema)
    with server.connect() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')

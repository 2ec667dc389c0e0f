"""The database as storycrawl keeps it, on SQLite and on PostgreSQL: the schema comes from
the migrations and matches the models, a database at another revision is refused until
`storycrawl db upgrade` has migrated it (rows kept), pages are written whole, and a crawl
killed mid-way leaves no half-written page and no row without its WARC record.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, func, inspect, make_url, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from archive.db import models
from archive.db.engine import (
    StoreError,
    alembic_config,
    head_revision,
    open_engine,
    upgrade_database,
)
from archive.db.items import Noted, PageRecord, Queued, RunFigures
from archive.db.repository import Store
from archive.db.writer import BatchWriter
from archive.export import ExportFilter, export_records
from archive.extract import Document
from archive.summary import story_candidates
from archive.warc import WarcRef
from crawler.cli import main
from crawler.demo import NewsWeb
from crawler.demo.crawl import DEMO_SETTINGS, demo_story
from tests.conftest import (
    assert_finds_the_story,
    settings_args,
    storycrawl,
    storycrawl_process,
    write_story_file,
)

STORY = "aegis-ashore"


# -- helpers ------------------------------------------------------------------------------


def migrate_to(url: str, revision: str) -> None:
    """Bring the database to ``revision`` only, as an older storycrawl would have left it."""
    engine = create_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)
    engine.dispose()


def execute(url: str, *statements: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    engine.dispose()


def revision_of(url: str) -> str | None:
    engine = create_engine(url)
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    engine.dispose()
    return revision


def refusal(url: str) -> str:
    """The one line open_engine refuses the database with."""
    with pytest.raises(StoreError) as caught:
        open_engine(url)
    message = str(caught.value)
    assert "\n" not in message, message
    return message


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def page_record(n: int, *, document: bool = True, is_match: bool = True) -> PageRecord:
    url = f"https://news.example/world/article-{n}"
    return PageRecord(
        url=url,
        canonical_url=url,
        status=200,
        content_type="text/html; charset=utf-8",
        fetched_at=datetime(2018, 1, 15, 12, n, tzinfo=UTC).replace(tzinfo=None),
        warc=WarcRef(
            file="test-20180115120000000-00000-host.warc.gz",
            offset=1000 * n,
            length=900,
            record_id=f"<urn:uuid:00000000-0000-0000-0000-{n:012d}>",
            payload_digest=f"sha1:DIGEST{n:04d}",
        ),
        document=Document(
            url=url,
            canonical_url=url,
            title=f"Article {n}",
            author="A. Reporter",
            date="2018-01-15",
            sitename="News Example",
            language="en",
            text=f"The text of article {n}.",
            simhash=f"{n:016x}",
            is_article=True,
        )
        if document
        else None,
        score=0.9 if is_match else 0.1,
        is_match=is_match,
        reasons={"terms": n},
    )


# -- the schema ---------------------------------------------------------------------------


def test_new_database_is_created_at_head_and_then_used_as_is(database_url, capsys) -> None:
    open_engine(database_url).dispose()
    assert revision_of(database_url) == head_revision()
    engine = open_engine(database_url)  # a second opening finds it at head: nothing to do
    assert set(models.Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()
    assert upgrade_database(database_url) == (head_revision(), head_revision())
    status, out, _ = cli(capsys, "db", "upgrade", "--db", database_url)
    assert status == 0 and out.strip().endswith(f"already at {head_revision()}")


def test_migrations_make_exactly_the_schema_of_the_models(database_url) -> None:
    assert upgrade_database(database_url) == (None, head_revision())
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_server_default": True})
        assert compare_metadata(context, models.Base.metadata) == []
    with engine.begin() as connection:  # and every revision goes down again
        command.downgrade(alembic_config(connection), "base")
        assert inspect(connection).get_table_names() == ["alembic_version"]
    engine.dispose()


def test_database_at_an_older_revision_is_refused_with_what_to_run(database_url) -> None:
    migrate_to(database_url, "0001")
    message = refusal(database_url)
    assert f"is at revision 0001, this storycrawl needs {head_revision()}" in message
    assert message.endswith("run `storycrawl db upgrade`")
    assert revision_of(database_url) == "0001"  # refused, not migrated behind the user's back


def test_database_made_before_migrations_is_upgraded_from_the_baseline(database_url, capsys):
    migrate_to(database_url, "0001")
    execute(database_url, "DROP TABLE alembic_version")  # what create_all used to leave
    assert "has storycrawl tables but no revision" in refusal(database_url)
    status, out, err = cli(capsys, "db", "upgrade", "--db", database_url)
    assert status == 0, err
    assert out.strip() == f"upgraded {database_url} from 0001 to {head_revision()}"
    open_engine(database_url).dispose()


def test_database_of_a_newer_storycrawl_is_refused(database_url, capsys) -> None:
    open_engine(database_url).dispose()
    execute(database_url, "UPDATE alembic_version SET version_num = '9999'")
    assert refusal(database_url).endswith(
        f"is at revision 9999, which this storycrawl does not know "
        f"(it needs {head_revision()}): upgrade storycrawl"
    )
    status, _, err = cli(capsys, "db", "upgrade", "--db", database_url)
    assert status == 2 and len(err.splitlines()) == 1 and "9999" in err


def test_db_upgrade_keeps_the_rows_written_before(database_url, capsys, monkeypatch) -> None:
    migrate_to(database_url, "0001")
    execute(
        database_url,
        "INSERT INTO stories (id, name, definition, created_at)"
        f" VALUES (1, '{STORY}', '{{\"name\": \"{STORY}\"}}', '2018-01-15 11:00:00')",
        "INSERT INTO crawls (id, story_id, definition, started_at)"
        " VALUES (1, 1, '{}', '2018-01-15 11:00:00')",
        "INSERT INTO pages (id, crawl_id, url, canonical_url, status, content_type, fetched_at,"
        " warc_file, warc_offset, warc_length, warc_record_id, warc_type, payload_digest)"
        " VALUES (1, 1, 'https://news.example/a', 'https://news.example/a', 200, 'text/html',"
        " '2018-01-15 12:30:00', 'a.warc.gz', 0, 900, '<urn:uuid:1>', 'response', 'sha1:A')",
        "INSERT INTO documents (id, page_id, title, text, simhash, is_article, extractor)"
        " VALUES (1, 1, 'Aegis Ashore', 'Japan said', '00ff00ff00ff00ff', TRUE, 'trafilatura')",
        "INSERT INTO matches (id, story_id, document_id, score, is_match, reasons)"
        " VALUES (1, 1, 1, 0.75, TRUE, '{}')",
    )
    monkeypatch.setenv("STORYCRAWL_DB", database_url)  # as --db, like every command
    status, out, err = cli(capsys, "db", "upgrade")
    assert status == 0, err
    assert out.strip() == f"upgraded {database_url} from 0001 to {head_revision()}"
    assert revision_of(database_url) == head_revision()

    store = Store(open_engine(database_url))
    with Session(store.engine) as session:
        document = session.get_one(models.Document, 1)
        assert (document.title, document.page.url) == ("Aegis Ashore", "https://news.example/a")
        # A document from before the column was extracted when its page was fetched.
        assert document.created_at == datetime(2018, 1, 15, 12, 30)
        assert [m.score for m in document.matches] == [0.75]
    [record] = export_records(store, ExportFilter(story=STORY))
    assert (record["url"], record["title"], record["score"]) == (
        "https://news.example/a",
        "Aegis Ashore",
        0.75,
    )
    store.engine.dispose()


# -- bad URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("nonsense", "give one like sqlite:///PATH"),
        ("mysqlx://user:secret@db.example/news", "Can't load plugin"),
        ("mysql://user:secret@db.example/news", "install its driver (No module named"),
    ],
)
def test_unusable_url_is_a_one_line_error(url: str, says: str, capsys) -> None:
    message = refusal(url)
    assert says in message and "secret" not in message
    status, out, err = cli(capsys, "db", "upgrade", "--db", url)
    assert status == 2 and out == "" and len(err.splitlines()) == 1 and says in err


def unreachable(database_url: str, tmp_path: Path) -> str:
    """A URL of the same kind where no database can be opened."""
    parsed = make_url(database_url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite:///{tmp_path / 'no-such-directory' / 'storycrawl.db'}"
    nothing_there = parsed.set(port=1).update_query_dict({"connect_timeout": "5"})
    return nothing_there.render_as_string(hide_password=False)


def read_only(database_url: str) -> str:
    """The same database, opened so that nothing can be written to it (whoever we are:
    a 0444 file does not stop root)."""
    parsed = make_url(database_url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite:///file:{parsed.database}?mode=ro&uri=true"
    options = f"{parsed.query['options']} -cdefault_transaction_read_only=on"
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


def test_unreachable_database_is_a_one_line_error(database_url, tmp_path, capsys) -> None:
    url = unreachable(database_url, tmp_path)
    assert refusal(url).startswith(f"cannot open database {url}: ")
    status, _, err = cli(capsys, "db", "upgrade", "--db", url)
    assert status == 2 and len(err.splitlines()) == 1 and "cannot open database" in err


def test_read_only_database_is_a_one_line_error(database_url, capsys) -> None:
    if database_url.startswith("sqlite"):
        Path(make_url(database_url).database).touch()  # an empty database, to open read-only
    url = read_only(database_url)
    message = refusal(url)  # SQLite: "readonly database", PostgreSQL: "read-only transaction"
    assert message.startswith("cannot ") and url in message and "read" in message

    migrate_to(database_url, "0001")
    status, _, err = cli(capsys, "db", "upgrade", "--db", url)
    assert status == 2 and len(err.splitlines()) == 1 and url in err and "read" in err
    assert revision_of(database_url) == "0001"

    assert upgrade_database(database_url) == ("0001", head_revision())
    store = Store(open_engine(url))  # at head, it opens for reading; a write says why not
    with pytest.raises(StoreError) as caught:
        store.story_id(STORY, {})
    assert str(caught.value).startswith("database error: ") and "\n" not in str(caught.value)
    store.engine.dispose()


def test_a_new_sqlite_database_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    """Made beside its path and renamed once migrated: a crawl killed while creating it
    leaves a `.partial` the next run starts over, never tables without a revision."""
    path = tmp_path / "storycrawl.db"
    (tmp_path / "storycrawl.db.partial").write_bytes(b"half a database")
    engine = open_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    engine.dispose()
    assert revision == head_revision()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["storycrawl.db"]


# -- writing ------------------------------------------------------------------------------


def test_batch_writer_writes_each_page_with_its_document_and_match(database_url) -> None:
    store = Store(open_engine(database_url))
    story_id = store.story_id(STORY, {"name": STORY})
    crawl_id = store.start_crawl(story_id, {"name": STORY})
    records = [page_record(n, is_match=n != 3) for n in range(1, 6)]
    records.append(page_record(6, document=False))
    writer = BatchWriter(store, crawl_id, story_id, batch_size=2)
    before = datetime.now(UTC).replace(tzinfo=None)
    for record in records:
        writer.add(record)
    writer.close()

    with Session(store.engine) as session:
        pages = session.scalars(select(models.Page).order_by(models.Page.id)).all()
        assert [p.url for p in pages] == [r.url for r in records]
        for page, record in zip(pages, records, strict=True):
            assert (page.warc_file, page.warc_offset, page.warc_record_id) == (
                record.warc.file,
                record.warc.offset,
                record.warc.record_id,
            )
            documents = session.scalars(
                select(models.Document).where(models.Document.page_id == page.id)
            ).all()
            if record.document is None:
                assert documents == []
                continue
            [document] = documents
            assert document.text == record.document.text and document.created_at >= before
            [match] = document.matches
            assert (match.score, match.is_match) == (record.score, record.is_match)

    exported = list(export_records(store, ExportFilter(story=STORY)))
    assert [r["url"] for r in exported] == [records[n].url for n in (0, 1, 3, 4)]
    assert exported[0]["warc_offset"] == 1000 and exported[0]["text"] == records[0].document.text
    everything = export_records(store, ExportFilter(story=STORY, all=True))
    assert len(list(everything)) == 5
    store.engine.dispose()


def test_a_url_queued_again_keeps_the_link_score_and_features_it_was_found_with(
    database_url,
) -> None:
    """A retry, or a resumed run's frontier, queues a URL again without the link it came by:
    `storycrawl show` still says why it was worth fetching."""
    store = Store(open_engine(database_url))
    story_id = store.story_id(STORY, {"name": STORY})
    crawl_id = store.start_crawl(story_id, {"name": STORY})
    url = "http://127.0.0.1:8018/tass/2018/01/16/japan-aegis-ashore.html"
    found = {"text": "Japan dismisses Russia's concerns", "link_score": 0.41}
    writer = BatchWriter(store, crawl_id, story_id, batch_size=1)
    writer.add(Queued(url, url, "page", 310, 1, 0.41, found))
    writer.add(Queued(url, url, "page", 0, 0))  # the retry, in the next batch
    writer.close()
    [candidate] = story_candidates(store, STORY)
    assert (candidate.state, candidate.score, candidate.features) == ("queued", 0.41, found)
    store.engine.dispose()


def test_a_page_commits_with_its_state_and_links_and_a_later_queueing_never_undoes_it(
    database_url,
) -> None:
    """A page's links are stored with it; the same crawl queueing a link it has answered
    already (the page holding the link stored after the page it leads to) changes nothing."""
    store = Store(open_engine(database_url))
    story_id = store.story_id(STORY, {"name": STORY})
    crawl_id = store.start_crawl(story_id, {"name": STORY})
    child, parent = page_record(2), page_record(1)
    child.state = "accepted"
    link = Queued(child.url, child.url, "page", 310, 1, 0.41, {"text": "Article 2"})
    parent.links = [link, Noted("https://news.example/about", "https://news.example/about",
                                "page", "discovered", 0.01, {"text": "About"})]  # fmt: skip
    writer = BatchWriter(store, crawl_id, story_id, batch_size=1)
    writer.add(child)
    writer.add(parent)
    writer.close()
    states = {c.url: c.state for c in story_candidates(store, STORY)}
    assert states == {
        parent.url: "fetched",
        child.url: "accepted",
        "https://news.example/about": "discovered",
    }
    # A later crawl queues it again: that one has no answer for it yet.
    crawl_id = store.start_crawl(story_id, {"name": STORY})
    writer = BatchWriter(store, crawl_id, story_id, batch_size=1)
    writer.add(link)
    writer.close()
    assert {c.url: c.state for c in story_candidates(store, STORY)}[child.url] == "queued"
    store.engine.dispose()


def test_interrupted_crawls_are_those_since_the_last_finished(database_url) -> None:
    store = Store(open_engine(database_url))
    story_id = store.story_id(STORY, {"name": STORY})
    crawls = [store.start_crawl(story_id, {"name": STORY}) for _ in range(4)]
    figures = RunFigures(0, 0, 0, 0, 0)
    store.finish_crawl(crawls[1], "finished", {}, figures)
    store.finish_crawl(crawls[2], "storage_failed", {}, figures)
    assert store.interrupted_crawls(STORY) == (crawls[3], crawls[2])
    store.engine.dispose()


# -- crawls -------------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_story_crawl_into_postgresql(news_web: NewsWeb, database_url: str, tmp_path) -> None:
    data = tmp_path / "data"
    story_file = write_story_file(tmp_path / "story.toml", demo_story(news_web, data))
    done = storycrawl_process(
        "crawl", str(story_file), "--db", database_url, *settings_args(DEMO_SETTINGS)
    )
    assert done.returncode == 0, done.stderr[-3000:]

    checked = storycrawl("verify", "--db", database_url, "--data", str(data))
    assert checked.returncode == 0, checked.stdout[-3000:]
    assert checked.stdout.strip().endswith("no disagreements")

    exported = storycrawl("export", "--db", database_url, "--story", STORY)
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    # The syndicated copy is marked a duplicate, so not exported.
    assert_finds_the_story({row["canonical_url"] for row in rows}, news_web)
    assert all(row["story"] == STORY for row in rows)
    assert not (data / "storycrawl.db").exists()  # everything went to PostgreSQL


def count_pages(url: str) -> int:
    """Page rows so far; none while the crawl has not yet created its tables."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(models.Page)) or 0
    except SQLAlchemyError:
        return 0
    finally:
        engine.dispose()


def test_killed_crawl_leaves_whole_pages_each_with_its_record(
    news_web: NewsWeb, database_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    story_file = write_story_file(tmp_path / "story.toml", demo_story(news_web, data))
    # One page per transaction, and fetches slow enough that the crawl is still running
    # when the first pages are in.
    settings = DEMO_SETTINGS | {"STORYCRAWL_DB_BATCH": 1, "DOWNLOAD_DELAY": 0.1}
    with open(tmp_path / "stderr.txt", "w") as stderr:
        crawl = subprocess.Popen(
            [sys.executable, "-c", "import sys; from crawler.cli import main; sys.exit(main())",
             "crawl", str(story_file), "--db", database_url, *settings_args(settings)],
            stdout=subprocess.DEVNULL, stderr=stderr,
            start_new_session=True,  # its own process group: the extraction workers die too
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while (pages := count_pages(database_url)) < 5:
            assert crawl.poll() is None, (tmp_path / "stderr.txt").read_text()[-3000:]
            assert time.monotonic() < deadline, f"only {pages} pages after 120 s"
            time.sleep(0.02)
    finally:
        with contextlib.suppress(ProcessLookupError):  # it ended by itself: asserted below
            os.killpg(crawl.pid, signal.SIGKILL)
        crawl.wait(timeout=30)
    assert crawl.returncode == -signal.SIGKILL

    engine = create_engine(database_url)
    with engine.connect() as connection:
        finished = connection.scalar(text("SELECT count(*) FROM crawls WHERE finished_at IS NULL"))
        rows = connection.execute(
            text(
                "SELECT pages.id, count(DISTINCT documents.id), count(matches.id) FROM pages"
                " LEFT JOIN documents ON documents.page_id = pages.id"
                " LEFT JOIN matches ON matches.document_id = documents.id GROUP BY pages.id"
            )
        ).all()
    engine.dispose()
    assert finished == 1, "the crawl was not killed mid-way"
    assert len(rows) >= 5 and any(documents for _, documents, _ in rows)
    half_written = [row for row in rows if row[1] and (row[1], row[2]) != (1, 1)]
    assert half_written == []
    assert list((data / "warc").glob("*.warc.gz.open")), "the killed crawl's WARC file is gone"

    checked = storycrawl("verify", "--db", database_url, "--data", str(data))
    assert checked.returncode == 0, checked.stdout[-3000:]
    assert checked.stdout.strip().endswith(f"checked {len(rows)} pages against "
                                           f"{data / 'warc'}: no disagreements")  # fmt: skip


def test_run_lock_admits_one_run_of_a_story(database_url: str) -> None:
    store = Store(open_engine(database_url))
    first, second = f"{socket.gethostname()}:{os.getpid()}", "other-host:123"
    assert store.acquire_lock("aegis", first, stale_after=3600) is None
    held = store.acquire_lock("aegis", second, stale_after=3600)
    assert held is not None and held.startswith(first)
    assert store.acquire_lock("other-story", second, stale_after=3600) is None
    store.release_lock("aegis", first)
    assert store.acquire_lock("aegis", second, stale_after=3600) is None
    store.engine.dispose()


def test_lock_of_a_dead_run_on_this_host_is_taken_over(database_url: str) -> None:
    store = Store(open_engine(database_url))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    assert store.acquire_lock("aegis", f"{socket.gethostname()}:{gone}", 3600) is None
    assert store.acquire_lock("aegis", f"{socket.gethostname()}:{os.getpid()}", 3600) is None
    store.engine.dispose()

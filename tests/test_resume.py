"""Crash-safe by construction: crawls killed with SIGKILL at many instants, stopped by a
full disk and by their PostgreSQL server going away, then resumed, end where one
uninterrupted crawl of the same web ends: the same pages and the same export, no URL
archived twice, no fetched page lost, every WARC file valid.

A fetch the kill cut short (the server answered, the record never reached the archive)
is fetched again by the resume; that is the only refetch allowed, and it is counted.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.request import urlopen

import pytest
from sqlalchemy import create_engine, make_url, text

from archive.urls import canonical
from archive.warc import index_file
from crawler.demo import NewsWeb
from crawler.demo.crawl import DEMO_SETTINGS, demo_story
from crawler.storyfile import StoryDefinition, build_story
from tests.conftest import settings_args, storycrawl, write_story_file
from tests.killpoints import (
    QUICK,
    archived_statuses,
    command,
    kills,
    run_killed,
    served_urls,
    small_web,
    wait_for,
    warcio_check,
)
from tests.servers import LoopbackServer, slow

SETTINGS = settings_args(DEMO_SETTINGS | QUICK)
#: The most requests in flight when a kill comes (Scrapy's CONCURRENT_REQUESTS).
IN_FLIGHT = 16


@pytest.fixture(scope="module")
def web() -> Iterator[NewsWeb]:
    with small_web() as running:
        yield running


@dataclass(frozen=True)
class Outcome:
    """What a story's crawls left: pages, export, archive, and what the web served."""

    articles: set[str]  # the URLs of the pages stored as articles
    exported: set[str]
    archived: dict[str, int]
    served: dict[str, int]
    seconds: float = 0.0  # how long the crawl took, start-up included


def outcome(web: NewsWeb, story: StoryDefinition, db: str, since: int) -> Outcome:
    engine = create_engine(db)
    with engine.connect() as connection:
        urls = {canonical(url) for (url,) in connection.execute(text("SELECT url FROM pages"))}
        articles = set(connection.scalars(text(
            "SELECT canonical_url FROM pages JOIN documents ON documents.page_id = pages.id"
            " WHERE documents.is_article"
        )))  # fmt: skip
        stuck = connection.execute(
            text("SELECT canonical_url, state FROM candidates WHERE state IN ('queued', 'fetched')"
                 " AND canonical_url NOT IN (SELECT canonical_url FROM pages)")
        ).all()  # fmt: skip
    engine.dispose()
    assert stuck == [], "URLs left queued, or marked fetched with no page stored"
    out = story.data / "export.jsonl"
    done = storycrawl("export", "--story", story.name, "--db", db, "--out", str(out))
    assert done.returncode == 0, done.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    exported = {json.loads(line)["canonical_url"] for line in lines}
    verified = storycrawl("verify", "--db", db, "--data", str(story.data))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    warcio_check(story.data / "warc")
    assert not list((story.data / "warc").glob("*.open")), "a WARC file left open"
    statuses = archived_statuses(story.data / "warc")
    archived = {canonical(url): len(found) for url, found in statuses.items()}
    # A redirect is archived and makes no page: its target does.
    pages = {canonical(url) for url, found in statuses.items() if not 300 <= found[-1] < 304}
    assert pages == urls, "fetched pages not stored, or stored pages not archived"
    bases = web.base_urls
    served = {}
    for key, count in served_urls(web, since).items():
        outlet, _, path = key.partition("/")
        served[canonical(bases[outlet] + path)] = count
    return Outcome(articles, exported, archived, served)


def new_story(web: NewsWeb, data: Path) -> tuple[StoryDefinition, Path]:
    story = demo_story(web, data)
    return story, write_story_file(data.parent / f"{data.name}.toml", story)


@pytest.fixture(scope="module")
def reference(web: NewsWeb, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """One uninterrupted crawl of the web."""
    data = tmp_path_factory.mktemp("reference") / "data"
    story, story_file = new_story(web, data)
    since = len(web.requests)
    started = time.monotonic()
    done = storycrawl("crawl", str(story_file), *SETTINGS)
    assert done.returncode == 0, done.stderr[-3000:]
    seconds = time.monotonic() - started
    return replace(
        outcome(web, story, f"sqlite:///{data / 'storycrawl.db'}", since), seconds=seconds
    )


def assert_same_end(got: Outcome, reference: Outcome, stops: int) -> int:
    """The checks every interrupted series passes; returns the refetches of fetches a stop
    cut short."""
    assert got.exported == reference.exported
    assert got.articles == reference.articles
    assert max(got.archived.values()) == 1, "a URL archived twice"
    refetched = sum(n - 1 for n in got.served.values() if n > 1)
    assert refetched <= IN_FLIGHT * stops
    return refetched


def crawl_finished(db: str) -> bool:
    """Whether the story's newest crawl has recorded that it finished."""
    engine = create_engine(db)
    try:
        with engine.connect() as connection:
            reason = connection.execute(
                text("SELECT finish_reason FROM crawls ORDER BY id DESC LIMIT 1")
            ).scalar()
    finally:
        engine.dispose()
    return reason == "finished"


def test_sigkill_at_many_points_loses_nothing_and_fetches_nothing_twice(
    web: NewsWeb, reference: Outcome, database_url: str, tmp_path: Path
) -> None:
    db = database_url
    database = make_url(db).get_backend_name()
    story, story_file = new_story(web, tmp_path / "data")
    since = len(web.requests)
    # Random instants across the seconds of each restart (one takes two or three to start),
    # then kills inside a database commit (the sixth: a few batches in) and inside a WARC
    # record (the twentieth written). Each restart has less left to do: the instants fall
    # in the first third of what an uninterrupted crawl takes here, however fast the machine.
    schedule = kills(seed=15 + len(database), instants=3, longest=max(1.0, reference.seconds / 3),
                     points={"commit": [6], "warc": [20]})  # fmt: skip
    tried = []
    for kill in schedule:
        returncode = run_killed(["crawl", str(story_file), "--db", db, *SETTINGS], kill)
        # A kill that lands as the crawl exits, once it has recorded its end, stops nothing:
        # a run after it would be the story's next crawl, not this one's resume.
        finished = returncode == 0 or crawl_finished(db)
        tried.append(f"{kill}{' (finished first)' if finished else ''}")
        if finished:
            break
    else:
        done = storycrawl("crawl", str(story_file), "--db", db, *SETTINGS)
        assert done.returncode == 0, done.stderr[-3000:]
    killed = sum(1 for kill in tried if "finished" not in kill)
    assert killed >= 3, f"too few kills landed: {tried}"
    refetched = assert_same_end(outcome(web, story, db, since), reference, killed)
    print(f"\n{database}: kills at {', '.join(tried)}; refetches of cut fetches: {refetched}")


def test_full_disk_stops_the_crawl_cleanly_and_the_resume_completes_it(
    web: NewsWeb, reference: Outcome, tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    data = tmp_path / "data"
    data.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(data)], check=True)
    try:
        story, story_file = new_story(web, data)
        since = len(web.requests)
        done = storycrawl("crawl", str(story_file), *SETTINGS)
        assert done.returncode == 2, done.stderr[-3000:]
        assert "Traceback" not in done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert "No space left on device" in lines[0] or "full" in lines[0]
        assert "the crawl stopped, run it again to resume" in lines[0]
        # The database is whole: SQLite's own check, and the pages kept are a subset.
        with sqlite3.connect(data / "storycrawl.db") as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        subprocess.run(["mount", "-o", "remount,size=64m", str(data)], check=True)
        done = storycrawl("crawl", str(story_file), *SETTINGS)
        assert done.returncode == 0, done.stderr[-3000:]
        assert_same_end(
            outcome(web, story, f"sqlite:///{data / 'storycrawl.db'}", since), reference, 1
        )
    finally:
        subprocess.run(["umount", "-l", str(data)], check=False)


class PrivatePostgres:
    """A PostgreSQL server of the test's own, on a Unix socket in a temporary folder, run
    as the postgres user: stopping it touches nothing else."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.bin = next(Path("/usr/lib/postgresql").glob("*/bin"), None)
        self.url = f"postgresql+psycopg://postgres@/postgres?host={folder}"

    def _run(self, *args: str) -> None:
        assert self.bin is not None
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / args[0]), *args[1:]],
                       check=True, capture_output=True)  # fmt: skip

    def init(self) -> None:
        shutil.chown(self.folder, "postgres")
        self._run("initdb", "-D", str(self.folder / "db"), "-A", "trust", "-U", "postgres")

    def start(self) -> None:
        options = f"-c listen_addresses='' -c unix_socket_directories={self.folder} -F"
        self._run("pg_ctl", "-D", str(self.folder / "db"), "-o", options, "-w",
                  "-l", str(self.folder / "server.log"), "start")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "db"), "-m", "immediate", "-w", "stop")


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    if os.geteuid() != 0 or not Path("/usr/lib/postgresql").exists():
        pytest.skip("a private PostgreSQL server needs root and the server binaries")
    # Not under pytest's tmp_path, which only root may enter.
    with tempfile.TemporaryDirectory(prefix="storycrawl-pg-") as folder:
        os.chmod(folder, 0o755)
        server = PrivatePostgres(Path(folder))
        server.init()
        server.start()
        yield server
        with contextlib.suppress(subprocess.CalledProcessError):  # stopped already
            server.stop()


def test_postgresql_stopping_stops_the_crawl_cleanly_and_the_resume_completes_it(
    web: NewsWeb, reference: Outcome, private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    story, story_file = new_story(web, tmp_path / "data")
    since = len(web.requests)
    process = subprocess.Popen(
        command("crawl", str(story_file), "--db", private_postgres.url, *SETTINGS),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    # Stopped once the crawl has stored some pages.
    engine = create_engine(private_postgres.url)

    def stored_pages() -> bool:
        try:
            with engine.connect() as connection:
                return connection.execute(text("SELECT count(*) FROM pages")).scalar() > 10
        except Exception:
            return False

    wait_for(stored_pages, timeout=60, step=0.2)
    engine.dispose()
    private_postgres.stop()
    stopped = time.monotonic()
    stderr = process.communicate(timeout=60)[1]
    assert process.returncode == 2, stderr[-3000:]
    assert time.monotonic() - stopped < 15, "the crawl went on without its database"
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert "the crawl stopped, run it again to resume" in stderr
    private_postgres.start()
    done = storycrawl("crawl", str(story_file), "--db", private_postgres.url, *SETTINGS)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_same_end(outcome(web, story, private_postgres.url, since), reference, 1)


def test_a_second_run_on_the_data_folder_leaves_the_live_crawl_alone(
    web: NewsWeb, tmp_path: Path
) -> None:
    """Neither a run of the same story (which exits 75) nor a run of another story on the
    same folder recovers, renames or indexes the WARC file the live crawl is writing."""
    with urlopen(web.url("japan-dismisses-russia-concerns-missile-systems")) as page:
        article = page.read().decode()
    # The live crawl's seed trickles in for 24 seconds (under DOWNLOAD_TIMEOUT): the others
    # run meanwhile.
    with LoopbackServer("127.0.0.1", {"/story": slow(article, pieces=25, pause=1.0)}) as server:
        data = tmp_path / "data"
        story = build_story({"name": "slow", "seeds": [f"{server.url}/story"]}, {})
        story_file = write_story_file(tmp_path / "slow.toml", replace(story, data=data))
        args = command("crawl", str(story_file), *SETTINGS)
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "text": True}
        with subprocess.Popen(args, **quiet) as live:
            try:
                warc = data / "warc"
                wait_for(lambda: list(warc.glob("*.warc.gz.open")), timeout=60)  # robots.txt
                (open_file,) = warc.glob("*.warc.gz.open")
                busy = storycrawl("crawl", str(story_file), *SETTINGS)
                assert busy.returncode == 75, busy.stderr
                missing = f"{server.url}/missing"
                other = storycrawl("crawl", "--name", "another", "--seed", missing,
                                   "--data", str(data), *SETTINGS)  # fmt: skip
                assert other.returncode == 2, other.stderr
                assert live.poll() is None, "the live crawl ended before the others ran"
                assert open_file.exists() and not list(warc.glob("*.corrupt"))
                assert live.communicate(timeout=120)[1] == "" and live.returncode == 0
            finally:
                live.kill()
    warcio_check(warc)
    for path in warc.glob("*.warc.gz"):
        written = path.with_name(path.name + ".cdxj").read_text()
        assert written == index_file(shutil.copy(path, tmp_path / path.name)).read_text()

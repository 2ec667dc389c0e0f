"""`storycrawl schedule`: a story on a one-minute cron runs every minute, never twice at once,
even with two schedulers sharing the database (as on two machines)."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import pytest
import tomli_w

from crawler.cli import main
from crawler.demo import NewsWeb
from crawler.demo.crawl import DEMO_SETTINGS, demo_story
from crawler.schedule import load_schedule
from crawler.storyfile import load_story_file
from tests.conftest import settings_args, storycrawl, write_story_file

MAIN = "import sys; from crawler.cli import main; sys.exit(main())"


def finished_runs(data: Path) -> list[tuple[datetime, datetime]]:
    if not (data / "storycrawl.db").exists():
        return []
    try:
        with sqlite3.connect(data / "storycrawl.db", timeout=10) as database:
            rows = database.execute(
                "SELECT started_at, finished_at FROM crawls WHERE finish_reason = 'finished' "
                "ORDER BY started_at"
            ).fetchall()
    except sqlite3.OperationalError:  # the first run is still creating the tables
        return []
    return [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in rows]


def test_two_schedulers_run_a_story_every_minute_never_at_once(
    news_web: NewsWeb, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    story = replace(demo_story(news_web, data), schedule="* * * * *", max_pages=30)
    story_file = write_story_file(tmp_path / "story.toml", story)
    # Runs of a few seconds: both schedulers fire at the same second, so one of them finds
    # the story locked by the other's run.
    slow = {**DEMO_SETTINGS, "DOWNLOAD_DELAY": 0.5, "CONCURRENT_REQUESTS": 1}
    command = [sys.executable, "-c", MAIN, "schedule", str(story_file), *settings_args(slow)]
    schedulers = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        deadline = time.monotonic() + 200
        while len(finished_runs(data)) < 2 and time.monotonic() < deadline:
            time.sleep(1)
        running = storycrawl("stories", "--data", str(data))
    finally:
        for scheduler in schedulers:
            scheduler.send_signal(signal.SIGTERM)
        logs = [scheduler.communicate(timeout=60)[1] for scheduler in schedulers]
    runs = finished_runs(data)
    assert len(runs) >= 2, logs
    for (_, first_end), (second_start, _) in pairwise(runs):
        assert first_end <= second_start, f"two runs at once: {runs}"
    assert [s.returncode for s in schedulers] == [0, 0], logs
    log = "".join(logs)
    assert log.count("run started") >= 2 and "run finished" in log and "stopping" in log
    # Whichever scheduler lost the lock said so instead of crawling.
    assert "skipped, story 'aegis-ashore' is being crawled already" in log, log
    # Each run's summary is in the scheduler's log, not only how long it took.
    assert re.search(r"run finished in [\d.]+ s: \d+ pages fetched \(\d+ new, \d+ changed, "
                     r"\d+ not modified\), \d+ new matches; finished", log), log  # fmt: skip
    # While a scheduler runs, `stories` says when the story runs next; once none does, not.
    [row] = [line for line in running.stdout.splitlines() if "aegis-ashore" in line]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC\s*│\s*$", row), running.stdout
    stopped = storycrawl("stories", "--data", str(data))
    [row] = [line for line in stopped.stdout.splitlines() if "aegis-ashore" in line]
    assert row.rstrip(" │").endswith("not scheduled"), stopped.stdout


def test_a_story_name_never_becomes_a_path_outside_the_scheduler_folder(tmp_path: Path) -> None:
    workdir = tmp_path / "a" / "b" / "c" / "work"
    workdir.mkdir(parents=True)
    stories = tmp_path / "stories.toml"
    names = ["../../../x", "/tmp/y", "x", "..", "a b"]
    stories.write_text(
        tomli_w.dumps(
            {
                "story": [
                    {"name": name, "seeds": ["http://a.example/"], "schedule": "0 * * * *"}
                    for name in names
                ]
            }
        ),
        encoding="utf-8",
    )
    scheduled = load_schedule(stories, workdir)
    files = {item.file for item in scheduled}
    assert len(files) == len(names), "two story names share a file"
    for item in scheduled:
        assert item.file.parent == workdir, item.file
        assert load_story_file(item.file)["name"] == item.story.name
    assert sorted(p.name for p in tmp_path.rglob("*.toml")) == sorted(
        [stories.name, *(f.name for f in files)]
    )


def test_a_name_scheduled_twice_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stories = tmp_path / "stories.toml"
    story = {"name": "twice", "seeds": ["http://a.example/"], "schedule": "0 * * * *"}
    stories.write_text(tomli_w.dumps({"story": [story, story]}), encoding="utf-8")
    status = main(["schedule", str(stories)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.strip().splitlines() == [
        "storycrawl: error: story 'twice' is scheduled twice: names must differ"
    ]

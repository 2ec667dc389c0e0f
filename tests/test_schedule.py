"""`storycrawl schedule`: a story on a one-minute cron runs every minute, never twice at once,
even with two schedulers sharing the database (as on two machines).

The schedulers run here on a clock where the story's cron minutes pass in seconds: the test
waits on the crawls, not on the wall clock. The command itself is run as a process once, to
see it announce its next run and stop on SIGTERM.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from dataclasses import replace
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest
import tomli_w
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger

from crawler.cli import main
from crawler.cli.crawl import story_config
from crawler.demo import NewsWeb
from crawler.demo.crawl import DEMO_SETTINGS, demo_story
from crawler.schedule import Runner, add_jobs, load_schedule
from crawler.storyfile import load_story_file
from tests.conftest import settings_args, storycrawl, write_story_file

MAIN = "import sys; from crawler.cli import main; sys.exit(main())"


class Hurried(BaseTrigger):
    """A trigger read on a clock that runs ``speed`` times faster than the wall clock from
    ``start``: at 60, a one-minute cron fires every second. ``start`` on a whole minute keeps
    the conversions exact (a cron minute is a whole second of the wall clock, and back), as
    the scheduler needs: it asks for the fire time after the one it has just run."""

    def __init__(self, trigger: BaseTrigger, speed: int, start: datetime) -> None:
        self.trigger, self.speed, self.start = trigger, speed, start

    def _fast(self, moment: datetime) -> datetime:
        return self.start + (moment - self.start) * self.speed

    def _real(self, moment: datetime) -> datetime:
        return self.start + (moment - self.start) / self.speed

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        previous = self._fast(previous_fire_time) if previous_fire_time else None
        fire = self.trigger.get_next_fire_time(previous, self._fast(now))
        return self._real(fire) if fire else None


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
    news_web: NewsWeb, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    story = replace(demo_story(news_web, data), schedule="* * * * *", max_pages=12)
    [item] = load_schedule(write_story_file(tmp_path / "story.toml", story), tmp_path)
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    hurried = replace(item, trigger=Hurried(item.trigger, 60, start))
    # Runs of a few seconds: both schedulers fire at the same instants, so one of them finds
    # the story locked by the other's run.
    args = settings_args({**DEMO_SETTINGS, "DOWNLOAD_DELAY": 0.1, "CONCURRENT_REQUESTS": 1})
    caplog.set_level(logging.INFO, logger="storycrawl.schedule")
    stores = {story.name: story_config(story, {}).prepare_storage()}
    schedulers = [(BackgroundScheduler(timezone=UTC), Runner(args, stores)) for _ in range(2)]
    for scheduler, runner in schedulers:
        add_jobs(scheduler, [hurried], runner)
        scheduler.start()
    try:
        deadline = time.monotonic() + 180
        while len(finished_runs(data)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        running = storycrawl("stories", "--data", str(data))
    finally:
        for scheduler, runner in schedulers:
            scheduler.pause()
            runner.stop()
        for scheduler, runner in schedulers:
            scheduler.shutdown(wait=True)
            runner.withdraw()  # as `storycrawl schedule` does when it stops
        stores[story.name].engine.dispose()
    runs = finished_runs(data)
    log = caplog.text
    assert len(runs) >= 2, log
    for (_, first_end), (second_start, _) in pairwise(runs):
        assert first_end <= second_start, f"two runs at once: {runs}"
    assert log.count("run started") >= 2 and "run finished" in log
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

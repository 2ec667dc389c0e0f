"""`storycrawl schedule`: a story on a one-minute cron runs every minute, never twice at once,
even with two schedulers sharing the database (as on two machines).

The schedulers run here on a clock where the story's cron minutes pass in seconds: the test
waits on the crawls, not on the wall clock. The command itself is run as a process once, to
see it announce its next run and stop on SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger

from crawler.demo import NewsWeb
from crawler.demo.crawl import DEMO_SETTINGS, demo_story
from crawler.schedule import Runner, add_jobs, load_schedule, next_run
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
    schedulers = [(BackgroundScheduler(timezone=UTC), Runner(args)) for _ in range(2)]
    for scheduler, runner in schedulers:
        add_jobs(scheduler, [hurried], runner)
        scheduler.start()
    try:
        deadline = time.monotonic() + 180
        while len(finished_runs(data)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        for scheduler, runner in schedulers:
            scheduler.pause()
            runner.stop()
        for scheduler, _ in schedulers:
            scheduler.shutdown(wait=True)
    runs = finished_runs(data)
    log = caplog.text
    assert len(runs) >= 2, log
    for (_, first_end), (second_start, _) in pairwise(runs):
        assert first_end <= second_start, f"two runs at once: {runs}"
    assert log.count("run started") >= 2 and "run finished" in log
    # Whichever scheduler lost the lock said so instead of crawling.
    assert "skipped, story 'aegis-ashore' is being crawled already" in log, log
    listing = storycrawl("stories", "--data", str(data))
    assert "aegis-ashore" in listing.stdout and "not scheduled" not in listing.stdout


def test_schedule_announces_the_next_run_and_stops_on_sigterm(
    news_web: NewsWeb, tmp_path: Path
) -> None:
    story = replace(demo_story(news_web, tmp_path / "data"), schedule="0 6 * * *")
    story_file = write_story_file(tmp_path / "story.toml", story)
    command = [sys.executable, "-c", MAIN, "schedule", str(story_file)]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as scheduler:
        watchdog = threading.Timer(60, scheduler.kill)  # a scheduler that never says a word
        watchdog.start()
        try:
            said = []
            while line := scheduler.stderr.readline():
                said.append(line)
                if "next run" in line:
                    break
            scheduler.send_signal(signal.SIGTERM)
            said.append(scheduler.communicate(timeout=30)[1])
        finally:
            watchdog.cancel()
    log = "".join(said)
    expected = next_run("0 6 * * *", datetime.now(UTC))
    assert f"story aegis-ashore: schedule '0 6 * * *', next run {expected}" in log, log
    assert scheduler.returncode == 0, log
    assert "received SIGTERM: stopping" in log and log.rstrip().endswith("stopped"), log

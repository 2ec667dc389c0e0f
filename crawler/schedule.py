"""`storycrawl schedule`: run stories on their cron schedules, for as long as it runs.

Each run is `storycrawl crawl STORY.toml` in a process of its own, so every crawl gets a
fresh Twisted reactor and a crash cannot take the scheduler down. Two schedulers (on two
machines sharing the database) never crawl one story at once: the crawl takes the story's
lock in the database and a run that finds it taken exits with status 75, logged as skipped.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import tomli_w
from apscheduler.events import EVENT_SCHEDULER_STARTED, SchedulerEvent
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from archive.db.repository import Store
from crawler.cli.errors import EXIT_STORY_BUSY
from crawler.storyfile import (
    StoryDefinition,
    StoryError,
    build_story,
    file_slug,
    load_story_file,
)

logger = logging.getLogger("storycrawl.schedule")


@dataclass(frozen=True)
class Scheduled:
    story: StoryDefinition
    file: Path  # the story file a run is started with
    trigger: BaseTrigger  # the story's cron schedule


def trigger(story: StoryDefinition) -> CronTrigger:
    try:
        return CronTrigger.from_crontab(story.schedule or "", timezone=UTC)
    except ValueError as exc:
        raise StoryError(f"story {story.name!r}: schedule {story.schedule!r}: {exc}") from None


def load_schedule(source: Path, workdir: Path) -> list[Scheduled]:
    """Stories from one story file, a file of ``[[story]]`` tables, or a folder of story
    files; each must have a ``schedule``. Stories from a shared file are written to
    ``workdir`` one per file, since a run takes one story file."""
    if source.is_dir():
        files = sorted(source.glob("*.toml"))
        if not files:
            raise StoryError(f"no story files (*.toml) in {str(source)!r}")
        entries = [(load_story_file(f), f) for f in files]
    else:
        keys = load_story_file(source)
        tables = keys.get("story")
        if isinstance(tables, list):
            entries = [(table, None) for table in tables]
        else:
            entries = [(keys, source)]
    scheduled: list[Scheduled] = []
    for keys, file in entries:
        story = build_story(keys, {})
        if not story.schedule:
            raise StoryError(f'story {story.name!r} has no schedule = "…" (a cron expression)')
        if any(item.story.name == story.name for item in scheduled):
            raise StoryError(f"story {story.name!r} is scheduled twice: names must differ")
        if file is None:
            file = workdir / f"{file_slug(story.name)}.toml"
            file.write_text(tomli_w.dumps(keys), encoding="utf-8")
        scheduled.append(Scheduled(story, file, trigger(story)))
    return scheduled


class Runner:
    """Starts one crawl process per firing and keeps track of those still running; keeps
    each story's next run in its database while it runs it, and logs each run's figures."""

    def __init__(self, extra_args: list[str], stores: dict[str, Store]):
        self.extra_args = extra_args
        self.stores = stores  # each story's database, by story name
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self._running: dict[str, subprocess.Popen] = {}
        self._lock = threading.Lock()

    def announce(self, scheduled: Scheduled) -> None:
        """Record when the story runs next: `storycrawl stories` shows it."""
        upcoming = scheduled.trigger.get_next_fire_time(None, datetime.now(UTC))
        logger.info("story %s: schedule %r, next run %s",
                    scheduled.story.name, scheduled.story.schedule, upcoming)  # fmt: skip
        self.stores[scheduled.story.name].set_schedule(
            scheduled.story.name, self.holder, scheduled.story.schedule or "",
            upcoming.astimezone(UTC).replace(tzinfo=None) if upcoming else None,
        )  # fmt: skip

    def withdraw(self) -> None:
        """A stopped scheduler runs nothing more: its stories' next runs are forgotten."""
        for store in {id(s): s for s in self.stores.values()}.values():
            store.clear_schedules(self.holder)

    def run(self, scheduled: Scheduled) -> None:
        name = scheduled.story.name
        self.announce(scheduled)
        command = [
            sys.executable, "-c", "import sys; from crawler.cli import main; sys.exit(main())",
            "crawl", str(scheduled.file), *self.extra_args,
        ]  # fmt: skip
        started = time.monotonic()
        logger.info("story %s: run started", name)
        with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as crawl:
            with self._lock:
                self._running[name] = crawl
            _, err = crawl.communicate()
            with self._lock:
                self._running.pop(name, None)
        took = time.monotonic() - started
        last = (err or b"").decode(errors="replace").strip().splitlines()[-1:] or [""]
        if crawl.returncode == 0:
            logger.info("story %s: run finished in %.1f s: %s", name, took, self._figures(name))
        elif crawl.returncode == EXIT_STORY_BUSY:
            logger.info("story %s: skipped, %s", name, last[0].removeprefix("storycrawl: "))
        else:
            logger.error("story %s: run failed (status %s): %s", name, crawl.returncode, last[0])

    def _figures(self, name: str) -> str:
        """The run's summary as one log line, from what the crawl recorded."""
        latest = self.stores[name].latest_run(name)
        if latest is None:
            return "no crawl recorded"
        reason, f = latest
        return (
            f"{f.pages_fetched} pages fetched ({f.new_pages} new, {f.changed_pages} changed, "
            f"{f.not_modified} not modified), {f.new_matches} new matches; {reason}"
        )

    def stop(self) -> None:
        """Ask running crawls to stop as Ctrl-C would: they close their WARCs and rows."""
        with self._lock:
            running = list(self._running.values())
        for crawl in running:
            crawl.send_signal(signal.SIGTERM)


def add_jobs(scheduler: BaseScheduler, scheduled: list[Scheduled], runner: Runner) -> None:
    """One job per story, fired by its trigger: a firing that comes while the story's last
    run is still going is skipped, and firings missed meanwhile make one run, not several."""
    for item in scheduled:
        scheduler.add_job(
            runner.run, item.trigger, args=[item], id=item.story.name, name=item.story.name,
            max_instances=1, coalesce=True, misfire_grace_time=60,
        )  # fmt: skip


def serve(scheduled: list[Scheduled], extra_args: list[str], stores: dict[str, Store]) -> None:
    """Run until SIGTERM or SIGINT, then let running crawls finish their stop cleanly."""
    scheduler = BlockingScheduler(timezone=UTC)
    runner = Runner(extra_args, stores)
    add_jobs(scheduler, scheduled, runner)

    def announce(_event: SchedulerEvent) -> None:
        # Said once the scheduler runs, so a SIGTERM sent after it finds one to shut down.
        for item in scheduled:
            runner.announce(item)

    def stop(signum: int, _frame: object) -> None:
        logger.info("received %s: stopping", signal.Signals(signum).name)
        runner.stop()
        scheduler.shutdown(wait=True)  # returns once the crawls asked to stop have stopped

    scheduler.add_listener(announce, EVENT_SCHEDULER_STARTED)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        scheduler.start()
    finally:
        runner.withdraw()
    logger.info("stopped")

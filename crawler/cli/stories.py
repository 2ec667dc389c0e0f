"""`storycrawl stories` and `show`: what the database holds, read on a terminal."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import click

from crawler.cli.errors import guarded
from crawler.cli.storage import Storage, storage_options

#: Candidate states, as `show --state` takes them (archive.db.items.CANDIDATE_STATES: a
#: test holds the two equal, so that listing them here costs `--help` no SQLAlchemy).
STATES = (
    "discovered", "queued", "fetched", "accepted", "rejected", "duplicate", "out_of_window",
    "blocked_by_robots", "redirected", "failed", "over_budget", "trap",
)  # fmt: skip


@click.command()
@storage_options
def stories(storage: Storage) -> None:
    """The stories in the database, with their crawls, pages and matches."""
    from rich.console import Console
    from rich.table import Table

    from archive.summary import story_summaries
    from crawler.schedule import next_run

    store = storage.open()
    table = Table(title="Stories")
    columns = ("story", "crawls", "pages", "matches", "last run", "how it ended",
               "new matches", "next run")  # fmt: skip
    for column in columns:
        table.add_column(column)
    when = "%Y-%m-%d %H:%M UTC"
    for story in story_summaries(store):
        last = story.last_crawl.strftime(when) if story.last_crawl else "never"
        upcoming = next_run(story.schedule, datetime.now(UTC))
        table.add_row(
            story.name, str(story.crawls), str(story.pages), str(story.matches), last,
            story.last_finish or "", str(story.last_new_matches or 0),
            upcoming.strftime(when) if upcoming else "not scheduled",
        )  # fmt: skip
    Console().print(table)


@click.command()
@click.argument("name")
@click.option("--state", type=click.Choice(STATES), help="Only candidates in this state.")
@storage_options
def show(name: str, state: str | None, storage: Storage) -> None:
    """A story's candidate URLs: what became of each (accepted, rejected, duplicate,
    discovered, …), with its score, and why."""
    from rich.console import Console
    from rich.table import Table

    from archive.summary import story_candidates

    store = storage.open()
    candidates = guarded(lambda: story_candidates(store, name, state))
    counts = Counter(c.state for c in candidates)
    title = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no candidates"
    table = Table(title=f"Story {name!r}: {title}")
    for column in ("state", "score", "date", "title", "url", "why"):
        table.add_column(column, overflow="fold")
    for c in candidates:
        score = "" if c.score is None else f"{c.score:.2f}"
        table.add_row(c.state, score, c.date or "", c.title or "", c.url, c.why)
    Console().print(table)

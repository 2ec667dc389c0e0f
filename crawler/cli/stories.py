"""`storycrawl stories` and `show`: what the database holds, read on a terminal."""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter

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

    store = storage.open()
    table = Table(title="Stories")
    columns = ("story", "crawls", "pages", "matches", "last run", "how it ended",
               "new matches", "next run")  # fmt: skip
    for column in columns:
        table.add_column(column)
    when = "%Y-%m-%d %H:%M UTC"
    for story in story_summaries(store):
        last = story.last_crawl.strftime(when) if story.last_crawl else "never"
        upcoming = story.next_run
        table.add_row(
            story.name, str(story.crawls), str(story.pages), str(story.matches), last,
            story.last_finish or "", str(story.last_new_matches or 0),
            upcoming.strftime(when) if upcoming else "not scheduled",
        )  # fmt: skip
    Console().print(table)


#: Rows `show` prints as a table unless told otherwise: a terminal's worth.
SHOW_ROWS = 50
#: The columns of `show --format jsonl|csv`, in their order.
SHOW_FIELDS = ("state", "score", "date", "title", "url", "why", "kind", "duplicate_of")


@click.command()
@click.argument("name")
@click.option("--state", type=click.Choice(STATES), help="Only candidates in this state.")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    help=f"Show at most this many (0: all; default {SHOW_ROWS} in a table, all otherwise).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "jsonl", "csv"]),
    default="table",
    show_default=True,
    help="jsonl and csv: one record per candidate, for scripts.",
)
@storage_options
def show(name: str, state: str | None, limit: int | None, fmt: str, storage: Storage) -> None:
    """A story's candidate URLs: what became of each (accepted, rejected, duplicate,
    discovered, …), with its score, and why."""
    from archive.summary import story_candidates

    store = storage.open()
    candidates = guarded(lambda: story_candidates(store, name, state))
    if limit is None:
        limit = SHOW_ROWS if fmt == "table" else 0
    shown = candidates[:limit] if limit else candidates
    if fmt == "table":
        _show_table(name, candidates, shown)
        return
    rows = (
        {
            "state": c.state, "score": None if c.score is None else round(c.score, 4),
            "date": c.date, "title": c.title, "url": c.url, "why": c.why, "kind": c.kind,
            "duplicate_of": c.duplicate_of,
        }
        for c in shown
    )  # fmt: skip
    if fmt == "jsonl":
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=SHOW_FIELDS)
    writer.writeheader()
    writer.writerows(rows)


def _show_table(name: str, candidates: list, shown: list) -> None:
    """One line per candidate, cut to the terminal's width: long URLs and titles end in
    an ellipsis rather than wrapping a row over five lines."""
    from rich.console import Console
    from rich.table import Table

    counts = Counter(c.state for c in candidates)
    title = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no candidates"
    table = Table(title=f"Story {name!r}: {title}", expand=True)
    for column, width in (("state", 8), ("score", 5), ("date", 10)):
        table.add_column(column, no_wrap=True, min_width=width)
    for column, ratio in (("title", 3), ("url", 3), ("why", 4)):
        table.add_column(column, no_wrap=True, overflow="ellipsis", ratio=ratio)
    for c in shown:
        score = "" if c.score is None else f"{c.score:.2f}"
        table.add_row(c.state, score, (c.date or "")[:10], c.title or "", c.url, c.why)
    console = Console()
    console.print(table)
    if len(shown) < len(candidates):
        console.print(
            f"{len(candidates) - len(shown)} more: --limit 0 shows all, "
            "--format jsonl or csv gives every field in full"
        )

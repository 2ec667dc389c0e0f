"""`storycrawl report`: the story as one HTML page a reader opens anywhere, offline."""

from __future__ import annotations

from pathlib import Path

import click

from crawler.cli.corpus import atomically
from crawler.cli.errors import guarded
from crawler.cli.storage import Storage, storage_options


@click.command()
@click.argument("name")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="The HTML file to write (default: NAME.html in the data directory).",
)
@click.option(
    "--replay-url",
    metavar="PATTERN",
    help="Link each article to its archived capture on a replay server, e.g. "
    "'http://localhost:8080/{collection}/{timestamp}/{url}' for pywb "
    "({collection} is the story's name).",
)
@storage_options
def report(name: str, out: Path | None, replay_url: str | None, storage: Storage) -> None:
    """Write a self-contained HTML report of a story: a timeline of its coverage per
    outlet, the matched articles with their reasons, the near misses and every crawl."""
    out = out or storage.config.data_dir / f"{name}.html"
    click.echo(f"report: {write_report(storage, name, out, replay_url)}")


def write_report(storage: Storage, name: str, out: Path, replay_url: str | None) -> Path:
    """The report of a story written to ``out`` (whole or not at all); its path."""
    from archive.report import check_replay_pattern, load_report, render_report

    if replay_url:
        guarded(lambda: check_replay_pattern(replay_url))
    store = storage.open()
    story = guarded(lambda: load_report(store, name))
    page = render_report(story, replay_url)
    guarded(lambda: atomically(out, lambda path: path.write_text(page, encoding="utf-8")))
    return out

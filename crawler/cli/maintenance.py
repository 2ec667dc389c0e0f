"""`storycrawl reextract`, `verify` and `db upgrade`: keeping the archive and its database
right, with no network."""

from __future__ import annotations

import click

from crawler.cli.errors import guarded
from crawler.cli.storage import Storage, storage_options


@click.command()
@click.option("--story", help="Only this story (default: every story in the database).")
@click.option("--threshold", type=click.FloatRange(0, 1), help="Same-story threshold.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Extraction processes (default: STORYCRAWL_EXTRACT_WORKERS, one per CPU core).",
)
@storage_options
def reextract(
    story: str | None, threshold: float | None, workers: int | None, storage: Storage
) -> None:
    """Extract and judge the archived pages again, from the WARC files alone."""
    from archive.export import story_names
    from archive.extract import EXTRACTOR_NAME
    from crawler.reextract import reextract as rerun

    store = storage.open()
    config = storage.config
    threshold = config.threshold if threshold is None else threshold
    workers = workers or config.extract_workers
    for name in [story] if story else story_names(store):
        done = guarded(lambda name=name: rerun(store, config.warc_dir, name, threshold, workers))
        click.echo(
            f"{name}: {done.pages} pages, {done.documents} documents extracted again "
            f"({EXTRACTOR_NAME}), {done.matches} matches"
        )


@click.command()
@storage_options
def verify(storage: Storage) -> None:
    """Check that every page row points at its own, intact WARC record."""
    from archive.verify import check_pages, count_pages

    store = storage.open()
    warc_dir = storage.config.warc_dir
    wrong: set[int] = set()
    for disagreement in check_pages(store, warc_dir):
        click.echo(str(disagreement))
        wrong.add(disagreement.page_id)
    pages = count_pages(store)
    verdict = f"{len(wrong)} of them disagree" if wrong else "no disagreements"
    click.echo(f"checked {pages} pages against {warc_dir}: {verdict}")
    if wrong:
        raise click.exceptions.Exit(1)


@click.group(name="db")
def db_group() -> None:
    """The database's schema: Alembic migrations."""


@db_group.command(name="upgrade")
@storage_options
def db_upgrade(storage: Storage) -> None:
    """Migrate the database to the schema this storycrawl needs (a new one is created)."""
    from archive.db.engine import display_url, upgrade_database

    url = storage.config.db_url
    before, after = guarded(lambda: upgrade_database(url))
    if before == after:
        click.echo(f"{display_url(url)} already at {after}")
    else:
        click.echo(f"upgraded {display_url(url)} from {before or 'an empty database'} to {after}")

"""`storycrawl import`: judge the HTML pages of existing WARC and WACZ files for a story."""

from __future__ import annotations

from pathlib import Path

import click

from crawler.cli.errors import guarded
from crawler.cli.storage import Storage, storage_options


@click.command(name="import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--story",
    "story_file",
    required=True,
    type=click.Path(path_type=Path),
    help="The story file whose story the pages are judged for.",
)
@click.option("--threshold", type=click.FloatRange(0, 1), help="Same-story threshold.")
@storage_options
def import_(
    paths: tuple[Path, ...], story_file: Path, threshold: float | None, storage: Storage
) -> None:
    """Judge the HTML pages of WARC, WARC.gz and WACZ files (or folders of them) for a
    story, without fetching anything: the pages point at the files, which are not copied."""
    from archive.imports import collection_files
    from crawler.cli.crawl import crawl_settings
    from crawler.config import Config
    from crawler.importer import import_collections
    from crawler.storyfile import story_from_file

    story = guarded(lambda: story_from_file(story_file))
    files = guarded(lambda: collection_files(list(paths)))
    config = guarded(lambda: Config.from_settings(crawl_settings(story, storage.overrides)))
    store = guarded(config.prepare_storage)
    threshold = config.threshold if threshold is None else threshold

    def read(reading) -> None:
        skipped = sum(reading.skipped.values())
        click.echo(f"{reading.path}: {len(reading.pages)} HTML pages, {skipped} records skipped")

    done = guarded(
        lambda: import_collections(
            store, config.warc_dir, story, files, threshold, config.extract_workers, read
        )
    )
    for path in done.unchanged:
        click.echo(f"{path}: imported before and unchanged, skipped")
    for why, count in sorted(done.skipped.items()):
        click.echo(f"  skipped {count}: {why}")
    click.echo(
        f"{story.name}: {done.pages} pages imported from {done.files} files, {done.matches} matches"
    )

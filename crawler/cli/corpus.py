"""`storycrawl export` and `extract`: what a user takes away, as files or on stdout."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import click

from crawler.cli.errors import BadInput, guarded
from crawler.cli.storage import Storage, storage_options


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{value!r} is not a date like 2018-01-31") from None


@click.command()
@click.option("--story", help="Story name; may be left out when the database holds one.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "parquet", "txt", "wacz"]),
    default="jsonl",
    help="txt: a directory of text files and metadata.jsonl; "
    "wacz: the story's WARCs, indexes and pages in one package.",
)
@click.option("--out", default="-", help="Output file, or - for standard output.")
@click.option("--all", "all_", is_flag=True, help="Every document, not only matches.")
@click.option("--include-duplicates", is_flag=True, help="Keep near-duplicates.")
@click.option("--min-score", type=float, help="Only documents scoring at least this.")
@click.option("--since", help="Published on or after YYYY-MM-DD.")
@click.option("--until", help="Published on or before YYYY-MM-DD.")
@click.option("--site", help="Only this outlet (host name).")
@click.option("--language", help="Only this language (ISO 639-1 code, e.g. en).")
@storage_options
def export(
    story: str | None,
    fmt: str,
    out: str,
    all_: bool,
    include_duplicates: bool,
    min_score: float | None,
    since: str | None,
    until: str | None,
    site: str | None,
    language: str | None,
    storage: Storage,
) -> None:
    """Export a story's corpus: by default its matched, non-duplicate articles."""
    from archive.export import ExportFilter, export_records, story_names

    store = storage.open()
    if story is None:
        names = story_names(store)
        if len(names) != 1:
            raise BadInput(f"name the story with --story (stories: {', '.join(names) or 'none'})")
        story = names[0]
    flt = ExportFilter(
        story=story,
        all=all_,
        include_duplicates=include_duplicates,
        min_score=min_score,
        since=_day(since),
        until=_day(until),
        site=site,
        language=language,
    )
    records = guarded(lambda: export_records(store, flt))
    first = guarded(lambda: next(records, None))  # unknown story fails before a file is made

    def chained() -> Iterator[dict]:
        if first is not None:
            yield first
        yield from records

    count = guarded(lambda: _export(fmt, chained(), out, storage, story))
    click.echo(f"exported {count} records of story {story!r}", err=True)


def _export(fmt: str, records: Iterator[dict], out: str, storage: Storage, story: str) -> int:
    from archive.export import story_warc_files
    from archive.formats import write_csv, write_jsonl, write_parquet, write_txt, write_wacz

    if fmt in ("jsonl", "csv"):
        writer = write_jsonl if fmt == "jsonl" else write_csv
        if out == "-":
            count = writer(records, sys.stdout)
            sys.stdout.flush()  # a full disk or closed pipe is reported here, as one line
            return count
        return atomically(Path(out), lambda path: write_text_file(path, writer, records))
    if out == "-":
        raise BadInput(f"--format {fmt} writes files: name where with --out")
    if fmt == "parquet":
        return atomically(Path(out), lambda path: write_parquet(records, path))
    if fmt == "txt":
        return atomically(Path(out), lambda path: write_txt(records, path))
    warc_dir = storage.config.warc_dir
    files = [warc_dir / name for name in story_warc_files(storage.open(), story)]
    return atomically(Path(out), lambda path: write_wacz(records, files, path))


def write_text_file(path: Path, writer: Callable, records: Iterator[dict]) -> int:
    with open(path, "w", encoding="utf-8", newline="") as stream:
        return writer(records, stream)


def atomically(path: Path, write: Callable[[Path], int]) -> int:
    """Write under a temporary name, renamed when complete: a reader never sees half an
    export under the final name, and a failed export leaves nothing behind. Only a regular
    file (or an empty directory, for txt) is replaced: a rename over a device or a pipe
    would replace it for everyone (``--out /dev/null`` as root); stdout is ``-``."""
    if path.is_dir():
        if any(path.iterdir()):
            raise BadInput(f"{str(path)!r} is a directory that is not empty")
    elif path.exists() and not path.is_file():
        raise BadInput(
            f"--out {str(path)!r} is not a regular file (a device, pipe or socket);"
            " use --out - for standard output"
        )
    partial = path.with_name(f"{path.stem}.partial{path.suffix}")
    try:
        count = write(partial)
        os.replace(partial, path)
    except BaseException:
        if partial.is_dir():
            shutil.rmtree(partial)
        else:
            partial.unlink(missing_ok=True)
        raise
    return count


#: The fields of the export record that a page alone can give.
PAGE_FIELDS = ("canonical_url", "title", "author", "date", "sitename", "language", "text")


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--url", help="The page's URL (resolves links, helps metadata).")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text")
def extract(files: tuple[Path, ...], url: str | None, fmt: str) -> None:
    """Print what storycrawl keeps of saved pages: cleaned text, or JSON lines with metadata."""
    from archive.extract import extract as extract_page

    for path in files:
        try:
            html = path.read_bytes()
        except OSError as exc:
            raise BadInput(f"cannot read {str(path)!r}: {exc.strerror}") from None
        document = extract_page(html, url or path.resolve().as_uri())
        if fmt == "text":
            click.echo(document.text if document else "")
            continue
        found = document.as_dict() if document else {"text": ""}
        record = {"path": str(path), "url": url} | {k: found.get(k) for k in PAGE_FIELDS}
        click.echo(json.dumps(record, ensure_ascii=False))

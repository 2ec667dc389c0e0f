"""`storycrawl import`: a story judged in WARC collections that other crawlers made.

Each file is read (archive.imports), its HTML pages are stored as one run of the story
whose page rows point into the file, and those pages are then extracted and judged by the
re-extraction (crawler.reextract), the same way as pages the story's crawls archived. The
seeds must be among the story's stored pages or the imported ones: the judge needs them,
and that is checked before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from archive.db.engine import StoreError
from archive.db.items import ImportedFile, PageRecord, RunFigures
from archive.db.repository import Store
from archive.imports import FileReading, read_collection
from archive.urls import canonical
from crawler.reextract import reextract
from crawler.storyfile import StoryDefinition


@dataclass
class ImportResult:
    files: int = 0
    unchanged: list[str] = field(default_factory=list)  # imported before, skipped now
    records: int = 0
    pages: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    matches: int = 0


def import_collections(
    store: Store,
    warc_dir: Path,
    story: StoryDefinition,
    files: list[Path],
    threshold: float,
    workers: int,
    progress: Callable[[FileReading], None] = lambda reading: None,
) -> ImportResult:
    """Read, store and judge the files' HTML pages for the story; files the story imported
    before and that have not changed since are skipped."""
    story_id = store.story_id(story.name, story.as_json())
    result = ImportResult()
    readings: list[tuple[FileReading, ImportedFile]] = []
    for path in files:
        stat = path.stat()
        modified = datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None)
        if store.imported(story_id, str(path)) == (stat.st_size, modified):
            result.unchanged.append(str(path))
            continue
        reading = read_collection(path)
        progress(reading)
        done = ImportedFile(
            str(path), stat.st_size, modified, reading.records, len(reading.pages),
            dict(reading.skipped),
        )  # fmt: skip
        readings.append((reading, done))
        result.files += 1
        result.records += reading.records
        result.pages += len(reading.pages)
        for why, count in reading.skipped.items():
            result.skipped[why] = result.skipped.get(why, 0) + count
    if not result.pages:
        return result
    seeds = {canonical(url) for url in story.seeds}
    stored = {canonical(page.url) for page in store.story_pages(story.name)}
    found = {canonical(p.url) for reading, _ in readings for p in reading.pages}
    if not seeds & (stored | found):
        raise StoreError(
            f"no seed article of story {story.name!r} is in these files or in its archive: "
            "crawl the story first, or import a collection that holds a seed"
        )
    crawl_id = store.start_crawl(story_id, story.as_json())
    for reading, done in readings:
        records = [
            PageRecord(
                url=page.url,
                canonical_url=canonical(page.url),
                status=page.status,
                content_type=page.content_type,
                fetched_at=page.fetched_at,
                warc=page.warc,
            )
            for page in reading.pages
        ]
        store.write_batch(crawl_id, story_id, records)
        store.record_import(story_id, crawl_id, done)
    judged = reextract(
        store, warc_dir, story.name, threshold, workers, page_ids=store.pages_of_crawl(crawl_id)
    )
    result.matches = judged.matches
    figures = RunFigures(0, 0, result.pages, 0, judged.matches)
    stats = {"storycrawl/import/files": result.files, "storycrawl/import/pages": result.pages}
    store.finish_crawl(crawl_id, "finished", stats, figures)
    return result

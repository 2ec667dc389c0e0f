"""Re-extraction and re-judging from the archive alone: no network, no Scrapy.

When trafilatura improves, or the judge does, a story's corpus is rebuilt from the bytes
archived when it was crawled. Every stored HTML page gets a new document and verdict;
the old ones stay in the database, and export takes the newest.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import models
from archive.extract import Document, extract
from archive.store import Judged, Store, StoredPage, StoreError
from archive.warc import read_record
from crawler.story import SEED_VERDICT, StoryProfile
from crawler.storyfile import StoryDefinition, build_story
from crawler.urls import canonical

BATCH = 200


@dataclass(frozen=True)
class Reextraction:
    pages: int
    documents: int
    matches: int


def _load(store: Store, name: str) -> tuple[int, StoryDefinition]:
    with Session(store.engine) as session:
        story = session.scalar(select(models.Story).where(models.Story.name == name))
        if story is None:
            raise StoreError(f"unknown story {name!r}")
        return story.id, build_story(story.definition, {})


def _html(store: Store, warc_dir: Path, page: StoredPage) -> tuple[str, bytes] | None:
    """The archived body of a page; for a revisit, the body of the capture it refers to."""
    record = read_record(warc_dir / page.warc_file, page.warc_offset)
    if record.rec_type == "revisit":
        original = store.page_of_record(record.warc_headers.get_header("WARC-Refers-To"))
        if original is None:
            return None
        record = read_record(warc_dir / original.warc_file, original.warc_offset)
    if record.warc_headers.get_header("WARC-Truncated"):
        return None
    return page.url, record.decoded()


def _extract(item: tuple[str, bytes]) -> Document | None:
    return extract(item[1], item[0])


def _batches(
    store: Store, warc_dir: Path, pages: list[StoredPage], pool: ProcessPoolExecutor
) -> Iterator[list[tuple[StoredPage, Document]]]:
    """Documents of the pages, a batch at a time: memory holds one batch of bodies."""
    for start in range(0, len(pages), BATCH):
        found = [
            (p, body) for p in pages[start : start + BATCH] if (body := _html(store, warc_dir, p))
        ]
        documents = pool.map(_extract, [body for _, body in found], chunksize=8)
        yield [(p, d) for (p, _), d in zip(found, documents, strict=True) if d is not None]


def reextract(
    store: Store, warc_dir: Path, name: str, threshold: float, workers: int
) -> Reextraction:
    """Extract and judge every stored HTML page of a story again, seeds first."""
    story_id, story = _load(store, name)
    profile = StoryProfile(story.keywords, story.since, story.until, threshold)
    seeds = {canonical(url) for url in story.seeds}
    pages = store.story_pages(name)
    seed_pages = [p for p in pages if canonical(p.url) in seeds]
    documents = matches = 0
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for batch in _batches(store, warc_dir, seed_pages, pool):
            for _, document in batch:
                profile.add_seed(document)
        if not profile.ready:
            raise StoreError(f"no seed article of story {name!r} is in the archive to judge by")
        for batch in _batches(store, warc_dir, pages, pool):
            judged = []
            for page, document in batch:
                verdict = SEED_VERDICT if canonical(page.url) in seeds else profile.judge(document)
                judged.append(
                    Judged(page.id, document, verdict.score, verdict.is_match, verdict.reasons)
                )
            store.add_documents(story_id, judged)
            documents += len(judged)
            matches += sum(j.is_match for j in judged)
    return Reextraction(len(pages), documents, matches)

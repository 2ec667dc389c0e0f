"""Re-extraction and re-judging from the archive alone: no network, no Scrapy.

When trafilatura improves, or the judge does, or the crawl has since learned more of an
outlet's chrome, a story's corpus is rebuilt from the bytes archived when it was crawled.
The outlets' site models are first grown from every archived page of the story (and kept,
for the next crawl); then every stored HTML page gets a new document and verdict, made
with its outlet's model. The old documents stay in the database, and export takes the newest.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Collection, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.coding import TooLarge
from archive.db import models
from archive.db.engine import StoreError
from archive.db.items import Judged, StoredPage
from archive.db.repository import Store
from archive.duplicates import mark_duplicates
from archive.extract import Document, extract
from archive.extract.chrome import ChromeLearner, SiteModel, page_fingerprints
from archive.judge.profile import SEED_VERDICT, StoryProfile
from archive.urls import canonical
from archive.warc import read_record
from crawler.storyfile import StoryDefinition, build_story

BATCH = 200


@dataclass(frozen=True)
class Reextraction:
    pages: int
    documents: int
    matches: int
    copies: frozenset[str]  # canonical URLs marked as copies among the story's matches


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
    try:
        return page.url, record.decoded()
    except TooLarge:  # a bomb archived whole (before the crawl cut them): no page to read
        return None


def _extract(item: tuple[str, bytes, SiteModel | None]) -> Document | None:
    return extract(item[1], item[0], item[2])


def _bodies(
    store: Store, warc_dir: Path, pages: list[StoredPage]
) -> Iterator[list[tuple[StoredPage, tuple[str, bytes]]]]:
    """The pages' archived bodies, a batch at a time: memory holds one batch of bodies."""
    for start in range(0, len(pages), BATCH):
        yield [
            (p, body) for p in pages[start : start + BATCH] if (body := _html(store, warc_dir, p))
        ]


def _learn(
    store: Store, warc_dir: Path, pages: list[StoredPage], pool: ProcessPoolExecutor
) -> ChromeLearner:
    """The outlets' site models, grown from the database's and from every page given; the
    grown ones are saved for the next crawl."""
    learner = ChromeLearner(store.site_models())
    grown = {}
    for found in _bodies(store, warc_dir, pages):
        prints = pool.map(page_fingerprints, [body for _, (_, body) in found], chunksize=8)
        for (page, _), fingerprints in zip(found, prints, strict=True):
            if model := learner.learn(canonical(page.url), fingerprints):
                grown[model.host] = model
    for model in grown.values():
        store.save_site_model(model)
    return learner


def _batches(
    store: Store,
    warc_dir: Path,
    pages: list[StoredPage],
    pool: ProcessPoolExecutor,
    learner: ChromeLearner,
) -> Iterator[list[tuple[StoredPage, Document]]]:
    """Documents of the pages, a batch at a time, each made with its outlet's model."""
    for found in _bodies(store, warc_dir, pages):
        items = [(url, body, learner.model(url)) for _, (url, body) in found]
        documents = pool.map(_extract, items, chunksize=8)
        yield [(p, d) for (p, _), d in zip(found, documents, strict=True) if d is not None]


def _stale(
    store: Store, name: str, pages: list[StoredPage], learner: ChromeLearner
) -> list[StoredPage]:
    """The matched pages whose newest document was made before their outlet's current
    model: re-extracting every page a broad crawl fetched would double its cost."""
    made_with = store.document_site_models(name, matches_only=True)
    return [
        page
        for page in pages
        if page.id in made_with
        and (model := learner.model(page.url))
        and made_with[page.id] != model.label
    ]


def reextract(
    store: Store,
    warc_dir: Path,
    name: str,
    threshold: float,
    workers: int,
    stale_only: bool = False,
    page_ids: Collection[int] | None = None,
) -> Reextraction:
    """Extract and judge every stored HTML page of a story again, seeds first.

    ``page_ids`` judges only those pages (the seeds still come from every stored page):
    what `storycrawl import` does with the pages it has just stored.

    ``stale_only`` is the end of a crawl: the models it learned are in the database, and
    only the matched pages extracted before their outlet's model reached its final version
    (the first pages of every outlet, with no model at all) are extracted and judged again."""
    story_id, story = _load(store, name)
    profile = StoryProfile(story.keywords, story.since, story.until, threshold)
    seeds = {canonical(url) for url in story.seeds}
    pages = store.story_pages(name)
    # One page per seed, its newest capture: a seed counted twice (recrawled, or captured
    # three times in an imported collection) would weigh twice in the profile.
    seed_pages = list({canonical(p.url): p for p in pages if canonical(p.url) in seeds}.values())
    documents = matches = 0
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        if stale_only:
            learner = ChromeLearner(store.site_models())
            pages = _stale(store, name, pages, learner)
        else:
            learner = _learn(store, warc_dir, pages, pool)
        # Settling a crawl cleans text the crawl judged: its verdicts, made against the
        # pages it had accepted by then, stand. A full re-extraction judges again, in the
        # order the pages were fetched, as the crawl did.
        verdicts = store.page_verdicts(name) if stale_only else {}
        if not stale_only:
            for batch in _batches(store, warc_dir, seed_pages, pool, learner):
                for _, document in batch:
                    profile.add_seed(document)
            if not profile.ready:
                raise StoreError(f"no seed article of story {name!r} is in the archive")
        if page_ids is not None:
            pages = [page for page in pages if page.id in page_ids]
        for batch in _batches(store, warc_dir, pages, pool, learner):
            judged = []
            for page, document in batch:
                if page.id in verdicts:
                    score, is_match, reasons = verdicts[page.id]
                else:
                    seed = canonical(page.url) in seeds
                    verdict = SEED_VERDICT if seed else profile.follow(document)
                    score, is_match, reasons = verdict.score, verdict.is_match, verdict.reasons
                judged.append(Judged(page.id, document, score, is_match, reasons))
            store.add_documents(story_id, judged)
            documents += len(judged)
            matches += sum(j.is_match for j in judged)
    copies = mark_duplicates(store, name)  # the new verdicts start without duplicate_of
    return Reextraction(len(pages), documents, matches, frozenset(copies))

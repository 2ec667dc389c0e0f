"""Re-extraction and re-judging from the archive alone, with the network cut off."""

from __future__ import annotations

import json
import re
import shutil
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from archive.db.engine import open_engine
from archive.db.repository import Store
from crawler.demo import CHROME_STRINGS, NewsWeb
from crawler.reextract import reextract
from crawler.settings import STORYCRAWL_THRESHOLD
from tests.conftest import CrawlRun, Ran, assert_finds_the_story, assert_same_story, storycrawl


@contextmanager
def network_cut_off() -> Iterator[None]:
    """Sockets that cannot connect anywhere: what runs inside reads only the WARC files and
    the database (the extraction workers it spawns are handed page bodies, not URLs)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network used during re-extraction")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket, "create_connection", refuse)
        yield


def offline(*args: str) -> Ran:
    with network_cut_off():
        return storycrawl(*args)


def copy_of(crawl: CrawlRun, where: Path) -> Path:
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    copy = where / "data"
    shutil.copytree(crawl.data, copy)
    return copy


@pytest.fixture
def data(story_crawl: CrawlRun, tmp_path: Path) -> Path:
    return copy_of(story_crawl, tmp_path)


@dataclass(frozen=True)
class Stored:
    """A stored document, as far as these tests look at it."""

    id: int
    page_id: int
    host: str
    extractor: str
    extractor_version: str | None
    site_model: str | None


def documents(data: Path) -> list[Stored]:
    """Every stored document, oldest first."""
    with sqlite3.connect(data / "storycrawl.db") as database:
        rows = database.execute(
            "SELECT d.id, d.page_id, p.url, d.extractor, d.extractor_version, d.site_model"
            " FROM documents d JOIN pages p ON p.id = d.page_id ORDER BY d.id"
        ).fetchall()
    return [Stored(i, page, urlsplit(url).hostname or "", *rest) for i, page, url, *rest in rows]


def site_models(data: Path) -> dict[str, str]:
    """The label of every outlet's site model in the database, by host."""
    with sqlite3.connect(data / "storycrawl.db") as database:
        rows = database.execute("SELECT host, version FROM site_models")
        return {host: f"{host}@{version}" for host, version in rows}


def newest(data: Path) -> dict[int, Stored]:
    """Every page's newest document."""
    return {document.page_id: document for document in documents(data)}


def exported_urls(data: Path) -> set[str]:
    done = storycrawl("export", "--story", "aegis-ashore", "--data", str(data))
    assert done.returncode == 0, done.stderr
    return {json.loads(line)["canonical_url"] for line in done.stdout.splitlines()}


@dataclass(frozen=True)
class Reextracted:
    data: Path  # a copy of the story crawl's data, re-extracted
    done: Ran  # `storycrawl reextract`
    before: list[Stored]  # the documents before it
    models: dict[str, str]  # the site models before it


@pytest.fixture(scope="module")
def reextracted(story_crawl: CrawlRun, tmp_path_factory: pytest.TempPathFactory) -> Reextracted:
    """The story crawl's data re-extracted once, offline, by `storycrawl reextract`."""
    data = copy_of(story_crawl, tmp_path_factory.mktemp("reextracted"))
    before, models = documents(data), site_models(data)
    return Reextracted(data, offline("reextract", "--data", str(data)), before, models)


def test_reextract_rebuilds_the_corpus_offline(
    story_crawl: CrawlRun, news_web: NewsWeb, reextracted: Reextracted
) -> None:
    done = reextracted.done
    assert done.returncode == 0, done.stderr
    matches = len(news_web.story_urls()) + len(news_web.syndicated_urls())  # copies match too
    [found] = re.findall(r"aegis-ashore: .*?(\d+) matches", done.stdout)
    # Judged in another order than the crawl's, the story may take its hard neighbour.
    assert matches <= int(found) <= matches + 1, done.stdout
    after = documents(reextracted.data)
    assert len(after) > len(reextracted.before)  # new documents beside the old ones
    assert {(d.extractor, d.extractor_version) for d in after} == {
        ("trafilatura", version("trafilatura"))
    }
    exported = exported_urls(reextracted.data)
    assert exported_urls(story_crawl.data) == {r["url"] for r in story_crawl.export()}
    assert_same_story(exported, exported_urls(story_crawl.data), news_web)


def test_export_follows_the_newest_verdict(news_web: NewsWeb, data: Path) -> None:
    done = offline(
        "reextract", "--story", "aegis-ashore", "--threshold", "1.0", "--data", str(data)
    )
    assert done.returncode == 0, done.stderr
    assert len(exported_urls(data)) == 2  # only the two seeds pass a threshold of 1
    assert offline("reextract", "--data", str(data)).returncode == 0
    assert_finds_the_story(exported_urls(data), news_web)  # and the copy is a duplicate again


def test_reextract_unknown_story_is_bad_input(data: Path) -> None:
    done = offline("reextract", "--story", "nope", "--data", str(data))
    assert done.returncode == 2
    assert done.stderr.strip() == "storycrawl: error: unknown story 'nope'"


def test_the_crawl_learns_every_outlets_chrome_and_documents_say_so(
    story_crawl: CrawlRun, data: Path
) -> None:
    models = site_models(data)
    assert set(models) == {urlsplit(url).hostname for url in story_crawl.story.sites}
    made_with = {(d.host, d.site_model) for d in documents(data)}
    assert {host for host, model in made_with if model is None} == set(models)  # first pages
    assert {model.rpartition("@")[0] for _, model in made_with if model} == set(models)


def test_reextract_applies_the_models_learned_after_the_first_extraction(
    news_web: NewsWeb, reextracted: Reextracted
) -> None:
    assert reextracted.done.returncode == 0, reextracted.done.stderr
    made = [d for d in documents(reextracted.data) if d.id > reextracted.before[-1].id]
    assert made and all(d.site_model == reextracted.models[d.host] for d in made)
    assert_no_chrome(reextracted.data, news_web)


def test_a_crawl_ends_settled(news_web: NewsWeb, data: Path) -> None:
    """The crawl extracted its matched pages again once their outlets' models were final
    (its first pages had none): nothing is left for a settling pass, and no chrome."""
    with sqlite3.connect(data / "storycrawl.db") as database:
        [stats] = database.execute("SELECT stats FROM crawls").fetchone()
    assert json.loads(stats)["storycrawl/settled_pages"] > 0
    store = Store(open_engine(f"sqlite:///{data / 'storycrawl.db'}"))
    before = exported_urls(data)
    done = reextract(store, data / "warc", "aegis-ashore", STORYCRAWL_THRESHOLD, 2, stale_only=True)
    store.engine.dispose()
    assert done.pages == 0
    assert exported_urls(data) == before
    assert_no_chrome(data, news_web)


def assert_no_chrome(data: Path, web: NewsWeb) -> None:
    """The exported articles keep none of their outlet's chrome strings."""
    done = storycrawl("export", "--story", "aegis-ashore", "--data", str(data))
    assert done.returncode == 0, done.stderr
    by_url = {web.url(article.id): article for article in web.articles}
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert rows
    for row in rows:
        outlet = by_url[row["url"]].outlet
        assert [c for c in CHROME_STRINGS[outlet] if c in row["text"]] == [], row["url"]

"""`storycrawl import`: the story judged in WARC files made by other tools (Debian's wget,
py-wacz), with nothing fetched and the records left where they lie."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from archive.imports import read_collection
from crawler.demo import NewsWeb
from crawler.demo.crawl import demo_story
from tests.conftest import assert_finds_the_story, storycrawl, write_story_file

#: The WARC files are made by GNU wget (Debian's `wget` package): without it these tests
#: skip, except in CI, where they must run.
pytestmark = pytest.mark.skipif(
    shutil.which("wget") is None and not os.environ.get("CI"),
    reason="needs GNU wget to make the WARC files (apt-get install wget)",
)


@pytest.fixture(scope="module")
def wget_warc(news_web: NewsWeb, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every article page of the news web, and a few that are no article, fetched by
    wget into one WARC file, as a user archiving the outlets by hand would have."""
    folder = tmp_path_factory.mktemp("wget")
    urls = [news_web.url(article.id) for article in news_web.articles]
    urls += [*news_web.base_urls.values(), news_web.base_urls["courier"] + "robots.txt"]
    (folder / "urls.txt").write_text("\n".join(urls), encoding="utf-8")
    done = subprocess.run(
        ["wget", "--quiet", "--input-file=urls.txt", "--warc-file=outlets", "--delete-after",
         "--no-directories", "--no-warc-keep-log", "--tries=2", "--retry-on-http-error=500",
         "--waitretry=0", "--timeout=20"],
        cwd=folder, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    # 8: a server answered an error (the transient 500, before wget asked again)
    assert done.returncode in (0, 8), done.stderr
    return folder / "outlets.warc.gz"


@pytest.fixture
def story_file(news_web: NewsWeb, tmp_path: Path) -> Path:
    return write_story_file(tmp_path / "story.toml", demo_story(news_web, tmp_path / "data"))


def _import(story_file: Path, *paths: Path) -> subprocess.CompletedProcess:
    return storycrawl("import", *map(str, paths), "--story", str(story_file),
                      "-s", "STORYCRAWL_EXTRACT_WORKERS=2")  # fmt: skip


def _matched(story_file: Path) -> dict[str, dict]:
    out = story_file.parent / "export.jsonl"
    done = storycrawl("export", "--story", "aegis-ashore", "--data",
                      str(story_file.parent / "data"), "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    return {record["canonical_url"]: record for record in map(json.loads, lines)}


def _page_rows(story_file: Path) -> int:
    with sqlite3.connect(story_file.parent / "data" / "storycrawl.db") as db:
        return db.execute("select count(*) from pages").fetchone()[0]


def test_import_of_a_wget_warc_finds_the_story(
    news_web: NewsWeb, wget_warc: Path, story_file: Path
) -> None:
    done = _import(story_file, wget_warc)
    assert done.returncode == 0, done.stderr
    assert "not HTML" in done.stdout and "request record" in done.stdout
    matched = _matched(story_file)
    assert_finds_the_story(set(matched), news_web)
    for record in matched.values():  # pointing into wget's file, not a copy of it
        assert record["warc_file"] == str(wget_warc.resolve())
    verified = storycrawl("verify", "--data", str(story_file.parent / "data"))
    assert verified.returncode == 0, verified.stdout

    pages = _page_rows(story_file)
    again = _import(story_file, wget_warc)
    assert again.returncode == 0, again.stderr
    assert "imported before and unchanged" in again.stdout
    assert _page_rows(story_file) == pages


def test_import_of_a_wacz_reads_its_warc_in_place(
    news_web: NewsWeb, wget_warc: Path, story_file: Path
) -> None:
    wacz = story_file.parent / "outlets.wacz"
    made = subprocess.run(
        [sys.executable, "-m", "wacz", "create", "-o", str(wacz), str(wget_warc)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    done = _import(story_file, wacz)
    assert done.returncode == 0, done.stderr
    matched = _matched(story_file)
    assert_finds_the_story(set(matched), news_web)
    assert {record["warc_file"] for record in matched.values()} == {str(wacz.resolve())}
    verified = storycrawl("verify", "--data", str(story_file.parent / "data"))
    assert verified.returncode == 0, verified.stdout


def test_a_truncated_warc_gives_the_pages_before_the_cut(wget_warc: Path, tmp_path: Path) -> None:
    whole = read_collection(wget_warc)
    cut = tmp_path / "cut.warc.gz"
    data = wget_warc.read_bytes()
    middle = whole.pages[len(whole.pages) // 2].warc
    cut.write_bytes(data[: middle.offset + middle.length // 2])
    reading = read_collection(cut)
    assert [p.url for p in reading.pages] == [p.url for p in whole.pages[: len(whole.pages) // 2]]
    assert any("truncated" in why for why in reading.skipped)


def test_a_file_that_is_no_collection_is_refused(story_file: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a WARC", encoding="utf-8")
    done = _import(story_file, notes)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "is not a WARC or WACZ file" in done.stderr


def test_a_collection_without_the_seeds_stores_nothing(
    news_web: NewsWeb, story_file: Path, tmp_path: Path
) -> None:
    """A home page alone, for a story never crawled: nothing to judge it against."""
    fetched = subprocess.run(
        ["wget", "--quiet", "--warc-file=listing", "--delete-after", "--no-warc-keep-log",
         news_web.base_urls["ledger"]],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert fetched.returncode == 0, fetched.stderr
    done = _import(story_file, tmp_path / "listing.warc.gz")
    assert done.returncode == 2
    assert "no seed article of story 'aegis-ashore'" in done.stderr
    assert _page_rows(story_file) == 0

"""The `storycrawl` command as a user meets it: exit statuses, one-line errors, output.

A `crawl` that fetches runs in its own process (it starts a Twisted reactor); everything
else, bad input refused before any fetch included, is called in-process through
`crawler.cli.main`, which returns the exit status.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomli_w

from crawler.cli import main
from crawler.demo import CHROME_STRINGS, Article, NewsWeb
from crawler.demo.crawl import DEMO_SETTINGS, demo_story
from tests.conftest import (
    CrawlRun,
    settings_args,
    storycrawl,
    storycrawl_process,
    write_story_file,
)

STORY = "aegis-ashore"

#: The export record of DESIGN.md, in its order.
EXPORT_FIELDS = [
    "url", "canonical_url", "title", "author", "date", "sitename", "language", "text",
    "story", "score", "is_match", "duplicate_of", "fetched_at", "status", "warc_file",
    "warc_offset", "warc_length", "payload_digest", "archive", "archive_url",
    "archived_at",
]  # fmt: skip

#: Fast crawls of loopback servers; the rest of the crawl runs with the user's defaults.
QUICK = ["-s", "DOWNLOAD_DELAY=0", "-s", "RETRY_ENABLED=0"]


# -- helpers ------------------------------------------------------------------------------


def error_line(returncode: int, stderr: str, *names: str) -> str:
    """The error a user reads last: exit status 2, `storycrawl: error:`, naming the problem."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert returncode == 2, f"exit status {returncode}; stderr ends:\n{stderr[-2000:]}"
    assert lines, "exit status 2 with nothing on stderr"
    last = lines[-1]
    assert last.startswith("storycrawl: error:"), f"stderr ends:\n{stderr[-2000:]}"
    for name in names:
        assert name in last, f"{name!r} is not named in: {last}"
    return last


def assert_only_line(stderr: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    tracebacks = sum(line.startswith("Traceback") for line in lines)
    shown = "\n".join(line[:160] for line in lines[:6])
    assert len(lines) == 1, (
        f"{len(lines)} non-empty lines on stderr ({tracebacks} tracebacks), not one; "
        f"they start:\n{shown}"
    )


def one_line_error(returncode: int, stderr: str, *names: str) -> str:
    line = error_line(returncode, stderr, *names)
    assert_only_line(stderr)
    return line


def exported(data: Path, out: Path) -> list[dict]:
    """The story's default export (matched, non-duplicate articles), read back from a file."""
    status = main(["export", "--story", STORY, "--data", str(data), "--out", str(out)])
    assert status == 0
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def assert_same_rows(after: list[dict], before: list[dict]) -> None:
    assert len(after) == len(before)
    assert [row["url"] for row in after] == [row["url"] for row in before]
    assert after == before


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def refused_url() -> Iterator[str]:
    """A loopback URL whose connections are refused: its port is bound, so that nothing
    else can take it while the tests run, and not listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/2018/01/16/aegis-ashore.html"


@pytest.fixture(scope="module")
def crawled(story_crawl: CrawlRun) -> CrawlRun:
    assert story_crawl.returncode == 0, story_crawl.stderr[-3000:]
    return story_crawl


@pytest.fixture(scope="module")
def stored_rows(crawled: CrawlRun, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    rows = exported(crawled.data, tmp_path_factory.mktemp("baseline") / "rows.jsonl")
    assert rows, "the story crawl exported nothing"
    return rows


@pytest.fixture
def stored_copy(crawled: CrawlRun, tmp_path: Path) -> Path:
    """A copy of the crawled data directory, for commands that might write into it."""
    copy = tmp_path / "stored"
    shutil.copytree(crawled.data, copy)
    return copy


# -- 1. bad input: exit status 2, one line on stderr, nothing stored lost -------------------


def test_unreachable_seed_is_a_one_line_error_and_loses_nothing(
    stored_copy: Path, stored_rows: list[dict], tmp_path: Path, refused_url: str
) -> None:
    seed = refused_url
    done = storycrawl_process(
        "crawl", "--name", "x", "--seed", seed, "--data", str(stored_copy), *QUICK
    )
    error_line(done.returncode, done.stderr, seed)
    assert_same_rows(exported(stored_copy, tmp_path / "after.jsonl"), stored_rows)
    assert_only_line(done.stderr)


def test_seed_disallowed_by_robots_txt_is_a_one_line_error(
    news_web: NewsWeb, tmp_path: Path
) -> None:
    # (A print copy would not do: storycrawl fetches the article it copies instead.)
    seed = news_web.base_urls["northwire"] + "search?q=aegis+ashore"
    data = tmp_path / "data"
    done = storycrawl_process("crawl", "--name", "x", "--seed", seed, "--data", str(data), *QUICK)
    line = one_line_error(done.returncode, done.stderr, seed)
    assert "robots.txt" in line


@pytest.mark.parametrize("seed", ["not-a-url", "ftp://x/y"])
def test_seed_that_is_not_an_http_url_is_a_one_line_error(
    seed: str, stored_copy: Path, stored_rows: list[dict], tmp_path: Path
) -> None:
    done = storycrawl("crawl", "--name", "x", "--seed", seed, "--data", str(stored_copy), *QUICK)
    one_line_error(done.returncode, done.stderr, seed)
    assert_same_rows(exported(stored_copy, tmp_path / "after.jsonl"), stored_rows)


def test_unwritable_data_directory_is_a_one_line_error(tmp_path: Path, refused_url: str) -> None:
    (tmp_path / "file").write_text("a regular file, not a directory\n", encoding="utf-8")
    data = tmp_path / "file" / "data"
    done = storycrawl("crawl", "--name", "x", "--seed", refused_url, "--data", str(data), *QUICK)
    one_line_error(done.returncode, done.stderr, str(data))
    assert (tmp_path / "file").is_file()


BAD_STORY_FILES = {
    "invalid TOML": ('name = "x"\nseeds = [\n', []),
    "unknown key": (None, ["max_page"]),
    "since after until": (None, ["2018-06-30", "2017-12-01"]),
}


@pytest.mark.parametrize("case", list(BAD_STORY_FILES))
def test_malformed_story_file_is_a_one_line_error(
    case: str, stored_copy: Path, stored_rows: list[dict], tmp_path: Path, refused_url: str
) -> None:
    text, names = BAD_STORY_FILES[case]
    if text is None:
        keys = {"name": "x", "seeds": [refused_url], "data": str(stored_copy)}
        if case == "unknown key":
            keys["max_page"] = 3
        else:
            keys.update(since="2018-06-30", until="2017-12-01")
        text = tomli_w.dumps(keys)
    story_file = tmp_path / "story.toml"
    story_file.write_text(text, encoding="utf-8")
    done = storycrawl("crawl", str(story_file), *QUICK)
    one_line_error(done.returncode, done.stderr, *(names or [str(story_file)]))
    assert_same_rows(exported(stored_copy, tmp_path / "after.jsonl"), stored_rows)


@pytest.mark.parametrize(
    ("story", "args", "names"),
    [
        ("data = 5", [], ["data must be a path"]),
        ('warc_dir = ["a"]', [], ["warc_dir must be a path"]),
        ('recrawl_after = "99999999999d"', [], ["recrawl_after"]),
        ("since = 2018-01-01T00:00:00\nuntil = 2018-02-01", [], ["since", "not a time"]),
        ("", ["--seed", "http://127.0.0.1:99999/"], ["99999", "port"]),
        ("", ["-s", "CONCURRENT_REQUESTS=abc"], ["CONCURRENT_REQUESTS", "abc"]),
        (f'name = "{"n" * 5000}"', [], ["5000 characters"]),
    ],
    ids=["data", "warc_dir", "recrawl_after", "datetime", "port", "setting", "long-name"],
)
def test_bad_values_are_one_line_errors_before_anything_runs(
    story: str, args: list[str], names: list[str], tmp_path: Path, refused_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Each of these ended in a traceback or a crawl that did nothing (issue 15)."""
    story_file = tmp_path / "story.toml"
    keys = "\n".join(line for line in (f'seeds = ["{refused_url}"]', story) if line)
    if "name =" not in story:
        keys = f'name = "x"\n{keys}'
    if "data =" not in story:
        keys = f"{keys}\ndata = {str(tmp_path / 'data')!r}"
    story_file.write_text(keys, encoding="utf-8")
    status = main(["crawl", str(story_file), *args])
    one_line_error(status, capsys.readouterr().err, *names)
    assert not (tmp_path / "data").exists(), "a refused crawl made its data directory"


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--story", "nope"], ["nope", STORY]),  # the message lists the known stories
        (["--story", STORY, "--since", "yesterday"], ["yesterday"]),
        (["--story", STORY, "--min-score", "high"], ["high"]),  # bad usage, caught by click
    ],
    ids=["unknown-story", "bad-date", "bad-usage"],
)
def test_bad_export_is_a_one_line_error_and_makes_no_file(
    args: list[str], names: list[str], crawled: CrawlRun, stored_rows: list[dict],
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    out = tmp_path / "corpus.jsonl"
    status = main(["export", *args, "--data", str(crawled.data), "--out", str(out)])
    captured = capsys.readouterr()
    one_line_error(status, captured.err, *names)
    assert captured.out == ""
    assert sorted(tmp_path.iterdir()) == [], "a failed export left a file behind"
    assert_same_rows(exported(crawled.data, tmp_path / "after.jsonl"), stored_rows)


def test_export_never_replaces_a_special_file(
    crawled: CrawlRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pipe stands in for /dev/null: the atomic rename would make it a regular file."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    status = main(["export", "--story", STORY, "--data", str(crawled.data), "--out", str(pipe)])
    one_line_error(status, capsys.readouterr().err, str(pipe), "--out -")
    assert stat.S_ISFIFO(pipe.stat().st_mode), "the pipe was replaced"
    assert sorted(tmp_path.iterdir()) == [pipe], "a refused export left a file behind"


def test_export_without_a_database_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "no-data-here"
    data.mkdir()
    status = main(["export", "--story", STORY, "--data", str(data), "--out", "-"])
    captured = capsys.readouterr()
    one_line_error(status, captured.err, str(data))
    assert captured.out == ""
    assert list(data.iterdir()) == [], "export created a database where there was none"


# -- 2. export in-process -----------------------------------------------------------------


def test_export_to_stdout_writes_json_lines_of_the_contract(
    crawled: CrawlRun, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["export", "--story", STORY, "--data", str(crawled.data), "--out", "-"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert rows, "nothing exported"
    for row in rows:
        assert list(row) == EXPORT_FIELDS
        assert row["story"] == STORY and row["is_match"] is True
    assert f"exported {len(rows)} records" in captured.err


# -- 3. extract ---------------------------------------------------------------------------


@pytest.fixture
def saved_pages(news_web: NewsWeb, tmp_path: Path) -> list[tuple[Article, Path]]:
    """Two Northwire article pages saved as a browser would (no gzip: urllib does not ask)."""
    northwire = [a for a in news_web.articles if a.outlet == "northwire"]
    picks = [northwire[0], next(a for a in northwire if a.author)]
    saved = []
    for article in picks:
        with urllib.request.urlopen(news_web.url(article.id), timeout=10) as response:
            assert response.headers.get("Content-Encoding") is None
            html = response.read()
        path = tmp_path / f"{article.id}.html"
        path.write_bytes(html)
        saved.append((article, path))
    return saved


def test_extract_prints_the_article_text_without_the_chrome(
    saved_pages: list[tuple[Article, Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    article, path = saved_pages[0]
    status = main(["extract", str(path)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    for paragraph in article.paragraphs:
        assert paragraph in captured.out
    kept = [chrome for chrome in CHROME_STRINGS[article.outlet] if chrome in captured.out]
    assert kept == [], "page chrome kept in the extracted text"


def test_extract_jsonl_writes_one_line_of_metadata_per_file(
    saved_pages: list[tuple[Article, Path]],
    news_web: NewsWeb,
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["extract", "--format", "jsonl", *(str(path) for _, path in saved_pages)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert len(records) == len(saved_pages)
    page_fields = {"canonical_url", "author", "sitename", "language"}
    for record, (article, path) in zip(records, saved_pages, strict=True):
        assert {"path", "title", "date", "text"} | page_fields <= set(record)
        assert record["path"] == str(path)
        assert record["title"] == article.title
        assert record["date"] == article.date.date().isoformat()
        assert record["author"] == article.author
        assert record["sitename"] == "Northwire"
        assert record["language"] == "en"
        assert record["canonical_url"] == news_web.url(article.id)
        for paragraph in article.paragraphs:
            assert paragraph in record["text"]


def test_extract_jsonl_of_a_page_without_text_still_has_every_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "blank.html"
    path.write_text("<html><body></body></html>", encoding="utf-8")
    status = main(["extract", "--format", "jsonl", str(path)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    [record] = [json.loads(line) for line in captured.out.splitlines()]
    assert record["path"] == str(path)
    missing = {"title", "date", "text", "author", "sitename", "language"} - set(record)
    assert not missing, f"the line for a page with no text lacks {sorted(missing)}"


def test_extract_of_a_missing_file_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "never-saved.html"
    status = main(["extract", str(path)])
    captured = capsys.readouterr()
    one_line_error(status, captured.err, str(path))
    assert captured.out == ""


# -- 4. Scrapy-native -----------------------------------------------------------------------


def test_scrapy_crawl_story_works_from_anywhere(news_web: NewsWeb, tmp_path: Path) -> None:
    data = tmp_path / "data"
    story = dataclasses.replace(demo_story(news_web, data), max_pages=40)
    story_file = write_story_file(tmp_path / "story.toml", story)
    done = subprocess.run(
        [str(Path(sys.executable).with_name("scrapy")), "crawl", "story",
         "-a", f"story={story_file}", *settings_args(DEMO_SETTINGS)],
        # No scrapy.cfg here or above, no SCRAPY_SETTINGS_MODULE: as after `pip install`.
        cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = exported(data, tmp_path / "corpus.jsonl")
    assert rows, "the Scrapy-native crawl exported nothing"
    assert set(story.seeds) <= {row["url"] for row in rows}
    assert {row["story"] for row in rows} == {STORY}
    warc_dir = data / "warc"
    assert sorted(warc_dir.glob("*.warc.gz")), "no WARC files written"
    assert sorted(warc_dir.glob("*.open")) == [], "WARC files left open"

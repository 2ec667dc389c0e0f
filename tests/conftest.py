"""Shared fixtures: the bundled news web on loopback, and one real crawl of its story."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from archive.urls import canonical
from crawler.cli import main
from crawler.demo import Delays, NewsWeb, Served
from crawler.demo.crawl import DEMO_SETTINGS, demo_story
from crawler.storyfile import StoryDefinition

pytest_plugins = ["tests.databases"]

#: The news web's waits, lowered: a crawl honours a Crawl-delay of 0.05 s as it does one of
#: 1 s (tests/test_frontier.py times one), and a slow page is slow at half a second too.
TEST_DELAYS = Delays(crawl_delay=0.05, slow_page=0.5)


#: The size at which the shared story crawl starts a new WARC file.
ROTATE_AT = 200_000


@pytest.fixture(scope="session")
def news_web() -> Iterator[NewsWeb]:
    with NewsWeb(delays=TEST_DELAYS) as web:
        yield web


@dataclass(frozen=True)
class CrawlRun:
    story: StoryDefinition
    story_file: Path
    data: Path
    returncode: int
    stdout: str
    stderr: str
    served: list[Served]

    @property
    def warc_files(self) -> list[Path]:
        return sorted((self.data / "warc").glob("*.warc.gz"))

    def export(self, *args: str) -> list[dict]:
        done = storycrawl("export", "--story", self.story.name, "--data", str(self.data),
                          "--out", "-", *args)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines()]


@dataclass(frozen=True)
class Ran:
    """What a command gave: its exit status and what it wrote."""

    returncode: int
    stdout: str
    stderr: str


#: Commands that start a Twisted reactor, which a process runs only once: each of these runs
#: in a process of its own (see :func:`storycrawl_process`).
REACTOR_COMMANDS = frozenset({"crawl", "demo", "schedule"})


def storycrawl(
    *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> Ran | subprocess.CompletedProcess:
    """Run the command as `storycrawl ARGS` on a wide terminal (rich wraps table cells to
    the terminal's width): in this process, but for crawls and commands given an
    environment of their own (``env``, added to this one), which run in their own."""
    if env is not None or (args and args[0] in REACTOR_COMMANDS):
        return storycrawl_process(*args, timeout=timeout, env=env)
    with CliRunner().isolation(env={"COLUMNS": "400"}) as (out, err, _):
        status = main(list(args))
        sys.stdout.flush()
        sys.stderr.flush()
        return Ran(status, out.getvalue().decode(), err.getvalue().decode())


def storycrawl_process(
    *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run the command as a user would, in a process of its own, with ``env`` added to its
    environment."""
    return subprocess.run(
        [sys.executable, "-c", "import sys; from crawler.cli import main; sys.exit(main())", *args],
        capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "COLUMNS": "400", **(env or {})},
    )  # fmt: skip


def assert_finds_the_story(found: set[str], web: NewsWeb) -> None:
    """Every story article is among the canonical URLs ``found``, and nothing else but the
    web's hard neighbours: the judge, fitted on real news, takes one of them (Aegis Ashore in
    Poland) from some seeds and orders of pages; its threshold is not chosen on this web."""
    story = {canonical(url) for url in web.story_urls()}
    assert story <= found, f"story articles missed: {sorted(story - found)}"
    others = found - story
    assert others <= {canonical(url) for url in web.neighbour_urls()}, sorted(others)
    assert len(others) <= 1, sorted(others)


def assert_same_story(found: set[str], expected: set[str], web: NewsWeb) -> None:
    """Two crawls found the same story, but for a hard neighbour either may take (the judge
    follows the story as it reads it, so the order of pages can decide a neighbour)."""
    neighbours = {canonical(url) for url in web.neighbour_urls()}
    assert found - neighbours == expected - neighbours
    assert_finds_the_story(found, web)


def write_story_file(path: Path, story: StoryDefinition) -> Path:
    path.write_text(tomli_w.dumps(story.as_json()), encoding="utf-8")
    return path


def settings_args(settings: dict) -> list[str]:
    return [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]


@pytest.fixture(scope="session")
def story_crawl(news_web: NewsWeb, tmp_path_factory: pytest.TempPathFactory) -> CrawlRun:
    """The bundled story crawled once by `storycrawl crawl STORY.toml`, as a user runs it,
    its WARC files rotating at 200 kB (ROTATE_AT) so that several tests see several files."""
    data = tmp_path_factory.mktemp("story-crawl")
    story = demo_story(news_web, data)
    story_file = write_story_file(data / "story.toml", story)
    already = len(news_web.requests)
    settings = {**DEMO_SETTINGS, "STORYCRAWL_WARC_MAX_SIZE": ROTATE_AT}
    done = storycrawl_process("crawl", str(story_file), *settings_args(settings))
    return CrawlRun(
        story, story_file, data, done.returncode, done.stdout, done.stderr,
        news_web.requests[already:],
    )  # fmt: skip

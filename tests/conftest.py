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

from crawler.demo import NewsWeb, Served
from crawler.demo.crawl import DEMO_SETTINGS, demo_story
from crawler.storyfile import StoryDefinition

pytest_plugins = ["tests.databases"]


@pytest.fixture(scope="session")
def news_web() -> Iterator[NewsWeb]:
    with NewsWeb() as web:
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
        out = self.data / "export.jsonl"
        done = storycrawl("export", "--story", self.story.name, "--data", str(self.data),
                          "--out", str(out), *args)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def storycrawl(
    *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run the installed command as a user would, in its own process (on a wide terminal:
    rich wraps table cells to the terminal's width), with ``env`` added to its environment."""
    return subprocess.run(
        [sys.executable, "-c", "import sys; from crawler.cli import main; sys.exit(main())", *args],
        capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "COLUMNS": "400", **(env or {})},
    )  # fmt: skip


def write_story_file(path: Path, story: StoryDefinition) -> Path:
    path.write_text(tomli_w.dumps(story.as_json()), encoding="utf-8")
    return path


def settings_args(settings: dict) -> list[str]:
    return [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]


@pytest.fixture(scope="session")
def story_crawl(news_web: NewsWeb, tmp_path_factory: pytest.TempPathFactory) -> CrawlRun:
    """The bundled story crawled once by `storycrawl crawl STORY.toml`, as a user runs it."""
    data = tmp_path_factory.mktemp("story-crawl")
    story = demo_story(news_web, data)
    story_file = write_story_file(data / "story.toml", story)
    already = len(news_web.requests)
    done = storycrawl("crawl", str(story_file), *settings_args(DEMO_SETTINGS))
    return CrawlRun(
        story, story_file, data, done.returncode, done.stdout, done.stderr,
        news_web.requests[already:],
    )  # fmt: skip

"""Re-extraction and re-judging from the archive alone, with the network cut off."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.conftest import CrawlRun

#: Runs the CLI in a process whose sockets cannot connect anywhere: proof that
#: re-extraction reads only the WARC files and the database.
OFFLINE = (
    "import socket, sys\n"
    "def refuse(*args, **kwargs):\n"
    "    raise OSError('network used during re-extraction')\n"
    "socket.socket.connect = refuse\n"
    "socket.create_connection = refuse\n"
    "from crawler.cli import main\n"
    "sys.exit(main())\n"
)


def offline(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", OFFLINE, *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def data(story_crawl: CrawlRun, tmp_path: Path) -> Path:
    assert story_crawl.returncode == 0, story_crawl.stderr[-3000:]
    copy = tmp_path / "data"
    shutil.copytree(story_crawl.data, copy)
    return copy


def documents(data: Path) -> list[str]:
    """The extractor of every stored document."""
    with sqlite3.connect(data / "storycrawl.db") as database:
        return [row[0] for row in database.execute("SELECT extractor FROM documents")]


def exported_urls(data: Path) -> set[str]:
    done = offline("export", "--story", "aegis-ashore", "--data", str(data))
    assert done.returncode == 0, done.stderr
    return {line.split('"url": "')[1].split('"')[0] for line in done.stdout.splitlines()}


def test_reextract_rebuilds_the_corpus_offline(story_crawl: CrawlRun, data: Path) -> None:
    before = exported_urls(data)
    stored = len(documents(data))
    done = offline("reextract", "--data", str(data))
    assert done.returncode == 0, done.stderr
    assert "aegis-ashore:" in done.stdout and "11 matches" in done.stdout
    after = documents(data)
    assert len(after) > stored  # new documents beside the old ones
    assert set(after) == {f"trafilatura {version('trafilatura')}"}
    assert exported_urls(data) == before == {row["url"] for row in story_crawl.export()}


def test_export_follows_the_newest_verdict(data: Path) -> None:
    done = offline(
        "reextract", "--story", "aegis-ashore", "--threshold", "0.99", "--data", str(data)
    )
    assert done.returncode == 0, done.stderr
    assert len(exported_urls(data)) == 2  # only the two seeds pass a threshold of 0.99
    assert offline("reextract", "--data", str(data)).returncode == 0
    assert len(exported_urls(data)) == 11


def test_reextract_unknown_story_is_bad_input(data: Path) -> None:
    done = offline("reextract", "--story", "nope", "--data", str(data))
    assert done.returncode == 2
    assert done.stderr.strip() == "storycrawl: error: unknown story 'nope'"

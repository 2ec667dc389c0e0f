"""A crawl shows what it is doing from its first second: a line every few seconds when its
output is a file or a pipe, a table redrawn in place on a terminal; every judged article is
a line of the log, which `--log-format json` writes as JSON."""

from __future__ import annotations

import dataclasses
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.demo import NewsWeb
from crawler.demo.crawl import DEMO_SETTINGS, demo_story
from tests.conftest import settings_args, storycrawl, write_story_file

MAIN = "import sys; from crawler.cli import main; sys.exit(main())"
#: A small crawl, progress every 0.2 s, the log at INFO: the judged articles are in it.
SETTINGS = {**DEMO_SETTINGS, "LOG_LEVEL": "INFO", "STORYCRAWL_PROGRESS_INTERVAL": 0.2}


def small_story(news_web: NewsWeb, data: Path) -> Path:
    story = dataclasses.replace(demo_story(news_web, data), max_pages=30)
    return write_story_file(data.parent / "story.toml", story)


@pytest.fixture(scope="module")
def json_crawl(news_web: NewsWeb, tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("progress") / "data"
    story_file = small_story(news_web, data)
    done = storycrawl("crawl", str(story_file), "--log-format", "json", *settings_args(SETTINGS))
    assert done.returncode == 0, done.stderr[-3000:]
    return data, done


def test_progress_lines_start_at_once_and_count_up(json_crawl) -> None:
    _, done = json_crawl
    lines = re.findall(
        r"^\[(\d+):(\d\d)\] (\d+) pages fetched \([\d.]+/s\), (\d+) queued, (\d+) matches",
        done.stdout, re.MULTILINE,
    )  # fmt: skip
    assert len(lines) >= 3, done.stdout
    assert lines[0][:3] == ("0", "00", "0")  # the first line comes as the crawl opens
    fetched = [int(line[2]) for line in lines]
    assert fetched == sorted(fetched) and fetched[-1] >= 30
    assert "outlets (pages/matches): " in done.stdout
    assert done.stderr == "", "progress goes to stdout; stderr is for what went wrong"


def test_log_has_one_json_line_per_record_and_one_per_judged_article(json_crawl) -> None:
    data, _ = json_crawl
    entries = [json.loads(line) for line in (data / "storycrawl.log").read_text().splitlines()]
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    judged = [e["message"] for e in entries if e["message"].startswith("Judged ")]
    verdicts = {}
    for message in judged:
        url, score, verdict = re.fullmatch(r"Judged (\S+): score ([\d.]+), (.+)", message).groups()
        assert 0 <= float(score) <= 1
        verdicts[url] = verdict
    listing = storycrawl("show", "aegis-ashore", "--data", str(data), "--format", "jsonl")
    rows = [json.loads(line) for line in listing.stdout.splitlines()]
    accepted = [r["url"] for r in rows if r["state"] in ("accepted", "duplicate")]
    rejected = [r["url"] for r in rows if r["state"] == "rejected"]
    assert accepted and rejected
    assert all(verdicts[url] == "match" for url in accepted)
    assert all(verdicts[url].startswith("rejected: ") for url in rejected)


def test_progress_on_a_terminal_is_a_table_redrawn_in_place(
    news_web: NewsWeb, tmp_path: Path
) -> None:
    story_file = small_story(news_web, tmp_path / "data")
    controller, terminal = pty.openpty()
    crawl = subprocess.Popen(
        [sys.executable, "-c", MAIN, "crawl", str(story_file), *settings_args(SETTINGS)],
        stdin=subprocess.DEVNULL, stdout=terminal, stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "120", "TERM": "xterm"},
    )  # fmt: skip
    os.close(terminal)
    screen = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the crawl closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    os.close(controller)
    _, err = crawl.communicate(timeout=120)
    assert crawl.returncode == 0, err
    text = screen.decode(errors="replace")
    assert text.count("elapsed") >= 3, text[-3000:]
    assert "\x1b[" in text  # cursor moves: the table is redrawn, not printed again
    assert re.search(r"all \(\d+ queued\)\s*│\s*\d+\s*│\s*\d+", text), text[-3000:]
    assert "pages fetched" in text  # the summary follows the last table

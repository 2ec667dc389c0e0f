"""What a new user meets on the first day: `storycrawl demo`, its summary, `show` and
`stories`, as they are run from a terminal. One demo run serves the whole module."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crawler.cli.stories import SHOW_FIELDS
from tests.conftest import storycrawl

STORY = "aegis-ashore"
#: The port the demo used to insist on.
OLD_DEMO_PORT = 8018


@dataclass(frozen=True)
class Demo:
    data: Path
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`storycrawl demo` while something else holds the port it used to need."""
    data = tmp_path_factory.mktemp("demo") / "data"
    with socket.socket() as taken:
        try:
            taken.bind(("127.0.0.2", OLD_DEMO_PORT))
            taken.listen()
        except OSError:  # another program holds it already: as good for this test
            pass
        done = subprocess.run(
            [sys.executable, "-c", "import sys; from crawler.cli import main; sys.exit(main())",
             "demo", "--data", str(data)],
            capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"},
        )  # fmt: skip
    yield Demo(data, done.returncode, done.stdout, done.stderr)


def shown(demo: Demo, *args: str) -> subprocess.CompletedProcess:
    done = storycrawl("show", STORY, "--data", str(demo.data), *args)
    assert done.returncode == 0, done.stderr
    return done


def exported(demo: Demo) -> list[dict]:
    done = storycrawl("export", "--story", STORY, "--data", str(demo.data), "--out", "-")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_demo_serves_on_free_ports_and_prints_where(demo: Demo) -> None:
    assert demo.returncode == 0, demo.stderr[-3000:]
    [line] = [line for line in demo.stderr.splitlines() if line.startswith("news web: ")]
    ports = {int(port) for port in re.findall(r"http://127\.0\.0\.\d:(\d+)/", line)}
    assert ports and OLD_DEMO_PORT not in ports


def test_demo_summary_names_outlets_and_says_what_to_do_next(demo: Demo) -> None:
    rows = [line for line in demo.stdout.splitlines() if line.startswith("│")]
    outlets = {cells[1].strip() for cells in (row.split("│")[1:-1] for row in rows)}
    assert "The Asia Ledger" in outlets  # a site that names itself only in its <title>
    assert not [o for o in outlets if re.search(r"\d+\.\d+\.\d+\.\d+", o)], outlets
    report = demo.data / f"{STORY}.html"
    assert f"report:         {report}" in demo.stdout and report.stat().st_size > 10_000
    steps = demo.stdout.split("next:\n", 1)[1].splitlines()
    assert any(step.strip().startswith(f"storycrawl show {STORY} --data") for step in steps)
    assert any(step.strip().startswith("storycrawl stories --data") for step in steps)


def test_show_limits_rows_to_one_line_each(demo: Demo) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from crawler.cli import main; sys.exit(main())",
         "show", STORY, "--data", str(demo.data), "--limit", "5"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "100"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    rows = [line for line in lines if line.startswith("│")]
    assert len(rows) == 5, done.stdout  # one line each: long URLs are cut, not wrapped
    assert max(len(line) for line in lines) <= 100, done.stdout
    assert "more: --limit 0 shows all" in done.stdout


def test_show_jsonl_and_csv_give_every_candidate_with_a_reason(demo: Demo) -> None:
    records = [json.loads(line) for line in shown(demo, "--format", "jsonl").stdout.splitlines()]
    states = {r["state"] for r in records}
    assert {"accepted", "duplicate", "rejected", "fetched", "discovered"} <= states
    assert [r for r in records if not r["why"]] == []
    assert list(records[0]) == list(SHOW_FIELDS)
    [copy] = [r for r in records if r["state"] == "duplicate"]
    assert copy["why"].startswith("a syndicated copy of http://")
    table = list(csv.DictReader(io.StringIO(shown(demo, "--format", "csv").stdout)))
    assert [r["url"] for r in table] == [r["url"] for r in records]
    assert [r["why"] for r in table] == [r["why"] for r in records]
    limited = shown(demo, "--format", "jsonl", "--limit", "3").stdout.splitlines()
    assert [json.loads(line) for line in limited] == records[:3]


def test_stories_counts_each_match_once_without_copies(demo: Demo) -> None:
    matches = exported(demo)
    records = [json.loads(line) for line in shown(demo, "--format", "jsonl").stdout.splitlines()]
    assert [r for r in records if r["state"] == "duplicate"], "the demo has a syndicated copy"
    done = storycrawl("stories", "--data", str(demo.data))
    assert done.returncode == 0, done.stderr
    [row] = [line for line in done.stdout.splitlines() if STORY in line]
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells[3] == str(len(matches)), done.stdout
    assert f"matches:        {len(matches)} " in demo.stdout

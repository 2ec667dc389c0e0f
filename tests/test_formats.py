"""Every export format: the same columns, the right types, the filters, and no half files."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from archive.export import EXPORT_FIELDS
from tests.conftest import CrawlRun, Ran, storycrawl


@pytest.fixture(scope="module")
def crawl(story_crawl: CrawlRun) -> CrawlRun:
    assert story_crawl.returncode == 0, story_crawl.stderr[-3000:]
    return story_crawl


def export(crawl: CrawlRun, *args: str) -> Ran:
    return storycrawl("export", "--story", crawl.story.name, "--data", str(crawl.data), *args)


def test_csv_has_the_columns_and_rows_of_jsonl(crawl: CrawlRun, tmp_path) -> None:
    rows = crawl.export()
    assert export(crawl, "--format", "csv", "--out", str(tmp_path / "c.csv")).returncode == 0
    with open(tmp_path / "c.csv", newline="", encoding="utf-8") as stream:
        table = list(csv.DictReader(stream))
    assert tuple(table[0]) == EXPORT_FIELDS
    assert [r["url"] for r in table] == [r["url"] for r in rows]
    assert [r["text"] for r in table] == [r["text"] for r in rows]


def test_parquet_and_jsonl_load_with_the_right_types(crawl: CrawlRun, tmp_path) -> None:
    out = tmp_path / "c.parquet"
    assert export(crawl, "--format", "parquet", "--out", str(out)).returncode == 0
    table = pq.read_table(out)
    assert tuple(table.schema.names) == EXPORT_FIELDS
    # The publication date is a day, not a naive timestamp at midnight.
    assert table.schema.field("date").type == pa.date32()
    days = [r["date"] and date.fromisoformat(r["date"][:10]) for r in crawl.export()]
    assert table.column("date").to_pylist() == days
    frame = pd.read_parquet(out)
    assert str(frame["fetched_at"].dtype).startswith("datetime64") and "UTC" in str(
        frame["fetched_at"].dtype
    )
    assert frame["score"].dtype == "float64" and frame["is_match"].dtype == bool
    assert len(frame) == len(crawl.export())

    assert export(crawl, "--out", str(tmp_path / "c.jsonl")).returncode == 0
    lines = pd.read_json(tmp_path / "c.jsonl", lines=True)
    assert str(lines["date"].dtype).startswith("datetime64")
    assert str(lines["fetched_at"].dtype).startswith("datetime64")
    assert lines["score"].dtype == "float64"


def test_parquet_columns_null_in_every_row_keep_their_type(crawl: CrawlRun, tmp_path) -> None:
    out = tmp_path / "c.parquet"
    # Northwire's pages name no author, and no copy points at another of its articles.
    rows = [r for r in crawl.export() if r["sitename"] == "Northwire"]
    assert rows and all(r["author"] is None and r["duplicate_of"] is None for r in rows)
    site = rows[0]["url"].split("/")[2].split(":")[0]
    assert export(crawl, "--format", "parquet", "--site", site, "--out", str(out)).returncode == 0
    table = pq.read_table(out)
    assert table.num_rows == len(rows)
    assert table.column("author").null_count == len(rows)
    for name in ("author", "duplicate_of"):
        assert table.schema.field(name).type == pa.string(), name
    empty = tmp_path / "empty.parquet"
    assert (
        export(crawl, "--format", "parquet", "--min-score", "2", "--out", str(empty)).returncode
        == 0
    )
    assert pq.read_table(empty).schema == table.schema


def test_txt_writes_one_file_per_article_and_metadata(crawl: CrawlRun, tmp_path) -> None:
    out = tmp_path / "corpus"
    assert export(crawl, "--format", "txt", "--out", str(out)).returncode == 0
    metadata = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    rows = {row["url"]: row for row in crawl.export()}
    assert metadata and len(metadata) == len(rows)
    for entry in metadata:
        text = (out / entry["file"]).read_text(encoding="utf-8")
        assert text.strip() == rows[entry["url"]]["text"].strip()
        assert "text" not in entry and entry["title"] == rows[entry["url"]]["title"]


def test_stdout_streams_jsonl(crawl: CrawlRun) -> None:
    done = export(crawl)
    assert done.returncode == 0
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines == crawl.export()


@pytest.mark.parametrize(
    ("args", "keeps"),
    [
        (("--min-score", "0.45"), lambda r: r["score"] >= 0.45),
        (("--since", "2018-03-01"), lambda r: r["date"] >= "2018-03-01"),
        (("--until", "2018-01-16"), lambda r: r["date"] <= "2018-01-16"),
        (("--language", "en"), lambda r: True),
        (("--language", "ru"), lambda r: False),
    ],
)
def test_filters_keep_what_they_say(crawl: CrawlRun, args, keeps) -> None:
    rows = crawl.export()
    done = export(crawl, *args)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["url"] for line in done.stdout.splitlines()] == [
        r["url"] for r in rows if keeps(r)
    ]


def test_site_filter_and_all(crawl: CrawlRun) -> None:
    rows = crawl.export()
    host = rows[0]["url"].split("/")[2].split(":")[0]
    done = export(crawl, "--site", host)
    hosts = {
        json.loads(line)["url"].split("/")[2].split(":")[0] for line in done.stdout.splitlines()
    }
    assert hosts == {host}
    everything = [json.loads(line) for line in export(crawl, "--all").stdout.splitlines()]
    assert len(everything) > len(rows) and any(not r["is_match"] for r in everything)


def test_full_disk_is_one_line_and_exit_2(crawl: CrawlRun) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-c", "import sys; from crawler.cli import main; sys.exit(main())",
             "export", "--story", crawl.story.name, "--data", str(crawl.data)],
            stdout=full, stderr=subprocess.PIPE, text=True, timeout=120,
        )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "storycrawl: error: cannot write: No space left on device"
    ]


def test_failed_export_leaves_no_file(crawl: CrawlRun, tmp_path) -> None:
    out = tmp_path / "missing-dir" / "c.parquet"
    done = export(crawl, "--format", "parquet", "--out", str(out))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert not out.parent.exists() or list(out.parent.iterdir()) == []

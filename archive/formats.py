"""Corpus formats: the export records written as JSONL, CSV, Parquet, text files or WACZ.

Every writer consumes an iterator of records and keeps at most one batch in memory, so a
corpus of any size exports in flat memory. Every format has the same columns, in the
order of :data:`archive.export.EXPORT_FIELDS`.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import re
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO

from archive.db.engine import StoreError
from archive.export import EXPORT_FIELDS

PARQUET_BATCH = 2_000


def write_jsonl(records: Iterable[dict], out: TextIO) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(records: Iterable[dict], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    count = 0
    for record in records:
        writer.writerow(record)
        count += 1
    return count


def _parquet_schema(pa):
    types = {
        "date": pa.date32(),  # a publication day: no time of day, no time zone to guess
        "fetched_at": pa.timestamp("us", tz="UTC"),
        "archived_at": pa.timestamp("us", tz="UTC"),
        "score": pa.float64(),
        "is_match": pa.bool_(),
        "status": pa.int32(),
        "warc_offset": pa.int64(),
        "warc_length": pa.int64(),
    }
    return pa.schema([(name, types.get(name, pa.string())) for name in EXPORT_FIELDS])


def _typed(record: dict) -> dict:
    typed = dict(record)
    typed["date"] = date.fromisoformat(record["date"][:10]) if record["date"] else None
    typed["fetched_at"] = datetime.fromisoformat(record["fetched_at"]).astimezone(UTC)
    if record["archived_at"]:
        typed["archived_at"] = datetime.fromisoformat(record["archived_at"]).astimezone(UTC)
    return typed


def write_parquet(records: Iterable[dict], path: Path) -> int:
    """Parquet with real types (dates, timestamps, floats, booleans), written a batch at a
    time against one schema: a column null in every row still has its type."""
    import pyarrow as pa  # imported here: it takes longer to load than every other command
    import pyarrow.parquet as pq

    schema = _parquet_schema(pa)
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        batch: list[dict] = []
        for record in records:
            batch.append(_typed(record))
            if len(batch) >= PARQUET_BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count += len(batch)
                batch = []
        if batch or not count:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count


def _file_name(record: dict, number: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", (record["title"] or record["url"]).lower()).strip("-")
    return f"{number:06d}-{slug[:60] or 'article'}.txt"


def write_txt(records: Iterable[dict], directory: Path) -> int:
    """One UTF-8 text file per article, and metadata.jsonl naming each file's record."""
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(directory / "metadata.jsonl", "w", encoding="utf-8") as metadata:
        for count, record in enumerate(records, start=1):
            name = _file_name(record, count)
            (directory / name).write_text(record["text"] + "\n", encoding="utf-8")
            entry = {"file": name} | {k: v for k, v in record.items() if k != "text"}
            metadata.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return count


def write_wacz(records: Iterator[dict], warc_files: list[Path], out: Path) -> int:
    """Package WARCs and the story's pages (with their text, for full-text search in
    ReplayWeb.page) as a WACZ file with the ``wacz`` tool; return the number of pages."""
    try:
        from wacz.main import main as wacz_main
    except ImportError:
        raise StoreError(
            "--format wacz needs the wacz package: pip install 'storycrawl[wacz]'"
        ) from None
    missing = [str(path) for path in warc_files if not path.exists()]
    if missing:
        raise StoreError(f"WARC file {missing[0]} is missing")
    with tempfile.TemporaryDirectory() as tmp:
        pages = Path(tmp) / "pages.jsonl"
        with open(pages, "w", encoding="utf-8") as stream:
            header = {"format": "json-pages-1.0", "id": "pages", "title": "Story pages"}
            stream.write(json.dumps(header) + "\n")
            count = 0
            for record in records:
                fetched = datetime.fromisoformat(record["fetched_at"])
                page = {
                    "id": hashlib.sha1(f"{record['url']} {fetched}".encode()).hexdigest()[:20],
                    "url": record["url"],
                    "ts": fetched.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "title": record["title"] or record["url"],
                    "text": record["text"],
                }
                stream.write(json.dumps(page, ensure_ascii=False) + "\n")
                count += 1
        with contextlib.redirect_stdout(io.StringIO()):
            status = wacz_main(
                ["create", "-o", str(out), "-p", str(pages), *(str(p) for p in warc_files)]
            )
    if status:
        raise StoreError(f"wacz could not package {out} (status {status})")
    return count

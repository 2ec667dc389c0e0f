"""Export benchmark: time and peak memory of each format over a large synthetic corpus.

    python -m bench.export_memory [--documents 100000] [--db URL]

Fills a fresh database (SQLite in a temporary directory unless --db is given) with
synthetic stored pages, each with a document of about 3 KB and a match, then runs
`storycrawl export` once per format in a child process and prints its wall time and peak
resident memory (the child's ru_maxrss). Streaming exports keep the peak flat whatever the
corpus size; the target is under 300 MB at 100,000 documents.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from archive.db import models
from archive.db.engine import open_engine
from archive.db.repository import Store

WORDS = [
    "japan",
    "russia",
    "missile",
    "defense",
    "aegis",
    "ashore",
    "lavrov",
    "kono",
    "tokyo",
    "moscow",
    "system",
    "deployment",
    "ministry",
    "security",
    "treaty",
    "islands",
    "kuril",
    "peace",
    "talks",
    "spokesman",
    "control",
    "ballistic",
    "launch",
    "government",
    "decision",
    "north",
    "korea",
    "threat",
    "region",
    "council",
    "statement",
    "press",
    "conference",
]


def fill(store: Store, documents: int, batch: int = 5_000) -> None:
    rng = random.Random(7)
    start = datetime(2018, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    with store.engine.begin() as connection:
        story_id = connection.execute(
            insert(models.Story).values(name="bench", definition={}, created_at=start)
        ).inserted_primary_key[0]
        crawl_id = connection.execute(
            insert(models.Crawl).values(story_id=story_id, definition={}, started_at=start)
        ).inserted_primary_key[0]
    for first in range(0, documents, batch):
        ids = range(first + 1, min(first + batch, documents) + 1)
        pages, docs, matches = [], [], []
        for n in ids:
            fetched = start + timedelta(minutes=n)
            url = f"https://news{n % 40}.example/world/{n}-japan-aegis-ashore-follow-up"
            pages.append(
                dict(id=n, crawl_id=crawl_id, url=url, canonical_url=url, status=200,
                     content_type="text/html", fetched_at=fetched, warc_file="bench.warc.gz",
                     warc_offset=n * 9000, warc_length=9000, warc_record_id=f"<urn:uuid:{n}>",
                     warc_type="response", payload_digest=f"sha1:{n:032d}")
            )  # fmt: skip
            text = "\n".join(" ".join(rng.choices(WORDS, k=60)) for _ in range(8))
            docs.append(
                dict(id=n, page_id=n, title=f"Follow-up number {n}", author=None,
                     date=(fetched.date()).isoformat(), sitename=f"News {n % 40}", language="en",
                     text=text, simhash=f"{n:016x}", is_article=True, extractor="bench",
                     created_at=fetched)
            )  # fmt: skip
            matches.append(
                dict(story_id=story_id, document_id=n, score=rng.random(), is_match=True,
                     reasons={}, duplicate_of=None)
            )  # fmt: skip
        with store.engine.begin() as connection:
            connection.execute(insert(models.Page), pages)
            connection.execute(insert(models.Document), docs)
            connection.execute(insert(models.Match), matches)


#: Runs the export in a child and prints that child's own peak RSS (KB) as its last line.
CHILD = (
    "import resource, sys\n"
    "from crawler.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def run_export(fmt: str, db: str, out: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one export, in a process of its own."""
    command = [sys.executable, "-c", CHILD, "export", "--story", "bench", "--db", db,
               "--format", fmt, "--out", str(out)]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    return elapsed, int(done.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{tmp}/bench.db"
        started = time.perf_counter()
        fill(Store(open_engine(db)), args.documents)
        print(f"filled {args.documents} documents in {time.perf_counter() - started:.1f} s ({db})")
        print(f"{'format':8} {'seconds':>8} {'docs/s':>8} {'peak RSS MB':>12}")
        for fmt in ("jsonl", "csv", "parquet"):
            elapsed, peak = run_export(fmt, db, Path(tmp) / f"out.{fmt}")
            rate = args.documents / elapsed
            print(f"{fmt:8} {elapsed:8.1f} {rate:8.0f} {peak:12.0f}")


if __name__ == "__main__":
    main()

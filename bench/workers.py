"""Scale-out benchmark: pages/s of one broad crawl shared by 1, 2 and 4 worker processes
(`storycrawl crawl --frontier redis://…`), and of `storycrawl reextract` over 1 and 2
processes.

    python bench/workers.py [--pages 500] [--workers 1,2,4] [--redis redis://127.0.0.1:6379/0]
                            [--db postgresql+psycopg://postgres@127.0.0.1:5432/test]

The site is bench/throughput.py's synthetic news site (deterministic), served on 127.0.0.1
by nginx when installed, else by Twisted; politeness is off for loopback (no delay, no
AutoThrottle, no robots.txt). Each run gets a PostgreSQL schema and a Redis key prefix of
its own, dropped afterwards. Every worker runs one extraction process (the machine's cores
are shared by all the workers). pages/s is the page rows the crawl left in the database
over the wall time from the first worker's start to the last worker's exit.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import throughput

from tests.databases import schema_url


def crawl(site: str, seed: str, data: Path, pages: int, workers: int, args) -> tuple[int, float]:
    schema = f"bench_workers_{uuid.uuid4().hex[:10]}"
    server = create_engine(args.db, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    db = schema_url(schema)
    prefix = f"bench-workers:{schema}"
    extra = [
        f"STORYCRAWL_REDIS_PREFIX={prefix}",
        "STORYCRAWL_EXTRACT_WORKERS=1",
        "LOG_FILE=",
        "LOG_LEVEL=ERROR",
    ]
    command = throughput.storycrawl_command(seed, site, data, pages, args.timeout, extra)
    command += ["--db", db, "--frontier", args.redis]
    try:
        started = time.monotonic()
        procs = [
            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for _ in range(workers)
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=args.timeout + 120)
            if proc.returncode != 0:
                raise SystemExit(f"a worker failed: {err.decode()[-500:]}")
        seconds = time.monotonic() - started
        with create_engine(db).connect() as connection:
            fetched = connection.execute(text("select count(*) from pages")).scalar_one()
        if workers == 2:  # the re-extraction benchmark works on this crawl's archive
            for processes in (1, 2):
                reextract(data, db, processes, fetched)
        return fetched, seconds
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        server.dispose()


def reextract(data: Path, db: str, processes: int, pages: int) -> None:
    command = [sys.executable, "-c", "import sys; from crawler.cli import main; sys.exit(main())"]
    started = time.monotonic()
    subprocess.run(
        [*command, "reextract", "--story", "bench", "--data", str(data), "--db", db,
         "--workers", str(processes)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    seconds = time.monotonic() - started
    print(f"reextract    {processes} processes: {pages} pages in {seconds:.1f} s, "
          f"{pages / seconds:.1f} pages/s")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--db", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args(argv)
    print(f"machine      {os.cpu_count()} CPUs; site: {args.pages} synthetic articles")
    with tempfile.TemporaryDirectory(prefix="storycrawl-bench-workers-") as work_dir:
        work = Path(work_dir)
        root = work / "site"
        throughput.generate_site(root, args.pages, args.seed)
        (root / "bench-token.txt").write_text(f"{os.getpid()}-{time.time()}\n")
        server = throughput.start_twisted(root, work, True, args.timeout * 4)
        try:
            seed = server.base_url + throughput.seed_path(root).lstrip("/")
            rows = []
            for workers in (int(n) for n in args.workers.split(",")):
                data = work / f"crawl-{workers}"
                fetched, seconds = crawl(server.base_url, seed, data, args.pages, workers, args)
                rows.append((workers, fetched, seconds))
                print(f"crawl        {workers} workers: {fetched} pages in {seconds:.1f} s, "
                      f"{fetched / seconds:.1f} pages/s")  # fmt: skip
        finally:
            throughput.end_group(server.proc)
    print("\n| workers | pages | seconds | pages/s |\n|---|---|---|---|")
    for workers, fetched, seconds in rows:
        print(f"| {workers} | {fetched} | {seconds:.1f} | {fetched / seconds:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

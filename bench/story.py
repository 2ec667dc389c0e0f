"""Story benchmark: how much of its story a crawl finds on the hard news web, and at what cost.

    python -m bench.story [--seed ARTICLE_ID | --seed all] [--keep DIR]

Serves the bundled news web (print and AMP copies, a syndicated copy, redirects, a
transient 500, a slow page, a windows-1252 page, an endless calendar, session ids, hard
negatives), runs `storycrawl crawl` on it from one seed article plus every outlet's home
page, exports the corpus, and prints story recall, precision and F1, requests made,
duplicate exports, robots.txt violations and URLs fetched twice. `--seed all` repeats it
once per story article, each as the only seed. Politeness delays are off (loopback).
Targets (issue #4): recall 1.0, precision >= 0.95, no duplicate export, no robots
violation, no URL fetched twice, fewer than 3 requests per article page.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tomli_w

from bench.scoring import BENCHMARK_SEED, benchmark_story, score
from crawler.demo import NewsWeb

#: Loopback serves in microseconds: the same settings as `storycrawl demo`.
SETTINGS = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "LOG_LEVEL": "WARNING",
}


def storycrawl(*args: str) -> None:
    command = [sys.executable, "-c", "import sys; from crawler.cli import main; sys.exit(main())"]
    done = subprocess.run([*command, *args], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"storycrawl {args[0]} failed ({done.returncode}): {done.stderr.strip()}")


def run(web: NewsWeb, seed: str, data: Path) -> None:
    data.mkdir(parents=True, exist_ok=True)
    story_file = data / "story.toml"
    story_file.write_text(tomli_w.dumps(benchmark_story(web, str(data), seed)), encoding="utf-8")
    already = len(web.requests)
    started = time.perf_counter()
    storycrawl("crawl", str(story_file), *(f"-s{k}={v}" for k, v in SETTINGS.items()))
    wall = time.perf_counter() - started
    served = web.requests[already:]
    out = data / "export.jsonl"
    storycrawl("export", "--story", "benchmark", "--data", str(data), "--out", str(out))
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    figures = score(web, served, records)
    print(f"\n== seed {seed} ({wall:.1f} s)")
    print("\n".join(figures.lines()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", default=BENCHMARK_SEED, help="an article id, or 'all'")
    parser.add_argument("--keep", type=Path, help="keep each crawl's data under this folder")
    args = parser.parse_args()
    with NewsWeb() as web, tempfile.TemporaryDirectory() as scratch:
        root = args.keep or Path(scratch)
        if args.seed == "all":
            seeds = sorted(a.id for a in web.articles if a.label == "story"
                           and not a.syndicated_from)  # fmt: skip
        else:
            seeds = [args.seed]
        for seed in seeds:
            run(web, seed, root / seed)


if __name__ == "__main__":
    main()

"""Crawls stopped dead, for tests/test_resume.py: SIGKILL at random instants (seeded) or
at a named point of the crawler (archive.crashpoints), and what the runs leave behind."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator

from crawler.demo import NewsWeb
from crawler.demo.outlets import load_articles

#: The news web with no 3-second page, a few pages of other news: a crawl of seconds.
OTHERS_KEPT = 12
#: One line of DEMO_SETTINGS changed: one extraction worker, so a restart takes less time.
QUICK = {"STORYCRAWL_EXTRACT_WORKERS": 1}


def small_web() -> NewsWeb:
    articles = [a for a in load_articles() if "slow" not in a.quirks]
    others = [a for a in articles if a.label != "story"][:OTHERS_KEPT]
    kept = [a for a in articles if a.label == "story"] + others
    ids = {a.id for a in kept}
    kept = [a for a in kept if a.syndicated_from is None or a.syndicated_from in ids]
    ids = {a.id for a in kept}
    return NewsWeb([replace(a, related=tuple(r for r in a.related if r in ids)) for a in kept])


@dataclass(frozen=True)
class Kill:
    """A SIGKILL: ``seconds`` after the start, or at the ``count``-th pass of a crash point."""

    point: str = "random"
    seconds: float = 0.0
    count: int = 0

    def __str__(self) -> str:
        return f"{self.seconds:.1f}s" if self.point == "random" else f"{self.point}:{self.count}"


def kills(seed: int, instants: int, longest: float, points: dict[str, list[int]]) -> list[Kill]:
    """The named points' passes first (each early in a crawl), then random instants in
    (0.5 s, longest) after a start, of which a late one may find the crawl done."""
    rng = random.Random(seed)
    chosen = [Kill(seconds=rng.uniform(0.5, longest)) for _ in range(instants)]
    named = [Kill(point, count=n) for point, counts in points.items() for n in counts]
    return named + chosen


def command(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from crawler.cli import main; sys.exit(main())",
            *args]  # fmt: skip


def run_killed(args: list[str], kill: Kill, timeout: float = 120) -> int:
    """Run the command until the kill stops it (or it ends first); its exit status, -9
    for a kill."""
    env = {**os.environ, "STORYCRAWL_KILL_AT": f"{kill.point}:{kill.count}"}
    # A session of its own: the kill takes the crawl's extraction workers with it, as a
    # machine going down would, and none is left holding the pipe of its standard error.
    process = subprocess.Popen(
        command(*args), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    if kill.point == "random":
        try:
            process.wait(timeout=kill.seconds)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # what a crash point's kill left running
    stderr = process.communicate(timeout=timeout)[1]
    assert process.returncode in (0, -signal.SIGKILL), stderr[-2000:]
    return process.returncode


def archived_statuses(warc_dir: Path) -> dict[str, list[int]]:
    """The statuses of each page URL's response and revisit records across the folder's
    files (robots.txt, fetched once per run by design, and 5xx answers, retried, left out)."""
    found: dict[str, list[int]] = {}
    for path in sorted(warc_dir.glob("*.warc.gz")):
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                url = record.rec_headers.get_header("WARC-Target-URI")
                if record.rec_type not in ("response", "revisit"):
                    continue
                status = int(record.http_headers.get_statuscode())
                if status < 500 and urlsplit(url).path != "/robots.txt":
                    found.setdefault(url, []).append(status)
    return found


def served_urls(web: NewsWeb, since: int) -> Counter[str]:
    """How many times the web served each page, status under 500, robots.txt left out."""
    return Counter(
        f"{s.outlet}{s.path_with_query}"
        for s in web.requests[since:]
        if s.status < 500 and not s.path_with_query.startswith("/robots.txt")
    )


def warcio_check(warc_dir: Path) -> None:
    files = sorted(str(p) for p in warc_dir.glob("*.warc.gz"))
    done = subprocess.run([str(Path(sys.executable).with_name("warcio")), "check", *files],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def wait_for(condition, timeout: float, step: float = 0.05) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(step)

"""A real pywb wayback on loopback over WARC files: the replay and CDX server the tests
use, the same API as the Wayback Machine's."""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import datetime_to_iso_date, iso_date_to_datetime
from warcio.warcwriter import WARCWriter

#: pywb's commands. pywb pins redis 2.10 (or, before 2.8.1, greenlet 2), which scrapy-redis
#: and Playwright cannot share: it lives in a virtual environment of its own
#: (`python3 -m venv .venv-pywb && .venv-pywb/bin/pip install pywb`, as .ci/run does).
PYWB_BIN = Path(os.environ.get("STORYCRAWL_PYWB_BIN", Path(__file__).parents[1] / ".venv-pywb/bin"))


def pywb(command: str) -> str:
    """The path of one of pywb's commands; a test without it fails in CI, else skips."""
    path = PYWB_BIN / command
    if not path.exists():
        why = f"pywb is not installed at {PYWB_BIN} (see tests/wayback.py)"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    return str(path)


def wait_for(condition: Callable[[], object], timeout: float) -> object:
    """The condition's first true value, checked every 50 ms until the deadline; or None."""
    deadline = time.monotonic() + timeout
    while True:
        if result := condition():
            return result
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)


def poll(condition: Callable[[], object], timeout: float, what: str) -> object:
    """Wait for a condition with a deadline; fail saying what never happened."""
    if result := wait_for(condition, timeout):
        return result
    pytest.fail(f"after {timeout:.0f} s still waiting for {what}")


def opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, no proxy


@contextmanager
def running_wayback(root: Path, collection: str, warc_files: Sequence[Path]) -> Iterator[str]:
    """pywb serving the WARC files as one collection, from ``root``: its base URL (the
    collection's CDX server is ``{base}/{collection}/cdx``)."""
    for command in (["init", collection], ["add", collection, *map(str, warc_files)]):
        done = subprocess.run(
            [pywb("wb-manager"), *command],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    log = root / "wayback.log"
    with open(log, "wb") as stderr:
        # Port 0: wayback's --debug log names the port it got (and its internal warcserver's).
        process = subprocess.Popen(
            [pywb("wayback"), "--debug", "--port", "0", "--bind", "127.0.0.1"],
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:

        def frontend() -> str | None:
            if process.poll() is not None:
                pytest.fail(f"wayback exited: {log.read_text(errors='replace')[-2000:]}")
            for port in re.findall(r"starting server on (\d+)", log.read_text(errors="replace")):
                try:
                    with opener().open(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                        if answer.headers.get_content_type() == "text/html":
                            return f"http://127.0.0.1:{port}"
                except OSError:
                    pass
            return None

        yield str(poll(frontend, 60, "wayback to listen"))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def backdated(warc_files: Sequence[Path], folder: Path, start: datetime) -> list[Path]:
    """Copies of WARC files whose captures all happened ``start`` onwards, the time between
    them kept: a crawl made today, as if an archive had made it while the story ran.
    Only WARC-Date and WARC-Refers-To-Date change (no digest covers them)."""
    dates = []
    for path in warc_files:
        with open(path, "rb") as stream:
            dates += [
                iso_date_to_datetime(r.rec_headers["WARC-Date"]) for r in ArchiveIterator(stream)
            ]
    shift = start - min(dates)
    copies = []
    for path in warc_files:
        copy = folder / path.name
        with open(path, "rb") as stream, open(copy, "wb") as out:
            writer = WARCWriter(out, gzip=True)
            for record in ArchiveIterator(stream):
                for name in ("WARC-Date", "WARC-Refers-To-Date"):
                    if value := record.rec_headers.get_header(name):
                        moved = iso_date_to_datetime(value) + shift
                        record.rec_headers.replace_header(
                            name, datetime_to_iso_date(moved, use_micros=True)
                        )
                writer.write_record(record)
        copies.append(copy)
    return copies

"""Run the news web in its own process: `python -m crawler.demo [--articles FILE]`.

Prints one JSON line {"base_urls": {...}} once every outlet is listening, then
serves until SIGTERM or SIGINT, or until standard input reaches end of file, so
that a parent process holding the pipe never leaves an orphaned server behind.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from . import NewsWeb, load_articles


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.demo", description=__doc__)
    parser.add_argument(
        "--articles", metavar="FILE", help="articles TOML (default: the packaged articles.toml)"
    )
    args = parser.parse_args(argv)

    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    if sys.stdin is not None:
        threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()

    with NewsWeb(load_articles(args.articles)) as web:
        print(json.dumps({"base_urls": web.base_urls}), flush=True)
        done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())

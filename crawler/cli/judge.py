"""`storycrawl judge`: filter any corpus of JSON lines for a story, offline."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO

import click

from crawler.cli.corpus import atomically, write_text_file
from crawler.cli.errors import BadInput


def _open(name: str, stack: ExitStack) -> IO[str]:
    if name == "-":
        return sys.stdin
    try:
        return stack.enter_context(open(name, encoding="utf-8"))
    except OSError as exc:
        raise BadInput(f"cannot read {name!r}: {exc.strerror}") from None


@click.command()
@click.option("--seeds", required=True, help="JSON lines of seed articles (a 'story' field "
              "names several stories in one file).")  # fmt: skip
@click.argument("corpus", nargs=-1)
@click.option("--threshold", type=click.FloatRange(0, 1), help="Default: the shipped model's.")
@click.option("--out", default="-", help="Output file, or - for standard output.")
def judge(seeds: str, corpus: tuple[str, ...], threshold: float | None, out: str) -> None:
    """Filter any corpus for the stories its seeds tell, offline.

    Seeds and CORPUS (files, or - for standard input, the default) are JSON lines of
    articles: title, text, optional date (ISO 8601), url, id and any other fields, as
    `storycrawl export` writes them. One JSON line out per article and story judged: the
    article's fields with story, score, is_match and why. An article whose 'story' field
    names one of the seeds' stories is judged against it alone, any other against every
    story."""
    from archive.judge.corpus import CorpusError, read, stories
    from archive.judge.corpus import judge as judged

    if seeds == "-" and "-" in (corpus or ("-",)):
        raise BadInput("the seeds and the corpus cannot both be standard input")
    with ExitStack() as stack:
        try:
            lines = read(_open(seeds, stack), seeds)
            profiles = stories(lines, unnamed=Path(seeds).stem, threshold=threshold)
        except CorpusError as exc:
            raise BadInput(str(exc)) from None
        if not profiles:
            raise BadInput(f"no seed article in {seeds!r}")

        def records() -> Iterator[dict]:
            for name in corpus or ("-",):
                yield from judged(profiles, read(_open(name, stack), name))

        try:
            count = _write(records(), out)
        except CorpusError as exc:
            raise BadInput(str(exc)) from None
        except OSError as exc:
            raise BadInput(f"cannot write {out!r}: {exc.strerror or exc}") from None
    click.echo(f"judged {count} (article, story) pairs against {len(profiles)} "
               f"stor{'y' if len(profiles) == 1 else 'ies'}", err=True)  # fmt: skip


def _write(records: Iterator[dict], out: str) -> int:
    from archive.formats import write_jsonl

    if out == "-":
        count = write_jsonl(records, sys.stdout)
        sys.stdout.flush()  # a full disk or closed pipe is reported here, as one line
        return count
    return atomically(Path(out), lambda path: write_text_file(path, write_jsonl, records))

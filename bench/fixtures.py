"""Real news pages with the truth about them: the extraction benchmark's and tests' fixtures.

    python -m bench.fixtures build MIRRORS [--out DIR]

Four public sets, each a git snapshot under MIRRORS (``owner+name/repo``), give pages that
no one here wrote, with what a reader would call their title, authors, date and body:

- flairNLP/fundus (MIT): one page per publisher parser, ~40 countries, with title, authors,
  publishing date and body as fundus's hand-checked parsers read them; the language is the
  country's where a country has one;
- scrapinghub/article-extraction-benchmark (MIT): 181 pages with the article body;
- adbar/trafilatura's evaluation set (Apache-2.0): passages the text must and must not
  hold, and title, date and author where annotated (a sample of :data:`TRAFILATURA_SAMPLE`);
- adbar/htmldate's MediaCloud 2020 set (Apache-2.0): 200 news pages with their date.

The pages are stored as fundus stores its own: ``<split>/<id>.html.gz`` beside
``<id>.json``, the expected values with the page's URL, source and licence. Which split a
page is in is fixed by a hash of its id, decided before any page was looked at: about a
third is held out, kept out of every choice, and reported once. The set is built, not
committed: what is fetched from public repositories stays out of this repository's history
(the workplace's rule), so tests that need it skip where it is not built.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Where the set is looked for: $STORYCRAWL_FIXTURES, else beside the checkout.
DEFAULT = ROOT / ".fixtures" / "extraction"
SPLITS = ("dev", "heldout")
TRAFILATURA_SAMPLE = 250
#: A country whose outlets write in one language; the others (ch, be, ca, in, ...) say none.
COUNTRY_LANGUAGE = {
    "us": "en", "uk": "en", "au": "en", "de": "de", "at": "de", "fr": "fr", "es": "es",
    "mx": "es", "py": "es", "it": "it", "jp": "ja", "kr": "ko", "pl": "pl", "pt": "pt",
    "tr": "tr", "ru": "ru", "cz": "cs", "dk": "da", "se": "sv", "vn": "vi", "id": "id",
    "cn": "zh", "tw": "zh", "lt": "lt", "isl": "is",
}  # fmt: skip


def location() -> Path:
    return Path(os.environ.get("STORYCRAWL_FIXTURES") or DEFAULT)


def split_of(fixture_id: str) -> str:
    """dev or heldout, from the id alone: a third held out."""
    return "heldout" if int(hashlib.sha1(fixture_id.encode()).hexdigest(), 16) % 3 == 0 else "dev"


@dataclass(frozen=True)
class Fixture:
    """One real page and what is known to be true of it (None: not annotated)."""

    id: str
    html: bytes
    url: str
    source: str
    title: str | None = None
    authors: tuple[str, ...] | None = None
    date: str | None = None  # ISO; a day, or a moment when the source gives one
    body: str | None = None
    language: str | None = None
    with_passages: tuple[str, ...] | None = None
    without_passages: tuple[str, ...] | None = None


def load(split: str, directory: Path | None = None) -> list[Fixture]:
    """Every fixture of one split, in id order; [] when the set is not built."""
    folder = (directory or location()) / split
    found = []
    for path in sorted(folder.glob("*.json")):
        truth = json.loads(path.read_text(encoding="utf-8"))
        html = gzip.decompress(path.with_name(f"{path.stem}.html.gz").read_bytes())
        found.append(
            Fixture(
                id=path.stem,
                html=html,
                url=truth["url"],
                source=truth["source"],
                title=truth.get("title"),
                authors=tuple(truth["authors"]) if "authors" in truth else None,
                date=truth.get("date"),
                body=truth.get("body"),
                language=truth.get("language"),
                with_passages=tuple(truth["with"]) if "with" in truth else None,
                without_passages=tuple(truth["without"]) if "without" in truth else None,
            )
        )
    return found


# -- building the set from the snapshots -------------------------------------------------------


class Snapshot:
    """A fetched repository's newest commit, read with git (no work tree)."""

    def __init__(self, mirrors: Path, name: str, licence: str):
        repo = mirrors / name.replace("/", "+") / "repo"
        self.git = repo / ".git" if (repo / ".git").is_dir() else repo
        self.name, self.licence = name, licence
        self.commit = self._git("rev-parse", "HEAD").decode().strip()

    def _git(self, *args: str) -> bytes:
        return subprocess.run(
            ["git", f"--git-dir={self.git}", *args], check=True, capture_output=True
        ).stdout

    def files(self, under: str) -> list[str]:
        return self._git("ls-tree", "-r", "--name-only", "HEAD", under).decode().splitlines()

    def read(self, path: str) -> bytes:
        return self._git("show", f"HEAD:{path}")

    def source(self, path: str) -> dict:
        return {"source": f"{self.name}@{self.commit[:12]}:{path}", "licence": self.licence}


Entry = tuple[str, bytes, dict]  # id, HTML, truth


def _fundus_body(body: dict) -> str:
    parts = list(body.get("summary") or [])
    for section in body.get("sections") or []:
        parts += section.get("headline") or []
        parts += section.get("paragraphs") or []
    return "\n".join(parts)


def fundus(mirrors: Path) -> Iterator[Entry]:
    snap = Snapshot(mirrors, "flairNLP/fundus", "MIT (test data of fundus; pages (c) publishers)")
    base = "tests/resources/parser/test_data"
    files = snap.files(base)
    for meta_path in (f for f in files if f.endswith("/meta.info")):
        country = meta_path.split("/")[-2]
        meta = json.loads(snap.read(meta_path))
        folder = meta_path.removesuffix("meta.info")
        for truth_path in (f for f in files if f.startswith(folder) and f.endswith(".json")):
            publisher = truth_path.rsplit("/", 1)[1][:-5]
            pages = sorted(n for n in meta if n.rsplit("_", 3)[0] == publisher)
            versions = json.loads(snap.read(truth_path))
            if len(pages) != len(versions):  # which page a parser version reads is unclear
                continue
            for page, version in zip(pages, sorted(versions), strict=True):
                truth = versions[version]
                if not truth.get("body") or not truth.get("title"):
                    continue
                html = gzip.decompress(snap.read(f"{base}/{country}/{page}"))
                expected = {
                    "url": meta[page]["url"],
                    "title": truth["title"],
                    "authors": truth.get("authors") or [],
                    "body": _fundus_body(truth["body"]),
                    **snap.source(f"{base}/{country}/{page}"),
                }
                if truth.get("publishing_date"):
                    expected["date"] = truth["publishing_date"].replace(" ", "T")
                if country in COUNTRY_LANGUAGE:
                    expected["language"] = COUNTRY_LANGUAGE[country]
                yield f"fundus-{country}-{page[:-8]}", html, expected


def article_extraction_benchmark(mirrors: Path) -> Iterator[Entry]:
    snap = Snapshot(mirrors, "scrapinghub/article-extraction-benchmark", "MIT")
    truth = json.loads(snap.read("ground-truth.json"))
    for key, item in sorted(truth.items()):
        html = gzip.decompress(snap.read(f"html/{key}.html.gz"))
        expected = {"url": item["url"], "body": item["articleBody"]}
        yield f"aeb-{key[:16]}", html, {**expected, **snap.source(f"html/{key}.html.gz")}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def trafilatura_eval(mirrors: Path) -> Iterator[Entry]:
    snap = Snapshot(mirrors, "adbar/trafilatura", "Apache-2.0 (evaluation data of trafilatura)")
    present = set(snap.files("tests/cache")) | set(snap.files("tests/eval"))
    annotations = json.loads(snap.read("tests/evaldata.json"))
    annotated = sorted(
        (hashlib.sha1(url.encode()).hexdigest(), url, item)
        for url, item in annotations.items()
        if any(item.get(k) for k in ("title", "date", "author"))
    )
    taken = 0
    for _, url, item in annotated:
        path = next((p for p in (f"tests/cache/{item['file']}", f"tests/eval/{item['file']}")
                     if p in present), None)  # fmt: skip
        if path is None:
            continue
        expected = {"url": url, "with": item["with"], "without": item["without"]}
        if isinstance(item.get("title"), str):
            expected["title"] = item["title"]
        if isinstance(item.get("date"), str):  # a few are numbers, not dates
            expected["date"] = item["date"]
        if isinstance(item.get("author"), str):
            expected["authors"] = [a.strip() for a in item["author"].split(";")]
        expected.update(snap.source(path))
        yield f"trafilatura-{_slug(item['file'])}", snap.read(path), expected
        taken += 1
        if taken == TRAFILATURA_SAMPLE:
            return


def htmldate_mediacloud(mirrors: Path) -> Iterator[Entry]:
    snap = Snapshot(mirrors, "adbar/htmldate", "Apache-2.0 (evaluation data of htmldate)")
    truth = json.loads(snap.read("tests/eval_mediacloud_2020.json"))
    for url, item in sorted(truth.items()):
        if not isinstance(item.get("date"), str):  # NaN: no date known
            continue
        path = f"tests/test_set/{item['file']}"
        expected = {"url": url, "date": item["date"], **snap.source(path)}
        yield f"htmldate-{_slug(item['file'])}", snap.read(path), expected


SOURCES = (fundus, article_extraction_benchmark, trafilatura_eval, htmldate_mediacloud)


def build(mirrors: Path, out: Path) -> dict[str, int]:
    counts = dict.fromkeys(SPLITS, 0)
    for split in SPLITS:
        (out / split).mkdir(parents=True, exist_ok=True)
    for source in SOURCES:
        for fixture_id, html, truth in source(mirrors):
            split = split_of(fixture_id)
            folder = out / split
            (folder / f"{fixture_id}.html.gz").write_bytes(gzip.compress(html, mtime=0))
            text = json.dumps(truth, ensure_ascii=False, indent=1, sort_keys=True)
            (folder / f"{fixture_id}.json").write_text(text + "\n", encoding="utf-8")
            counts[split] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("build", help="build the set from fetched snapshots")
    make.add_argument("mirrors", type=Path, help="folder of owner+name/repo git snapshots")
    make.add_argument("--out", type=Path, default=location())
    args = parser.parse_args(argv)
    print(build(args.mirrors, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Extraction benchmark: storycrawl's text and metadata against trafilatura alone.

    python bench/extraction.py [--trafilatura-corpus DIR] [--workers N]

(with the project's Python: `.venv/bin/python bench/extraction.py`)

News web: every outlet of the bundled offline news web (crawler/demo), rendered without
a server. The site model of each outlet is learned from all its HTML pages (home, sections,
tags, articles, about), as `storycrawl reextract` learns it from a story's archive; every
article page is then extracted and compared with articles.toml, the ground truth:

- body precision, recall and F1 over 3-token shingles (lowercased word tokens; counts
  summed over all pages), the text against the article's body (the standfirst, which is
  article text but not in the body, counts neither way);
- clean: the share of pages on which none of the outlet's CHROME_STRINGS is left;
- title, date (the day) and author (none when the article has none) accuracy.

trafilatura's evaluation corpus (--trafilatura-corpus: a checkout's tests/ folder, holding
evaldata.json, cache/ and eval/): ~1,000 pages of as many sites, annotated with passages
the text must hold ("with") and must not ("without"), scored as trafilatura's own
tests/eval_common.py does (precision, recall and F1 over those passages; clean: the share
of pages keeping no "without" passage), and title, date and author where annotated. Site
models are learned per host over the corpus, so most pages are extracted without one.

Rows: trafilatura alone (the options of trafilatura's own evaluation: comments off, tables
on); trafilatura with favor_precision; storycrawl on a new outlet (no site model);
storycrawl with the site model.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import trafilatura

from archive.chrome import ChromeLearner, SiteModel, page_fingerprints
from archive.extract import extract
from crawler.demo import CHROME_STRINGS, OUTLETS, Article, load_articles
from crawler.demo.render import Site

SHINGLE = 3


@dataclass(frozen=True)
class Result:
    """What an extractor made of one page, reduced to what is scored."""

    text: str
    title: str | None
    date: str | None
    author: str | None


def _trafilatura(html: bytes, url: str, precision: bool) -> Result:
    found = trafilatura.bare_extraction(
        html, url=url, include_comments=False, include_tables=True, with_metadata=True,
        favor_precision=precision,
    )  # fmt: skip
    if found is None:
        return Result("", None, None, None)
    return Result(found.text or "", found.title, found.date, found.author)


def trafilatura_alone(html: bytes, url: str, model: SiteModel | None) -> Result:
    return _trafilatura(html, url, precision=False)


def trafilatura_precision(html: bytes, url: str, model: SiteModel | None) -> Result:
    return _trafilatura(html, url, precision=True)


def storycrawl_new_outlet(html: bytes, url: str, model: SiteModel | None) -> Result:
    return storycrawl(html, url, None)


def storycrawl(html: bytes, url: str, model: SiteModel | None) -> Result:
    document = extract(html, url, model)
    if document is None:
        return Result("", None, None, None)
    return Result(document.text, document.title, document.date, document.author)


Runner = Callable[[bytes, str, SiteModel | None], Result]
RUNNERS: dict[str, Runner] = {
    "trafilatura alone": trafilatura_alone,
    "trafilatura, favor_precision": trafilatura_precision,
    "storycrawl, new outlet": storycrawl_new_outlet,
    "storycrawl, site model": storycrawl,
}


def _same(found: str | None, truth: str | None) -> bool:
    """Equal once whitespace and case are set aside (annotations differ in both)."""
    return " ".join((found or "").split()).casefold() == " ".join((truth or "").split()).casefold()


@dataclass
class Scores:
    """Counts summed over pages; the figures are derived from them."""

    pages: int = 0
    true: int = 0  # shingles (news web) or passages (corpus) rightly kept
    kept: int = 0  # everything kept that is scored
    wanted: int = 0  # everything that should have been kept
    clean: int = 0
    metadata: dict[str, list[int]] = field(default_factory=dict)  # field -> [right, asked]

    @property
    def precision(self) -> float:
        return self.true / self.kept if self.kept else 0.0

    @property
    def recall(self) -> float:
        return self.true / self.wanted if self.wanted else 0.0

    @property
    def f1(self) -> float:
        both = self.precision + self.recall
        return 2 * self.precision * self.recall / both if both else 0.0

    @property
    def clean_share(self) -> float:
        return self.clean / self.pages if self.pages else 0.0

    def accuracy(self, name: str) -> float | None:
        right, asked = self.metadata.get(name, (0, 0))
        return right / asked if asked else None

    def add_metadata(self, name: str, right: bool) -> None:
        tally = self.metadata.setdefault(name, [0, 0])
        tally[0] += right
        tally[1] += 1


# -- the news web --------------------------------------------------------------------------


def shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = re.findall(r"\w+", text.lower())
    return Counter(tuple(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1))


@dataclass(frozen=True)
class OutletPages:
    """One outlet of the news web: every HTML page a crawl could fetch, and its articles."""

    key: str
    pages: dict[str, bytes]  # URL -> body
    articles: list[tuple[Article, str]]  # with its URL

    def model(self) -> SiteModel | None:
        """The site model learned from all the outlet's pages, as reextract learns it."""
        return learn(self.pages.items()).model(next(iter(self.pages)))


def newsweb_outlets() -> list[OutletPages]:
    """The news web's outlets as rendered for a web on port 80 (no server needed)."""
    articles = load_articles()
    base_urls = {key: f"http://{outlet.ip}/" for key, outlet in OUTLETS.items()}
    found = []
    for key, outlet in OUTLETS.items():
        site = Site(outlet, articles, base_urls)
        pages = {
            site.absolute(path): page.body
            for path, page in site.pages.items()
            if page.content_type.startswith("text/html") and not path.startswith("/print/")
        }
        found.append(OutletPages(key, pages, [(a, site.article_url(a)) for a in site.articles]))
    return found


def learn(pages: Iterable[tuple[str, bytes]]) -> ChromeLearner:
    learner = ChromeLearner()
    for url, html in pages:
        learner.learn(url, page_fingerprints(html))
    return learner


def score_article(scores: Scores, result: Result, article: Article) -> None:
    standfirst = _norm(article.subtitle or "")
    found = shingles("\n".join(s for s in result.text.split("\n") if _norm(s) != standfirst))
    truth = shingles(article.body)
    scores.pages += 1
    scores.true += sum((found & truth).values())
    scores.kept += sum(found.values())
    scores.wanted += sum(truth.values())
    scores.clean += not any(chrome in result.text for chrome in CHROME_STRINGS[article.outlet])
    scores.add_metadata("title", _same(result.title, article.title))
    scores.add_metadata("date", (result.date or "")[:10] == article.date.date().isoformat())
    scores.add_metadata("author", _same(result.author, article.author))


def score_newsweb(runner: Runner, outlets: list[OutletPages]) -> dict[str, Scores]:
    """Scores per outlet, and over all of them under "all"."""
    by_outlet = {"all": Scores()}
    for outlet in outlets:
        model = outlet.model()
        scores = by_outlet[outlet.key] = Scores()
        for article, url in outlet.articles:
            result = runner(outlet.pages[url], url, model)
            score_article(scores, result, article)
            score_article(by_outlet["all"], result, article)
    return by_outlet


# -- trafilatura's evaluation corpus ---------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(text.split())


def load_corpus(directory: Path) -> list[tuple[str, dict, bytes]]:
    """(URL, annotation, HTML) of every page of the corpus."""
    annotations = json.loads((directory / "evaldata.json").read_text(encoding="utf-8"))
    pages = []
    for url, item in sorted(annotations.items()):
        for folder in ("cache", "eval"):
            path = directory / folder / item["file"]
            if path.is_file():
                pages.append((url, item, path.read_bytes()))
                break
        else:
            raise SystemExit(f"{url}: {item['file']} is in neither cache/ nor eval/")
    return pages


def _gold(item: dict, name: str) -> str | None:
    value = item.get(name)
    return "; ".join(value) if isinstance(value, list) else value or None


def score_passages(scores: Scores, result: Result, item: dict) -> None:
    text = _norm(result.text)
    kept = sum(_norm(passage) in text for passage in item["with"])
    leaked = sum(_norm(passage) in text for passage in item["without"])
    scores.pages += 1
    scores.true += kept
    scores.kept += kept + leaked
    scores.wanted += len(item["with"])
    scores.clean += not leaked
    for name in ("title", "author"):
        if gold := _gold(item, name):
            scores.add_metadata(name, _same(getattr(result, name), gold))
    if gold := _gold(item, "date"):
        scores.add_metadata("date", (result.date or "")[:10] == gold[:10])


def _corpus_task(task: tuple[str, str, bytes, SiteModel | None]) -> Result:
    name, url, html, model = task
    return RUNNERS[name](html, url, model)


def score_corpus(directory: Path, workers: int) -> dict[str, Scores]:
    pages = load_corpus(directory)
    learner = learn((url, html) for url, _, html in pages)
    by_runner = {}
    with ProcessPoolExecutor(workers) as pool:
        for name in RUNNERS:
            tasks = [(name, url, html, learner.model(url)) for url, _, html in pages]
            scores = by_runner[name] = Scores()
            for (_, item, _), result in zip(
                pages, pool.map(_corpus_task, tasks, chunksize=8), strict=True
            ):
                score_passages(scores, result, item)
    return by_runner


# -- output -------------------------------------------------------------------------------------


def _figure(value: float | None) -> str:
    return "   -" if value is None else f"{value:.3f}"


def table(title: str, rows: dict[str, Scores]) -> str:
    head = f"{'':32} {'pages':>5} {'prec':>6} {'recall':>6} {'F1':>6} {'clean':>6} "
    head += f"{'title':>6} {'date':>6} {'author':>6}"
    lines = [title, head]
    for name, s in rows.items():
        metadata = " ".join(f"{_figure(s.accuracy(n)):>6}" for n in ("title", "date", "author"))
        lines.append(
            f"{name:32} {s.pages:5d} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f} "
            f"{s.clean_share:6.3f} {metadata}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--trafilatura-corpus",
        type=Path,
        help="trafilatura's tests/ folder (evaldata.json, cache/, eval/), to score it too",
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    outlets = newsweb_outlets()
    results = {name: score_newsweb(runner, outlets) for name, runner in RUNNERS.items()}
    print(
        table("News web, all outlets (3-token shingles)", {n: r["all"] for n, r in results.items()})
    )
    for outlet in outlets:
        print()
        print(table(f"News web, {outlet.key}", {n: r[outlet.key] for n, r in results.items()}))
    if args.trafilatura_corpus:
        print()
        scores = score_corpus(args.trafilatura_corpus, args.workers)
        print(table("trafilatura's evaluation corpus (with/without passages)", scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())

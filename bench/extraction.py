"""Extraction benchmark: storycrawl's text and metadata against trafilatura alone.

    python -m bench.extraction [--split heldout|dev] [--no-newsweb]

(with the project's Python: `.venv/bin/python -m bench.extraction`)

Real pages (bench/fixtures.py: fundus's publishers, the article-extraction-benchmark,
trafilatura's and htmldate's evaluation pages; built with `bench/fixtures.py build`), one
split at a time, held-out by default, each page extracted alone as `storycrawl extract`
does (no site model), scored against what each source annotates:

- body P, R, F1: word tokens of the text against the annotated body (bags, per page, mean);
- passages, clean: trafilatura's evaluation pages, the share of "with" passages kept and the
  share of pages keeping no "without" passage;
- title: exact (whitespace and case aside); date: the day; author F1: per page, over the
  names (a page that names none scores 1 for none); language: the primary subtag;
- ms/page: CPU time of the extraction alone, one process.

News web: every outlet of the bundled offline news web (crawler/demo), a regression test,
not development data. The site model of each outlet is learned from all its HTML pages,
as `storycrawl reextract` learns it from a story's archive; every article page is then
extracted and compared with articles.toml (3-token shingles, summed over pages; the
standfirst counts neither way); clean is the share of pages on which none of the outlet's
CHROME_STRINGS is left.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import trafilatura

from archive.extract import extract
from archive.extract.chrome import ChromeLearner, SiteModel, page_fingerprints
from bench.fixtures import Fixture, load
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
    language: str | None = None


def _trafilatura(html: bytes, url: str, precision: bool) -> Result:
    found = trafilatura.bare_extraction(
        html, url=url, include_comments=False, include_tables=True, with_metadata=True,
        favor_precision=precision,
    )  # fmt: skip
    if found is None:
        return Result("", None, None, None)
    return Result(found.text or "", found.title, found.date, found.author, found.language)


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
    return Result(document.text, document.title, document.date, document.author, document.language)


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


def _norm(text: str) -> str:
    return " ".join(text.split())


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


# -- real pages (bench/fixtures.py) ----------------------------------------------------------


def tokens(text: str) -> Counter[str]:
    return Counter(re.findall(r"\w+", text.lower()))


def token_f1(found: str, truth: str) -> tuple[float, float, float]:
    """Precision, recall and F1 of the text's word tokens against the truth's (bags)."""
    ours, gold = tokens(found), tokens(truth)
    common = sum((ours & gold).values())
    if not ours or not gold:
        return (float(not ours and not gold),) * 3
    precision, recall = common / sum(ours.values()), common / sum(gold.values())
    both = precision + recall
    return precision, recall, 2 * precision * recall / both if both else 0.0


#: How annotations and extractors join several authors in one field.
_AUTHOR_JOINS = re.compile(r";|,|\s(?:and|und|et|&)\s", re.IGNORECASE)


def _people(names: Iterable[str]) -> set[str]:
    parts = (part for name in names for part in _AUTHOR_JOINS.split(name))
    return {_norm(n).casefold() for n in parts if _norm(n)}


def author_f1(found: str | None, truth: Iterable[str]) -> float:
    """F1 of the author names, each side split where it joins several ("A; B", "A and
    B", "A, B"); a page with none named, rightly none found, scores 1."""
    ours, gold = _people([found or ""]), _people(truth)
    if not ours or not gold:
        return float(ours == gold)
    common = len(ours & gold)
    return 2 * common / (len(ours) + len(gold))


def same_day(found: str | None, truth: str) -> bool:
    """The day is right; a truth given as a UTC moment is right on its day anywhere on Earth
    (UTC-12 to UTC+14): a page dates its article in its own time zone."""
    if not found:
        return False
    if len(truth) <= 10:
        return found[:10] == truth[:10]
    moment = datetime.fromisoformat(truth)
    if moment.tzinfo is None:
        return found[:10] == truth[:10]
    days = {(moment + timedelta(hours=h)).date().isoformat() for h in range(-12, 15)}
    return found[:10] in days


@dataclass
class RealScores:
    """Per-page figures summed over a split; means are taken over the pages annotated."""

    pages: int = 0
    cpu: float = 0.0
    sums: dict[str, list[float]] = field(default_factory=dict)  # name -> [sum, pages]

    def add(self, name: str, value: float) -> None:
        tally = self.sums.setdefault(name, [0.0, 0])
        tally[0] += value
        tally[1] += 1

    def mean(self, name: str) -> float | None:
        total, count = self.sums.get(name, (0.0, 0))
        return total / count if count else None

    def count(self, name: str) -> int:
        return int(self.sums.get(name, (0, 0))[1])


def score_fixture(scores: RealScores, result: Result, fixture: Fixture) -> None:
    scores.pages += 1
    if fixture.body is not None:
        precision, recall, f1 = token_f1(result.text, fixture.body)
        scores.add("body P", precision)
        scores.add("body R", recall)
        scores.add("body F1", f1)
    if fixture.with_passages is not None:
        text = _norm(result.text)
        kept = sum(_norm(p) in text for p in fixture.with_passages)
        leaked = sum(_norm(p) in text for p in fixture.without_passages or ())
        scores.add("passages", kept / len(fixture.with_passages) if fixture.with_passages else 1)
        scores.add("clean", float(not leaked))
    if fixture.title is not None:
        scores.add("title", float(_same(result.title, fixture.title)))
    if fixture.date is not None:
        scores.add("date", float(same_day(result.date, fixture.date)))
    if fixture.authors is not None:
        scores.add("author F1", author_f1(result.author, fixture.authors))
    if fixture.language is not None:
        scores.add("language", float((result.language or "") == fixture.language))


REAL_RUNNERS: dict[str, Runner] = {
    "trafilatura alone": trafilatura_alone,
    "storycrawl": storycrawl_new_outlet,
}


def score_real(fixtures: list[Fixture], runners: dict[str, Runner]) -> dict[str, RealScores]:
    """Each runner over the fixtures, one page at a time in this process: its CPU time per
    page is the extraction's alone."""
    by_runner = {}
    for name, runner in runners.items():
        scores = by_runner[name] = RealScores()
        for fixture in fixtures:
            started = time.process_time()
            result = runner(fixture.html, fixture.url, None)
            scores.cpu += time.process_time() - started
            score_fixture(scores, result, fixture)
    return by_runner


REAL_COLUMNS = ("body P", "body R", "body F1", "passages", "clean", "title", "date", "author F1",
                "language")  # fmt: skip


def real_table(title: str, rows: dict[str, RealScores]) -> str:
    first = next(iter(rows.values()))
    head = f"{'':20} " + " ".join(f"{c:>9}" for c in REAL_COLUMNS) + f" {'ms/page':>8}"
    count = f"{'(pages)':20} " + " ".join(f"{first.count(c):>9}" for c in REAL_COLUMNS)
    lines = [title, head, count]
    for name, s in rows.items():
        figures = " ".join(f"{_figure(s.mean(c)):>9}" for c in REAL_COLUMNS)
        lines.append(f"{name:20} {figures} {1000 * s.cpu / max(s.pages, 1):8.1f}")
    return "\n".join(lines)


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
    parser.add_argument("--split", choices=("heldout", "dev"), default="heldout")
    parser.add_argument("--no-newsweb", action="store_true", help="real pages only")
    args = parser.parse_args(argv)
    fixtures = load(args.split)
    if fixtures:
        rows = score_real(fixtures, REAL_RUNNERS)
        print(real_table(f"Real pages, {args.split} split ({len(fixtures)} pages)", rows))
    else:
        print("Real pages: not built (bench/fixtures.py build MIRRORS)")
    if args.no_newsweb:
        return 0
    outlets = newsweb_outlets()
    results = {name: score_newsweb(runner, outlets) for name, runner in RUNNERS.items()}
    print()
    print(
        table("News web, all outlets (3-token shingles)", {n: r["all"] for n, r in results.items()})
    )
    for outlet in outlets:
        print()
        print(table(f"News web, {outlet.key}", {n: r[outlet.key] for n, r in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

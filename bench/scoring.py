"""How well a crawl of the news web found its story: the figures of issue #4's benchmark.

The news web knows the truth (which articles are the story, which pages are copies, what
each outlet's robots.txt forbids, every request it served); a crawl's export says what
storycrawl kept. Scoring one against the other is shared by ``bench/story.py`` and the
tests, so that the figures a user reads are the ones the tests hold.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from archive.extract import Document
from archive.urls import canonical
from crawler.demo.outlets import Article, article_path
from crawler.demo.server import NewsWeb, Served


@dataclass(frozen=True)
class StoryFigures:
    story_articles: int  # distinct story articles in the web (copies not counted)
    found: int  # of those, exported
    exported: int  # records in the default export
    duplicate_exports: int  # exported records that repeat an article (a copy, a variant)
    requests: int  # every request the web served the crawl, robots.txt included
    article_pages: int  # article pages in the web
    robots_violations: int
    fetched_twice: int  # URLs answered more than once (a retry after a 5xx not counted)
    missed: tuple[str, ...]  # story URLs not exported
    wrong: tuple[str, ...]  # exported URLs that are not the story

    @property
    def recall(self) -> float:
        return self.found / self.story_articles if self.story_articles else 0.0

    @property
    def precision(self) -> float:
        return (self.exported - len(self.wrong)) / self.exported if self.exported else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def requests_per_article_page(self) -> float:
        return self.requests / self.article_pages

    def lines(self) -> list[str]:
        return [
            f"story recall     {self.recall:.3f}  ({self.found} of {self.story_articles})",
            f"precision        {self.precision:.3f}  ({self.exported - len(self.wrong)} of "
            f"{self.exported} exported)",
            f"F1               {self.f1:.3f}",
            f"requests made    {self.requests}  ({self.requests_per_article_page:.2f} per "
            f"article page; the web has {self.article_pages})",
            f"duplicate exports {self.duplicate_exports}",
            f"robots violations {self.robots_violations}",
            f"URLs fetched twice {self.fetched_twice}",
            *(f"missed: {url}" for url in self.missed),
            *(f"not the story: {url}" for url in self.wrong),
        ]


def _fetched_twice(served: Iterable[Served]) -> int:
    """URLs answered more than once; an answer of 5xx is a failure the retry makes good."""
    answered = Counter(
        (s.outlet, s.path_with_query) for s in served if s.method == "GET" and s.status < 500
    )
    return sum(1 for count in answered.values() if count > 1)


def score(web: NewsWeb, served: list[Served], exported: list[dict]) -> StoryFigures:
    """Figures of one crawl: ``served`` is what the web served it, ``exported`` the records
    of its default export."""
    story = {canonical(url) for url in web.story_urls()}
    copies = {canonical(url) for url in web.syndicated_urls()}
    keys = [canonical(record["canonical_url"] or record["url"]) for record in exported]
    repeats = sum(count - 1 for count in Counter(keys).values())
    return StoryFigures(
        story_articles=len(story),
        found=len(story & set(keys)),
        exported=len(exported),
        duplicate_exports=repeats + sum(1 for key in keys if key in copies),
        requests=len(served),
        article_pages=web.article_count,
        robots_violations=sum(1 for s in served if web.violates_robots(s)),
        fetched_twice=_fetched_twice(served),
        missed=tuple(sorted(story - set(keys))),
        wrong=tuple(sorted(key for key in set(keys) if key not in story)),
    )


#: The demo's first seed: TASS's January report of Japan's answer to Lavrov.
BENCHMARK_SEED = "japan-dismisses-russia-concerns-missile-systems"


def benchmark_story(web: NewsWeb, data: str, seed: str = BENCHMARK_SEED) -> dict:
    """The benchmark's story file keys: one seed article and every outlet's home page,
    nothing else (no window, no keywords): what a user who knows one article starts with."""
    return {
        "name": "benchmark",
        "seeds": [web.url(seed)],
        "sites": list(web.base_urls.values()),
        "data": data,
    }


def article_document(article: Article) -> Document:
    """An article as a perfect extraction would give it: the judge's input without the
    extractor's errors, for judging the judge alone."""
    return Document(
        url=f"https://{article.outlet}.example{article_path(article)}",
        canonical_url=None,
        title=article.title,
        author=article.author,
        date=article.date.isoformat(),
        sitename=article.outlet,
        language="en",
        text="\n".join(article.paragraphs),
        simhash="",
        is_article=True,
    )

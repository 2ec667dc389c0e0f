"""What storycrawl keeps of a page: its article text, cleaned, and metadata a reader trusts.

One page goes through three steps, each in its own module:

1. :mod:`archive.chrome` clears the blocks that the outlet repeats on its other pages, when
   the crawl has seen enough of them to have a site model;
2. trafilatura extracts the text from what is left, with the options of :data:`EXTRACTOR`;
   where it finds next to nothing, jusText gives a second opinion;
3. :mod:`archive.metadata` checks trafilatura's title and authors against what the page
   declares.

All options live here so that the crawl, ``storycrawl extract`` and re-extraction from the
archive produce the same text for the same bytes and the same site model. Extraction costs
~10 ms of CPU per page, so a crawl runs it in :class:`ExtractorPool`, worker processes that
keep the Twisted reactor free to fetch.
"""

from __future__ import annotations

import asyncio
import copy
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from itertools import islice
from typing import Any

import trafilatura
from lxml.html import HtmlElement
from trafilatura.settings import Extractor
from trafilatura.utils import load_html

from archive import chrome, metadata, second_opinion
from archive.chrome import SiteModel
from archive.second_opinion import TRAFILATURA
from archive.simhash import simhash

EXTRACTOR_NAME = f"{TRAFILATURA.name} {TRAFILATURA.version}"

# Comments are reader talk, not the article; tables often carry the story's figures.
# favor_precision stays off: on trafilatura's own corpus it trades 2.5 points of recall for
# 1.7 of precision (F1 down), and on the news web the site models remove far more chrome
# than it does, without dropping text (bench/extraction.py).
EXTRACTOR = Extractor(output_format="python", comments=False, tables=True, with_metadata=True)

_ARTICLE_TYPES = {"article", "newsarticle", "reportagenewsarticle", "blogposting"}
#: Below this many words a page without an explicit type is taken for a listing or a stub.
MIN_ARTICLE_WORDS = 150
#: Links (<a>, <area>, <link>) read per page, in document order, by extraction and by the
#: crawl's link finding: the largest news home pages have under a thousand, and a page
#: with 100,000 took 73 s to extract and stalled a crawl for minutes (each link costs
#: trafilatura ~0.35 ms, so a page at the cap ~0.7 s on the development machine).
MAX_LINKS_PER_PAGE = 2000


@dataclass(frozen=True)
class Document:
    url: str
    canonical_url: str | None
    title: str | None
    author: str | None
    date: str | None
    sitename: str | None
    language: str | None
    text: str
    simhash: str
    is_article: bool
    extractor: str = TRAFILATURA.name  # whose text was kept
    extractor_version: str | None = TRAFILATURA.version
    site_model: str | None = None  # the SiteModel.label that cleared the chrome, if any

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Extraction:
    """A page's document (None: no text at all) and the fingerprints of all its blocks,
    which the crawl's :class:`archive.chrome.ChromeLearner` counts."""

    document: Document | None
    fingerprints: frozenset[int]
    #: What the pool's ``analyse`` made of the document in the worker (see ExtractorPool).
    analysis: Any = None


def prune_links(tree: HtmlElement) -> int:
    """Drop the links past :data:`MAX_LINKS_PER_PAGE`, with their text and tails, and the
    elements they leave empty (the ``<li>`` of a list: jusText, trafilatura's fallback,
    takes time quadratic in the paragraphs it finds). A flood of links is a hostile page or
    a sitemap in HTML, not an article. Returns how many links were dropped."""
    doomed = list(islice(tree.iter("a", "area", "link"), MAX_LINKS_PER_PAGE, None))
    dropped = len(doomed)
    while doomed:
        parents = _remove(doomed)
        doomed = [p for p in parents if p is not tree and not len(p) and not (p.text or "").strip()]
    return dropped


def _remove(elements: list[HtmlElement]) -> list[HtmlElement]:
    """Remove elements with their tails, a parent's children at once (one by one is
    quadratic in a list of 100,000); returns their parents."""
    by_parent: dict[HtmlElement, set[HtmlElement]] = {}
    for element in elements:
        parent = element.getparent()
        if parent is not None:
            by_parent.setdefault(parent, set()).add(element)
    for parent, gone in by_parent.items():
        parent[:] = [child for child in parent if child not in gone]
    return list(by_parent)


def _options(url: str) -> Extractor:
    """:data:`EXTRACTOR` for one page: trafilatura reads the URL only from its options."""
    options = copy.copy(EXTRACTOR)
    options.url = options.source = url
    return options


def extract_page(html: str | bytes, url: str, model: SiteModel | None = None) -> Extraction | None:
    """Extract one page, clearing the chrome of ``model`` first; None when it cannot be
    parsed at all."""
    tree = load_html(html)
    if tree is None:
        return None
    prune_links(tree)
    facts = metadata.page_facts(tree)
    fingerprints = chrome.strip(tree, model.fingerprints if model else frozenset())
    result = trafilatura.bare_extraction(tree, options=_options(url))
    found = second_opinion.text(tree, result.text if result else "", facts.language)
    if result is None or not found.text:
        return Extraction(None, fingerprints)
    text = found.text
    pagetype = (result.pagetype or "").lower()
    words = len(text.split())
    is_article = pagetype in _ARTICLE_TYPES or (not pagetype and words >= MIN_ARTICLE_WORDS)
    document = Document(
        url=url,
        canonical_url=result.url if result.url and result.url.startswith("http") else None,
        title=metadata.headline(facts, result.title, result.sitename),
        author=metadata.authors(result.author, facts, result.sitename),
        date=result.date,
        sitename=result.sitename,
        language=facts.language,
        text=text,
        simhash=f"{simhash(text):016x}",
        is_article=is_article,
        extractor=found.tool.name,
        extractor_version=found.tool.version,
        site_model=model.label if model else None,
    )
    return Extraction(document, fingerprints)


def extract(html: str | bytes, url: str, model: SiteModel | None = None) -> Document | None:
    """Extract one page; None when it holds no text at all (an empty or broken page)."""
    extraction = extract_page(html, url, model)
    return extraction.document if extraction else None


def _die_with_parent(parent: int) -> None:
    """Worker initializer: a crawl killed with SIGKILL must not leave its workers behind,
    idle and holding trafilatura's memory, adopted by init."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


PR_SET_PDEATHSIG = 1


def _extract_and_analyse(
    html: str, url: str, model: SiteModel | None, analyse: Callable[[Document], Any] | None
) -> Extraction | None:
    extraction = extract_page(html, url, model)
    if extraction is None or extraction.document is None or analyse is None:
        return extraction
    return replace(extraction, analysis=analyse(extraction.document))


class ExtractorPool:
    """Extraction in worker processes, awaited from the reactor's asyncio loop.

    ``analyse``, a module-level function of a Document, runs in the worker too, right after
    extraction: whatever the crawl computes from every page's text (the judge's term
    vectors, say) costs the reactor thread nothing but unpickling the result.
    """

    def __init__(self, workers: int, analyse: Callable[[Document], Any] | None = None):
        self._analyse = analyse
        # spawn, not fork: forking a process that runs a reactor and threads is unsafe.
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_die_with_parent,
            initargs=(os.getpid(),),
        )

    async def extract(
        self, html: str, url: str, model: SiteModel | None = None
    ) -> Extraction | None:
        """The page's extraction; ``model`` travels with it: a frozenset of a few hundred
        integers, cheaper to send than to keep in step across workers."""
        future = self._executor.submit(_extract_and_analyse, html, url, model, self._analyse)
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

"""What extraction makes of one page: the values the crawl, re-extraction and export share."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from archive.extract.second_opinion import TRAFILATURA


@dataclass(frozen=True)
class Document:
    url: str
    canonical_url: str | None
    title: str | None
    author: str | None  # "A; B"
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
    which the crawl's :class:`archive.extract.chrome.ChromeLearner` counts."""

    document: Document | None
    fingerprints: frozenset[int]
    #: What the pool's ``analyse`` made of the document in the worker (see ExtractorPool).
    analysis: Any = None

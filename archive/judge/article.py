"""What the judge reads of a page: its headline, text, date and address.

:class:`Article` is the value a notebook or ``storycrawl judge`` builds from a line of
JSON; a crawl's extracted document (:class:`archive.extract.Document`) has the same fields
and is judged as it is, so that judging needs no extraction (nor trafilatura) at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Readable(Protocol):
    """Anything the judge can read: an :class:`Article` or an extracted document."""

    @property
    def url(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def text(self) -> str: ...
    @property
    def date(self) -> str | None: ...
    @property
    def is_article(self) -> bool: ...


@dataclass(frozen=True)
class Article:
    """One news article: ``date`` is ISO 8601 (a day or a timestamp) when known; a page
    known to be no article (a listing, a stub) is judged but never matched."""

    title: str
    text: str
    date: str | None = None
    url: str = ""
    is_article: bool = True

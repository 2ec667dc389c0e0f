"""What storycrawl keeps of a page: trafilatura's cleaned text and metadata.

All trafilatura options live in :data:`EXTRACTOR` so that the crawl, ``storycrawl extract``
and re-extraction from the archive produce the same text for the same bytes.
Extraction costs ~10 ms of CPU per page, so a crawl runs it in :class:`ExtractorPool`,
worker processes that keep the Twisted reactor free to fetch.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import re
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from importlib.metadata import version

import trafilatura
from trafilatura.deduplication import Simhash
from trafilatura.settings import Extractor
from trafilatura.utils import load_html

EXTRACTOR_NAME = f"trafilatura {version('trafilatura')}"

# Comments are reader talk, not the article; tables often carry the story's figures.
EXTRACTOR = Extractor(output_format="python", comments=False, tables=True, with_metadata=True)

#: In-text cross-promotion lines ("READ MORE: <other headline>") that outlets such as
#: Sputnik put between paragraphs; they are <p>s like the article's own, so trafilatura keeps
#: them, yet no article sentence starts this way.
_TEASER = re.compile(
    r"^(read more|read also|also read|see also|related|more on this)\s*[:|>»-]", re.IGNORECASE
)

_ARTICLE_TYPES = {"article", "newsarticle", "reportagenewsarticle", "blogposting"}
#: Below this many words a page without an explicit type is taken for a listing or a stub.
MIN_ARTICLE_WORDS = 150


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
    extractor: str = EXTRACTOR_NAME

    def as_dict(self) -> dict:
        return asdict(self)


def _language(tree) -> str | None:
    lang = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    if not lang:
        found = tree.xpath(
            '//meta[@property="og:locale" or @http-equiv="content-language"]/@content'
        )
        lang = found[0] if found else None
    return lang.replace("_", "-").split("-")[0].lower() if lang else None


def extract(html: str | bytes, url: str) -> Document | None:
    """Extract one page; None when it holds no text at all (an empty or broken page)."""
    tree = load_html(html)
    if tree is None:
        return None
    language = _language(tree)
    result = trafilatura.bare_extraction(tree, url=url, options=EXTRACTOR)
    if result is None or not result.text:
        return None
    text = "\n".join(line for line in result.text.split("\n") if not _TEASER.match(line))
    pagetype = (result.pagetype or "").lower()
    words = len(text.split())
    is_article = pagetype in _ARTICLE_TYPES or (not pagetype and words >= MIN_ARTICLE_WORDS)
    return Document(
        url=url,
        canonical_url=result.url if result.url and result.url.startswith("http") else None,
        title=result.title,
        author=result.author,
        date=result.date,
        sitename=result.sitename,
        language=language,
        text=text,
        simhash=f"{Simhash(text).hash:016x}",
        is_article=is_article,
    )


def _die_with_parent(parent: int) -> None:
    """Worker initializer: a crawl killed with SIGKILL must not leave its workers behind,
    idle and holding trafilatura's memory, adopted by init."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


PR_SET_PDEATHSIG = 1


class ExtractorPool:
    """Extraction in worker processes, awaited from the reactor's asyncio loop."""

    def __init__(self, workers: int):
        # spawn, not fork: forking a process that runs a reactor and threads is unsafe.
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_die_with_parent,
            initargs=(os.getpid(),),
        )

    async def extract(self, html: str, url: str) -> Document | None:
        return await asyncio.wrap_future(self._executor.submit(extract, html, url))

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

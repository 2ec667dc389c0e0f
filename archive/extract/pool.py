"""Extraction in worker processes: ~30 ms of CPU per real page, off the Twisted reactor."""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import Any

from archive.extract.chrome import SiteModel
from archive.extract.document import Document, Extraction
from archive.extract.page import extract_page


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

"""Syndicated copies: the same article text on several URLs or outlets, kept once.

Wire copy is republished verbatim, or with a credit line added, by outlet after outlet; a
corpus that counts each copy as coverage overstates the story. Copies are found by the
Hamming distance of the documents' 64-bit SimHash (trafilatura's, see archive.simhash):
rewrites of one story by different outlets differ in 13 bits or more on the bundled news
web, a copy with a credit line or a dropped paragraph in 0 to 2. Each group of copies
points at its earliest article, the one that published the text first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations

from sqlalchemy import select, update

from archive.db import models
from archive.db.repository import Store
from archive.export import newest_verdicts
from archive.simhash import distance

#: Two documents this close (bits of 64 that differ) hold the same text.
MAX_DISTANCE = 6
#: The hash is cut into this many bands: two hashes within MAX_DISTANCE bits share at
#: least one band whole (pigeonhole), so only documents sharing a band are compared.
BANDS = MAX_DISTANCE + 2
_BAND_BITS = 64 // BANDS


@dataclass(frozen=True)
class Fingerprint:
    key: str  # the document's canonical URL
    simhash: int
    published: str | None  # ISO date as extracted; None when the page gave none
    fetched_at: datetime

    @property
    def order(self) -> tuple[bool, str, datetime, str]:
        """Earliest first: dated before undated, then by date, then by fetch time."""
        return (self.published is None, self.published or "", self.fetched_at, self.key)


def _bands(simhash: int) -> Iterable[tuple[int, int]]:
    mask = (1 << _BAND_BITS) - 1
    for band in range(BANDS):
        yield band, (simhash >> (band * _BAND_BITS)) & mask


def duplicates(fingerprints: Iterable[Fingerprint]) -> dict[str, str]:
    """Each copy's key mapped to the key of the earliest document of its group."""
    items = list(fingerprints)
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    buckets: defaultdict[tuple[int, int], list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        for band in _bands(item.simhash):
            buckets[band].append(index)
    for members in buckets.values():
        for i, j in combinations(members, 2):
            if root(i) != root(j) and distance(items[i].simhash, items[j].simhash) <= MAX_DISTANCE:
                parent[root(i)] = root(j)
    groups: defaultdict[int, list[Fingerprint]] = defaultdict(list)
    for index, item in enumerate(items):
        groups[root(index)].append(item)
    copies = {}
    for group in groups.values():
        first, *rest = sorted(group, key=lambda f: f.order)
        copies.update({copy.key: first.key for copy in rest if copy.key != first.key})
    return copies


def mark_duplicates(store: Store, story: str) -> dict[str, str]:
    """Set ``duplicate_of`` on the story's matches, and their candidates' state, from the
    newest verdict of every URL; return the copies found.

    Run when a crawl ends and after re-extraction: the whole group is looked at again, so a
    copy fetched before its original still ends up pointing at the original.
    """
    with store.session() as session:
        story_id = session.scalar(select(models.Story.id).where(models.Story.name == story))
        if story_id is None:
            return {}
        matches = {}
        prints = []
        for page, document, match in newest_verdicts(session, story_id):
            if match.is_match and document.simhash:
                matches[page.canonical_url] = match
                published = document.date[:10] if document.date else None
                prints.append(
                    Fingerprint(page.canonical_url, int(document.simhash, 16), published,
                                page.fetched_at)
                )  # fmt: skip
        copies = duplicates(prints)
        for key, match in matches.items():
            match.duplicate_of = copies.get(key)
        candidates = update(models.Candidate).where(models.Candidate.story_id == story_id)
        session.execute(
            candidates.where(
                models.Candidate.state == "duplicate",
                models.Candidate.canonical_url.not_in(list(copies)),
            ).values(state="accepted")
        )
        if copies:
            session.execute(
                candidates.where(models.Candidate.canonical_url.in_(list(copies))).values(
                    state="duplicate"
                )
            )
        return copies

"""The same-story judge: a page's features against a story, weighed by a fitted model.

In the spirit of Miranda et al. 2018 (multilingual news stream clustering): TF-IDF cosines
of headline, body and names against the seeds and against the story as accepted so far,
the overlap of names, figures and quotations with the seeds, how much of the story's core
(the few whom and what it is most about) a page names, and closeness in time, combined
by a logistic regression fitted on labelled pairs shipped with the package
(``archive/judge/data/``, see :mod:`archive.judge.fit`). The score is the model's
probability that the page reports the seeds' story.

The story is anchored to its seeds, so that it cannot drift to a neighbouring one page by
page: the accepted pages only add to what the seeds say (each ``*_gain`` is how much more a
page is like the story so far than like its nearest seed, never less than nothing), the
seeds weigh as much as every accepted page together in the story's centroid, and a page
must reach half the threshold on its likeness to the seeds alone.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from archive.judge.features import DocFeatures, Vector, cosine, shorter_forms, unit
from archive.judge.model import FEATURES

#: Days over which closeness in time decays by a factor e: follow-ups come within weeks.
RECENCY_DAYS = 30.0
#: Closeness in time of a page whose date is unknown: neither near nor far.
RECENCY_UNKNOWN = 0.5
#: A page must score this share of the threshold against the seeds alone (the accepted
#: pages left out), so that pages accepted by mistake cannot pull the story elsewhere.
ANCHOR_SHARE = 0.5
#: Texts shorter than this many words are short (see ``brevity``): a wire text of a few
#: sentences.
SHORT_WORDS = 300
#: Pages judged before names are weighed by how common they are (see :class:`Background`).
BACKGROUND_MIN = 20
#: How many whom and what make a story's core (see :meth:`Story.core`).
CORE_SIZE = 3

#: The parts of a page compared by TF-IDF cosine.
_PARTS = ("title", "body", "names")


class _Centroid:
    """The mean of unit vectors, kept as a running sum."""

    def __init__(self) -> None:
        self.total: Counter[str] = Counter()
        self.count = 0

    def add(self, vec: Vector) -> None:
        self.total.update(vec)
        self.count += 1

    def mean(self) -> dict[str, float]:
        return {t: w / self.count for t, w in self.total.items()} if self.count else {}


def _anchored(seeds: _Centroid, accepted: _Centroid) -> dict[str, float]:
    """The story's centroid: the seeds' mean plus the accepted pages' mean, equal halves."""
    total = Counter(seeds.mean())
    total.update(accepted.mean())
    return unit(total)


class Background:
    """How many of a period's articles name each name (as one of their name words).

    Fed with a corpus of the period's news (``storycrawl judge`` feeds it every article
    it reads; the labelled pairs, every article of their dataset), not with a crawl's
    pages: those are the story's own neighbourhood, whose names are the story's."""

    def __init__(self, watched: Collection[str] | None = None) -> None:
        self.pages = 0
        self.naming: Counter[str] = Counter()
        #: The only names counted, when given (the stories' core names): then memory does
        #: not grow with the corpus.
        self.watched = watched

    def add(self, page: DocFeatures) -> None:
        self.pages += 1
        words = [word for word in page.names if " " not in word]
        watched = self.watched
        self.naming.update(words if watched is None else [w for w in words if w in watched])

    def share(self, word: str) -> float:
        """The share of pages that name the word; none until :data:`BACKGROUND_MIN` pages
        have been judged, too few to tell a common name from the story's."""
        return self.naming[word] / self.pages if self.pages >= BACKGROUND_MIN else 0.0


@dataclass
class Story:
    """The evidence a page is compared with: the seeds, and the pages accepted since."""

    seeds: list[DocFeatures] = field(default_factory=list)
    accepted_count: int = 0
    _dates: list[date] = field(default_factory=list)
    _seed_dates: list[date] = field(default_factory=list)
    _sums: dict[str, tuple[_Centroid, _Centroid]] = field(default_factory=dict)
    _centroids: dict[str, Vector] = field(default_factory=dict)
    _seed_centroids: dict[str, Vector] = field(default_factory=dict)
    _cores: tuple[_Centroid, _Centroid] = field(default_factory=lambda: (_Centroid(), _Centroid()))
    _core: dict[str, float] = field(default_factory=dict)
    _seed_core: dict[str, float] = field(default_factory=dict)
    #: A period's articles, for how common each name is among them (empty: none is).
    background: Background = field(default_factory=lambda: Background())

    def __post_init__(self) -> None:
        self._sums = {part: (_Centroid(), _Centroid()) for part in _PARTS}

    def add_seed(self, page: DocFeatures) -> None:
        self.seeds.append(page)
        if page.published:
            self._seed_dates.append(page.published)
        self._add(page, seed=True)

    def accept(self, page: DocFeatures) -> None:
        """Count a page judged same-story as part of the story from now on."""
        self.accepted_count += 1
        self._add(page, seed=False)

    def _add(self, page: DocFeatures, seed: bool) -> None:
        if page.published:
            self._dates.append(page.published)
        for part, (seeds, accepted) in self._sums.items():
            (seeds if seed else accepted).add(getattr(page, part))
            self._centroids[part] = _anchored(seeds, accepted)
            if seed:
                self._seed_centroids[part] = unit(seeds.mean())
        self._add_core(page, seed)

    def _add_core(self, page: DocFeatures, seed: bool) -> None:
        """Count the page's core in the story's: the whom and what the story is most about,
        as its seeds and the pages accepted since keep naming them (those of an accepted
        page only as far as a seed names them too: the core cannot leave the seeds)."""
        seeds, accepted = self._cores
        known = [*seeds.total, *accepted.total]
        core: Counter[str] = Counter()
        for word, weight in page.core:
            if seed or any(_names(s, word) for s in self.seeds):
                # One key for all forms of a name: "japanese" counts for "japan".
                core[next((k for k in known if _same_name(k, word)), word)] += weight
        total = sum(core.values())
        (seeds if seed else accepted).add({w: m / total for w, m in core.items()} if total else {})
        self._core = dict(Counter(seeds.mean()) + Counter(accepted.mean()))
        self._seed_core = seeds.mean()

    def core(self, with_accepted: bool = True) -> tuple[tuple[str, float], ...]:
        """The :data:`CORE_SIZE` whom and what the story is most about, with their weights:
        those its seeds (and, equally weighted, the pages accepted since) name most, each
        weighed down by the share of a period's articles (the background) that name it
        too ("Trump", "Congress" in 2018): a core of names every page gives tells no story."""
        core = self._core if with_accepted else self._seed_core
        common = self.background.share
        return _heaviest({word: weight * (1 - common(word)) for word, weight in core.items()})

    def core_names(self) -> frozenset[str]:
        """Every name that may be one of the core's: what a background must count."""
        return frozenset(self._core)

    def compare(self, page: DocFeatures, with_accepted: bool = True) -> dict[str, float]:
        """The features of a page against this story (without the accepted pages: against
        the seeds alone)."""
        centroids = self._centroids if with_accepted else self._seed_centroids
        seeds = self.seeds
        values = {"headlines": max(_headlines(page, s) for s in seeds)}
        for part in _PARTS:
            seed = max(cosine(getattr(page, part), getattr(s, part)) for s in seeds)
            # What the accepted pages add: nothing for a page no closer to the story's
            # centroid than to its nearest seed, so that it is not collinear with the seed's.
            values[f"{part}_seed"] = seed
            values[f"{part}_gain"] = max(0.0, cosine(getattr(page, part), centroids[part]) - seed)
        values["names_told"] = max(_told(s.names, page.names) for s in seeds)
        # How much of the few whom and what the story is most about the page names: a
        # neighbour names only part (the same system without the story's other actors).
        values["core_told"] = _core_told(self.core(with_accepted), page)
        values["numbers_shared"] = max(_numbers_shared(page, s) for s in seeds)
        values["quotes_shared"] = max(_quotes_shared(page, s) for s in seeds)
        dates = self._dates if with_accepted else self._seed_dates
        values["recency"] = _recency(page.published, dates)
        # The best of several seeds is likelier to resemble a neighbour by chance: the model
        # asks for more with more seeds (a negative weight, the one it may have).
        values["more_seeds"] = math.log(len(seeds))
        # A short wire text repeats less of a long seed than a full report does: the model
        # asks less of it (a weight of either sign).
        values["brevity"] = max(0.0, 1 - page.words / SHORT_WORDS)
        return {f: values[f] for f in FEATURES}


def _headlines(page: DocFeatures, seed: DocFeatures) -> float:
    """How much of each headline the other article tells, the lesser of the two: a
    follow-up names the seed's subject, and the seed names the follow-up's."""
    return min(_told(page.title, seed.title, seed.body), _told(seed.title, page.title, page.body))


def _told(terms: Vector, *where: Vector) -> float:
    """The weighted share of a unit vector's terms found in the other vectors."""
    return sum(w * w for t, w in terms.items() if any(t in other for other in where))


def _heaviest(weights: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    ranked = sorted(weights.items(), key=lambda item: (-item[1], item[0]))
    return tuple(ranked[:CORE_SIZE])


def _same_name(a: str, b: str) -> bool:
    """Whether two words are forms of one name ("japan", "japanese")."""
    return a == b or a in shorter_forms(b) or b in shorter_forms(a)


def _core_told(core: Sequence[tuple[str, float]], page: DocFeatures) -> float:
    """The weighted share of a core that the page names (all of none: seeds without a
    name ask nothing of a page's)."""
    total = sum(weight for _, weight in core)
    named = sum(weight for word, weight in core if _names(page, word))
    return named / total if total else 1.0


def _names(page: DocFeatures, word: str) -> bool:
    """Whether the page (its headline or text) names the word, in its form or one a few
    letters longer or shorter ("Japan" by "Japanese", "Russian" by "Russia")."""
    return any(
        form in page.body or form in page.title for form in (word, *shorter_forms(word))
    ) or (word in page.name_forms)


def _numbers_shared(page: DocFeatures, seed: DocFeatures) -> float:
    # One more in the denominator: a single figure in common (often a year) weighs less
    # than several.
    return len(page.numbers & seed.numbers) / (min(len(page.numbers), len(seed.numbers)) + 1)


def _quotes_shared(page: DocFeatures, seed: DocFeatures) -> float:
    """The larger share of either's quotations that the other repeats word for word."""
    shares = [
        len(quotes & shingles) / len(quotes)
        for quotes, shingles in ((seed.quotes, page.shingles), (page.quotes, seed.shingles))
        if quotes
    ]
    return max(shares, default=0.0)


def _recency(published: date | None, dates: Sequence[date]) -> float:
    if published is None or not dates:
        return RECENCY_UNKNOWN
    days = min(abs((published - d).days) for d in dates)
    return math.exp(-days / RECENCY_DAYS)

"""The story profile: the seed articles, the same-story judge and link priorities.

A :class:`StoryProfile` is built from the seed articles, judges every page with the
fitted model of :mod:`archive.judge.model` and grows as the crawl accepts pages
(:meth:`StoryProfile.accept`), always anchored to the seeds. Links are ranked before they
are fetched by how much their anchor text and URL look like the seeds.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import unquote, urlsplit

from archive.judge.article import Readable
from archive.judge.features import (
    DocFeatures,
    Vector,
    cosine,
    features_of,
    unit,
    vector,
)
from archive.judge.model import MEANING, Model, shipped_model
from archive.judge.story import ANCHOR_SHARE, Story

#: How many of the profile's heaviest terms count as its key terms.
KEY_TERMS = 12
#: A date this many days outside the story's window still counts as inside: wire copy
#: is often republished a day or two later, and time zones shift dates by one.
WINDOW_SLACK_DAYS = 2


@dataclass(frozen=True)
class Verdict:
    score: float
    is_match: bool
    reasons: dict


#: A seed is the story by definition: the user said so.
SEED_VERDICT = Verdict(1.0, True, {"seed": True})


@dataclass
class StoryProfile:
    """What the seed articles are about, and the judge that compares pages with it."""

    keywords: tuple[str, ...]
    since: date | None
    until: date | None
    threshold: float
    model: Model = field(default_factory=shipped_model)
    story: Story = field(default_factory=Story)
    _centroid: Vector = field(default_factory=dict)
    _total: Counter[str] = field(default_factory=Counter)
    _key_terms: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._total.update(vector(" ".join(self.keywords)))

    def add_seed(self, doc: Readable) -> None:
        self.story.add_seed(features_of(doc))
        # For links and search queries, the seeds' terms and the keywords in one centroid,
        # the headline counted twice: it says what a story is about.
        self._total.update(vector(f"{doc.title or ''}\n{doc.title or ''}\n{doc.text}"))
        self._centroid = unit(self._total)
        # Sorted once per seed, not once per judged page: judging is on the reactor thread.
        self._key_terms = [t for t, _ in Counter(self._centroid).most_common(KEY_TERMS)]

    def accept(self, page: Readable | DocFeatures) -> None:
        """Count a page judged same-story (``judge(page).is_match``) as part of the story:
        later pages are compared with it too. Call it once per matched page, in the order
        the pages were judged."""
        self.story.accept(page if isinstance(page, DocFeatures) else features_of(page))

    def follow(self, page: Readable | DocFeatures) -> Verdict:
        """Judge a page as a crawl does, page after page: a match joins the accepted set."""
        features = page if isinstance(page, DocFeatures) else features_of(page)
        verdict = self.judge(features)
        if verdict.is_match:
            self.accept(features)
        return verdict

    @property
    def ready(self) -> bool:
        return bool(self.story.seeds)

    @property
    def seed_vectors(self) -> list[Vector]:
        return [seed.body for seed in self.story.seeds]

    @property
    def key_terms(self) -> list[str]:
        return self._key_terms

    def link_score(self, anchor: str, url: str) -> float:
        """Predicted relevance of a link before fetching it: its anchor text and URL slug."""
        slug = re.sub(r"[-_/.]+", " ", unquote(urlsplit(url).path))
        return cosine(vector(f"{anchor} {anchor} {slug}"), self._centroid)

    def _in_window(self, day: date | None) -> bool | None:
        """Whether a publication day falls in the story's window; None when unknown."""
        if day is None or not (self.since or self.until):
            return None
        slack = WINDOW_SLACK_DAYS
        if self.since and (self.since - day).days > slack:
            return False
        return not (self.until and (day - self.until).days > slack)

    def judge(self, doc: Readable | DocFeatures) -> Verdict:
        """Score a page against the story and decide whether it is the same story.

        Takes the document or its :func:`~archive.judge.features.features_of`, so that a caller
        who also calls :meth:`accept` computes the features once.
        """
        page = doc if isinstance(doc, DocFeatures) else features_of(doc)
        features = self.story.compare(page)
        score = self.model.probability(features)
        reasons: dict = {name: round(value, 4) for name, value in features.items()}
        seeds_alone = score
        if self.story.accepted_count:
            seeds_alone = self.model.probability(self.story.compare(page, with_accepted=False))
            reasons["seeds_alone"] = round(seeds_alone, 4)
        window = self._in_window(page.published)
        if window is not None:
            reasons["in_window"] = window
        if page.listing:
            rejected = "not an article (listing or stub page)"
        elif window is False:
            rejected = "published outside the story's window"
        elif score < self.threshold:
            weakest = _evidence(self.model.weakest(features), features)
            rejected = f"below the threshold {self.threshold:.2f}; weakest: {weakest}"
        elif seeds_alone < ANCHOR_SHARE * self.threshold:
            rejected = f"too far from the seeds themselves (seeds alone {seeds_alone:.2f})"
        else:
            rejected = ""
        if rejected:
            reasons["rejected"] = reasons["decisive"] = rejected
        else:
            reasons["decisive"] = _evidence(self.model.strongest(features), features)
        return Verdict(score=score, is_match=not rejected, reasons=reasons)


def _evidence(feature: str, features: dict[str, float]) -> str:
    return f"{MEANING[feature]} ({feature} {features[feature]:.2f})"

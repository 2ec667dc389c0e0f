"""The story model: the seed profile, the same-story judge and link priorities.

Terms are weighted by how rare they are in English at large (wordfreq's frequencies), not
by their rarity in the crawl so far: a score then does not depend on the order pages
arrived in, and the same document gets the same score when re-judged later. Rare names and
systems ("Aegis", "Lavrov") carry a story; "said" and "country" do not.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from itertools import pairwise
from urllib.parse import unquote, urlsplit

from wordfreq import zipf_frequency

from archive.extract import Document

_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
#: Words at least this common (Zipf scale) are function words: no weight at all.
STOPWORD_ZIPF = 5.9
#: How many of the profile's heaviest terms count as its key terms.
KEY_TERMS = 12
#: A date this many days outside the story's window still counts as inside: wire copy
#: is often republished a day or two later, and time zones shift dates by one.
WINDOW_SLACK_DAYS = 2


@lru_cache(maxsize=200_000)
def term_weight(term: str) -> float:
    """Inverse frequency in English: log10 of one over the term's frequency, 0 for stopwords."""
    zipf = zipf_frequency(term.replace("-", " "), "en")
    return 0.0 if zipf >= STOPWORD_ZIPF else 9.0 - zipf


def _normal(word: str) -> str:
    word = word.lower().replace("defence", "defense")
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return word


def terms(text: str) -> list[str]:
    """Content words, normalised, with the bigrams of neighbouring ones ('aegis ashore')."""
    words = [_normal(w) for w in _WORD.findall(text) if not w.isdigit() and len(w) > 1]
    words = [w for w in words if term_weight(w) > 0]
    return words + [f"{a} {b}" for a, b in pairwise(words)]


def vector(text: str) -> dict[str, float]:
    """A unit-length TF-IDF vector (log-scaled term frequency)."""
    counts = Counter(terms(text))
    weighted = {
        t: (1 + math.log(n)) * (term_weight(t) if " " not in t else _bigram_weight(t))
        for t, n in counts.items()
    }
    return _unit(weighted)


def _bigram_weight(bigram: str) -> float:
    first, second = bigram.split(" ", 1)
    return (term_weight(first) + term_weight(second)) / 2


def _unit(weights: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {t: w / norm for t, w in weights.items()} if norm else {}


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())


def _document_text(doc: Document) -> str:
    # The headline says what a story is about: count it twice.
    return f"{doc.title or ''}\n{doc.title or ''}\n{doc.text}"


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
    seed_vectors: list[dict[str, float]] = field(default_factory=list)
    seed_titles: list[str] = field(default_factory=list)
    _centroid: dict[str, float] = field(default_factory=dict)
    _title_vector: dict[str, float] = field(default_factory=dict)
    _key_terms: list[str] = field(default_factory=list)

    def add_seed(self, doc: Document) -> None:
        self.seed_vectors.append(vector(_document_text(doc)))
        self.seed_titles.append(doc.title or "")
        total: Counter[str] = Counter()
        for seed in self.seed_vectors:
            total.update(seed)
        total.update(vector(" ".join(self.keywords)))
        self._centroid = _unit(dict(total))
        self._title_vector = vector(" ".join(self.seed_titles))
        # Sorted once per seed, not once per judged page: judge() is on the reactor thread.
        self._key_terms = sorted(self._centroid, key=self._centroid.__getitem__, reverse=True)[
            :KEY_TERMS
        ]

    @property
    def ready(self) -> bool:
        return bool(self._centroid)

    @property
    def key_terms(self) -> list[str]:
        return self._key_terms

    def link_score(self, anchor: str, url: str) -> float:
        """Predicted relevance of a link before fetching it: its anchor text and URL slug."""
        slug = re.sub(r"[-_/.]+", " ", unquote(urlsplit(url).path))
        return cosine(vector(f"{anchor} {anchor} {slug}"), self._centroid)

    def in_window(self, published: str | None) -> bool | None:
        """Whether a publication date falls in the story's window; None when unknown."""
        if not published or not (self.since or self.until):
            return None
        try:
            day = date.fromisoformat(published[:10])
        except ValueError:
            return None
        slack = WINDOW_SLACK_DAYS
        if self.since and (self.since - day).days > slack:
            return False
        return not (self.until and (day - self.until).days > slack)

    def judge(self, doc: Document) -> Verdict:
        """Score a document against the seeds and decide whether it is the same story."""
        doc_vector = vector(_document_text(doc))
        features = {
            "centroid": cosine(doc_vector, self._centroid),
            "best_seed": max((cosine(doc_vector, s) for s in self.seed_vectors), default=0.0),
            "title": cosine(vector(doc.title or ""), self._title_vector),
            "key_terms": sum(1 for t in self.key_terms if t in doc_vector) / KEY_TERMS,
        }
        score = (
            0.3 * features["centroid"]
            + 0.3 * features["best_seed"]
            + 0.15 * features["title"]
            + 0.25 * features["key_terms"]
        )
        reasons: dict = {k: round(v, 4) for k, v in features.items()}
        window = self.in_window(doc.date)
        if window is not None:
            reasons["in_window"] = window
        is_match = score >= self.threshold and doc.is_article and window is not False
        if not doc.is_article:
            reasons["rejected"] = "not an article (listing or stub page)"
        elif window is False:
            reasons["rejected"] = "published outside the story's window"
        return Verdict(score=min(1.0, score), is_match=is_match, reasons=reasons)

"""The judge's features for every labelled pair of :mod:`archive.judge.datasets`, as arrays.

``data/pairs.npz`` holds, for each (seeds, candidate) pair: the features of
:data:`~archive.judge.model.FEATURES`, the label, where it comes from (dataset, topic, how
many seeds, whether pages had been accepted, held out or not) and the cosine of a plain
TF-IDF baseline (the candidate's headline and text against its nearest seed's, the
inverse document frequencies counted on the development articles). Derived figures only:
no text of the corpora, whose licences ask for attribution (see the datasets module).
Fitting (:mod:`archive.judge.fit`) and the benchmark read it without the corpora; it is
rebuilt by ``python -m archive.judge.datasets MIRROR`` whenever the features change.
"""

from __future__ import annotations

import importlib.resources
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archive.judge.datasets import Doc, held_out, judgings
from archive.judge.features import DocFeatures, features_of
from archive.judge.model import FEATURES
from archive.judge.story import Background, Story

PAIRS_FILE = "data/pairs.npz"
_WORD = re.compile(r"\w\w+")


@dataclass(frozen=True)
class Pairs:
    x: np.ndarray  # (pairs, features)
    y: np.ndarray  # same story or not
    dataset: np.ndarray
    topic: np.ndarray  # dataset/topic: the unit of the split and of cross-validation
    seeds: np.ndarray  # how many seeds
    accepting: np.ndarray  # whether pages had been accepted into the story
    choice: np.ndarray  # which choice of seeds (accepting or not: the same number)
    candidate: np.ndarray  # which article was judged (its number among the corpora's)
    held_out: np.ndarray
    baseline: np.ndarray  # the TF-IDF cosine to the nearest seed

    def where(self, mask: np.ndarray) -> Pairs:
        return Pairs(**{name: getattr(self, name)[mask] for name in self.__dataclass_fields__})


class TfIdf:
    """The baseline: lower-cased words, log-scaled term frequency, smoothed IDF."""

    def __init__(self, texts: Sequence[str]) -> None:
        df = Counter(word for text in texts for word in set(_WORD.findall(text.lower())))
        self.idf = {w: math.log((1 + len(texts)) / (1 + n)) + 1 for w, n in df.items()}
        self.unseen = math.log(1 + len(texts)) + 1

    def vector(self, text: str) -> dict[str, float]:
        counts = Counter(_WORD.findall(text.lower()))
        weights = {w: (1 + math.log(n)) * self.idf.get(w, self.unseen) for w, n in counts.items()}
        norm = math.sqrt(sum(v * v for v in weights.values())) or 1.0
        return {w: v / norm for w, v in weights.items()}


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(w, 0.0) for w, v in a.items())


def build(docs: Sequence[Doc]) -> Pairs:
    pages: dict[str, DocFeatures] = {d.id: features_of(d.article) for d in docs}
    tfidf = TfIdf([f"{d.article.title}\n{d.article.text}" for d in docs if not held_out(d)])
    plain = {d.id: tfidf.vector(f"{d.article.title}\n{d.article.text}") for d in docs}
    rows: dict[str, list] = {name: [] for name in Pairs.__dataclass_fields__}
    number = {d.id: i for i, d in enumerate(docs)}
    choice: dict[tuple, int] = defaultdict(lambda: len(choice))
    for split in (False, True):
        part = [d for d in docs if held_out(d) == split]
        backgrounds = {name: Background() for name in {d.dataset for d in part}}
        for doc in part:  # the articles of a period, as a crawl or a corpus would judge them
            backgrounds[doc.dataset].add(pages[doc.id])
        for judging in judgings(part, accepting=True):
            story = Story(background=backgrounds[judging.dataset])
            for seed in judging.seeds:
                story.add_seed(pages[seed])
            for page in judging.accepted:
                story.accept(pages[page])
            for candidate, label in zip(judging.candidates, judging.labels, strict=True):
                values = story.compare(pages[candidate])
                rows["x"].append([values[f] for f in FEATURES])
                rows["y"].append(label)
                rows["dataset"].append(judging.dataset)
                rows["topic"].append(f"{judging.dataset}/{judging.topic}")
                rows["seeds"].append(len(judging.seeds))
                rows["accepting"].append(bool(judging.accepted))
                rows["choice"].append(choice[(judging.seeds, split)])
                rows["candidate"].append(number[candidate])
                rows["held_out"].append(split)
                rows["baseline"].append(max(cosine(plain[candidate], plain[s])
                                            for s in judging.seeds))  # fmt: skip
    return Pairs(**{name: np.asarray(values) for name, values in rows.items()})


def save(pairs: Pairs, path: Path | None = None) -> None:
    path = path or Path(__file__).parent / PAIRS_FILE
    fields = {name: getattr(pairs, name) for name in Pairs.__dataclass_fields__}
    np.savez_compressed(path, features=np.asarray(FEATURES), **fields)


def load() -> Pairs:
    with importlib.resources.files("archive.judge").joinpath(PAIRS_FILE).open("rb") as f:
        data = np.load(f)
        if tuple(data["features"]) != FEATURES:
            raise ValueError("the shipped pairs have other features: rebuild them")
        return Pairs(**{name: data[name] for name in Pairs.__dataclass_fields__})

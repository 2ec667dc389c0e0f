"""Fitting the same-story judge on the labelled corpus shipped in ``judge_data/stories.toml``.

``python -m crawler.judge_fit`` regenerates ``judge_data/model.json``; a test checks that
the shipped coefficients equal a refit, so the file can never silently disagree with the
corpus or the features. SciPy is needed here only (the ``train`` extra): judging applies
the stored coefficients and needs nothing beyond the standard library.

Pairs are made from the corpus by code. For every story, every single article and every
two articles of it serve as seeds, and the candidates are its other articles (same story),
its hard negatives (other events with the same people, places or vocabulary) and one
article of each other story (easy negatives). Each pair is judged twice: against the seeds
alone, as at the start of a crawl, and with the story's other articles accepted, as later.
The default threshold is the one with the best F1 on held-out stories (leave one story out).
"""

from __future__ import annotations

import importlib.resources
import json
import sys
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from archive.extract import Document
from crawler.features import DocFeatures, features_of
from crawler.judge import FEATURES, MODEL_FILE, Model, Story

CORPUS_FILE = "judge_data/stories.toml"
#: Inverse regularisation strength: mild, the features are few and bounded.
C = 1.0
#: Features that are no likeness, whose weight may take either sign.
UNSIGNED = {"more_seeds"}
#: Thresholds tried when choosing the default: hundredths.
GRID = [t / 100 for t in range(5, 96)]


@dataclass(frozen=True)
class CorpusArticle:
    """One article of the training corpus; `same_story` tells whether it reports its story."""

    id: str
    story: str
    same_story: bool
    title: str
    date: str
    body: str

    def document(self) -> Document:
        """The article as extraction would give it: text paragraphs, ISO date."""
        paragraphs = [" ".join(p.split()) for p in self.body.strip().split("\n\n")]
        return Document(
            url=f"https://training.example/{self.story}/{self.id}",
            canonical_url=None,
            title=self.title,
            author=None,
            date=self.date,
            sitename=None,
            language="en",
            text="\n".join(p for p in paragraphs if p),
            simhash="",
            is_article=True,
        )


@dataclass(frozen=True)
class Pair:
    """One training example: a candidate judged against seeds (and accepted pages)."""

    story: str
    seeds: tuple[str, ...]
    accepted: tuple[str, ...]
    candidate: str
    kind: str  # "same" (story), "hard" (negative of the story) or "easy" (another story)

    @property
    def same_story(self) -> bool:
        return self.kind == "same"


def load_corpus() -> list[CorpusArticle]:
    text = importlib.resources.files("crawler").joinpath(CORPUS_FILE).read_text("utf-8")
    return [
        CorpusArticle(
            id=a["id"],
            story=a["story"],
            same_story=a["same_story"],
            title=a["title"],
            date=a["date"].isoformat(),
            body=a["body"],
        )
        for a in tomllib.loads(text)["article"]
    ]


def pairs(corpus: Sequence[CorpusArticle]) -> Iterator[Pair]:
    stories = list(dict.fromkeys(a.story for a in corpus))
    articles = {s: [a for a in corpus if a.story == s] for s in stories}
    config = 0
    for story in stories:
        own = [a.id for a in articles[story] if a.same_story]
        hard = [a.id for a in articles[story] if not a.same_story]
        for size in (1, 2):
            for seeds in combinations(own, size):
                # One article of each other story, a different one for each seed choice.
                easy = [
                    articles[o][(config + i) % len(articles[o])].id
                    for i, o in enumerate(s for s in stories if s != story)
                ]
                config += 1
                others = [a for a in own if a not in seeds]
                candidates = [(c, "same") for c in others] + [(c, "hard") for c in hard]
                for candidate, kind in candidates + [(c, "easy") for c in easy]:
                    for accepted in ((), tuple(a for a in others if a != candidate)):
                        yield Pair(story, seeds, accepted, candidate, kind)


def pair_features(pair: Pair, pages: dict[str, DocFeatures]) -> list[float]:
    story = Story()
    for seed in pair.seeds:
        story.add_seed(pages[seed])
    for page in pair.accepted:
        story.accept(pages[page])
    values = story.compare(pages[pair.candidate])
    return [values[f] for f in FEATURES]


@dataclass(frozen=True)
class TrainingSet:
    pairs: list[Pair]
    x: list[list[float]]
    y: list[int]
    groups: list[str]


def training_set() -> TrainingSet:
    corpus = load_corpus()
    pages = {a.id: features_of(a.document()) for a in corpus}
    made = list(pairs(corpus))
    return TrainingSet(
        pairs=made,
        x=[pair_features(p, pages) for p in made],
        y=[int(p.same_story) for p in made],
        groups=[p.story for p in made],
    )


def fit_weights(x: Sequence[Sequence[float]], y: Sequence[int]) -> tuple[list[float], float]:
    """Logistic regression (L2, classes balanced) whose likeness features weigh >= 0.

    More likeness to the story must never lower a page's score: an unconstrained fit gives
    collinear features (headline cosine beside headline coverage) negative weights, with
    which a page would score higher for being less like the seeds. Only the features in
    :data:`UNSIGNED` may weigh either way.
    """
    import numpy as np
    from scipy.optimize import minimize
    from scipy.special import expit

    features, labels = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    # Balanced classes: each weighs half, however many pairs it has.
    weights = np.where(labels == 1, 0.5 / labels.mean(), 0.5 / (1 - labels.mean()))
    signs = 2 * labels - 1

    def loss(params):
        coef, intercept = params[:-1], params[-1]
        z = features @ coef + intercept
        error = weights * (expit(z) - labels)
        value = C * np.sum(weights * np.logaddexp(0, -signs * z)) + coef @ coef / 2
        return value, np.append(C * features.T @ error + coef, C * error.sum())

    bounds = [(None, None) if f in UNSIGNED else (0, None) for f in FEATURES] + [(None, None)]
    start = np.zeros(features.shape[1] + 1)
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": 10_000, "ftol": 1e-12, "gtol": 1e-9})  # fmt: skip
    return [float(w) for w in result.x[:-1]], float(result.x[-1])


def _scores(y: Sequence[int], predicted: Sequence[bool]) -> dict[str, float]:
    tp = sum(1 for t, p in zip(y, predicted, strict=True) if t and p)
    fp = sum(1 for t, p in zip(y, predicted, strict=True) if not t and p)
    fn = sum(1 for t, p in zip(y, predicted, strict=True) if t and not p)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def held_out_probabilities(data: TrainingSet) -> list[float]:
    """Each pair's probability from a model fitted without its story (leave one story out)."""
    probabilities = [0.0] * len(data.y)
    for story in dict.fromkeys(data.groups):
        train = [i for i, g in enumerate(data.groups) if g != story]
        coef, intercept = fit_weights([data.x[i] for i in train], [data.y[i] for i in train])
        model = Model(tuple(coef), intercept, typical=(0.0,) * len(coef), threshold=0.5)
        for i, g in enumerate(data.groups):
            if g == story:
                probabilities[i] = model.probability(dict(zip(FEATURES, data.x[i], strict=True)))
    return probabilities


def best_threshold(y: Sequence[int], probabilities: Sequence[float]) -> float:
    """The threshold of best F1; of several equally good, the middle one (widest margins)."""
    f1 = {t: _scores(y, [p >= t for p in probabilities])["f1"] for t in GRID}
    best = max(f1.values())
    tied = [t for t in GRID if f1[t] == best]
    return tied[len(tied) // 2]


def fit() -> Model:
    import scipy

    data = training_set()
    held_out = held_out_probabilities(data)
    threshold = best_threshold(data.y, held_out)
    coef, intercept = fit_weights(data.x, data.y)
    alone = [x for x, p in zip(data.x, data.pairs, strict=True) if p.same_story and not p.accepted]
    typical = [sum(column) / len(column) for column in zip(*alone, strict=True)]
    one_seed = [i for i, p in enumerate(data.pairs) if len(p.seeds) == 1 and not p.accepted]
    return Model(
        coef=tuple(round(w, 6) for w in coef),
        intercept=round(intercept, 6),
        typical=tuple(round(t, 6) for t in typical),
        threshold=threshold,
        training={
            "corpus": CORPUS_FILE,
            "stories": len(set(data.groups)),
            "pairs": len(data.y),
            "same_story_pairs": sum(data.y),
            "hard_negative_pairs": sum(1 for p in data.pairs if p.kind == "hard"),
            "C": C,
            "class_weight": "balanced",
            "scipy": scipy.__version__,
            "held_out_at_threshold": _scores(data.y, [p >= threshold for p in held_out]),
            "held_out_one_seed_alone": _scores(
                [data.y[i] for i in one_seed], [held_out[i] >= threshold for i in one_seed]
            ),
        },
    )


def main() -> None:
    text = json.dumps(fit().as_dict(), indent=2) + "\n"
    (Path(__file__).parent / MODEL_FILE).write_text(text, encoding="utf-8")
    sys.stdout.write(text)


if __name__ == "__main__":
    main()

"""Fitting the same-story judge on the development part of the labelled pairs.

``python -m archive.judge.fit`` regenerates ``data/model.json`` from ``data/pairs.npz``
(see :mod:`archive.judge.pairs`); a test checks that the shipped coefficients equal a
refit, so that the file can never silently disagree with the pairs. SciPy and NumPy are
needed here only (the ``train`` extra): judging applies the stored coefficients.

Only development pairs are used, for the weights and for the threshold alike; the
held-out topics are for :mod:`bench.judge` to report. The default threshold is the one of
best F1 on development pairs each scored by a model fitted without its topic's fold
(topics in :data:`FOLDS` folds), so that it is chosen on scores like those of new stories.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from archive.judge.model import FEATURES, MODEL_FILE, Model
from archive.judge.pairs import PAIRS_FILE, Pairs, load

#: Inverse regularisation strength: mild, the features are few and bounded.
C = 1.0
#: Features that are no likeness, whose weight may take either sign.
UNSIGNED = {"more_seeds", "brevity"}
#: Thresholds tried when choosing the default: hundredths.
GRID = [t / 100 for t in range(5, 96)]
#: Folds of topics for the out-of-fold scores the threshold is chosen on.
FOLDS = 5


def fit_weights(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> tuple[list[float], float]:
    """Logistic regression (L2) whose likeness features weigh >= 0, each topic's pairs
    weighing as much as any other's and, within it, each class half.

    More likeness to the story must never lower a page's score: an unconstrained fit gives
    collinear features (headline cosine beside headline coverage) negative weights, with
    which a page would score higher for being less like the seeds. Only the features in
    :data:`UNSIGNED` may weigh either way. Weighing topics equally keeps the large ECB+
    topics from drowning the few multi-outlet ones.
    """
    from scipy.optimize import minimize
    from scipy.special import expit

    labels = y.astype(float)
    weights = np.zeros(len(y))
    for group in np.unique(groups):
        for label in (0, 1):
            mask = (groups == group) & (y == label)
            if mask.any():
                weights[mask] = 1 / mask.sum()
    weights *= len(y) / weights.sum()
    signs = 2 * labels - 1

    def loss(params):
        coef, intercept = params[:-1], params[-1]
        z = x @ coef + intercept
        error = weights * (expit(z) - labels)
        value = C * np.sum(weights * np.logaddexp(0, -signs * z)) + coef @ coef / 2
        grad = np.append(C * x.T @ error + coef, C * error.sum())
        return value, grad

    bounds = [(None, None) if f in UNSIGNED else (0, None) for f in FEATURES] + [(None, None)]
    options = {"maxiter": 10_000, "ftol": 1e-12, "gtol": 1e-9}
    start = np.zeros(x.shape[1] + 1)
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds, options=options)
    return [float(w) for w in result.x[:-1]], float(result.x[-1])


def probabilities(coef: Sequence[float], intercept: float, x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(x @ np.asarray(coef) + intercept)))


def scores(y: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    tp = int(np.sum(y & predicted))
    fp = int(np.sum(~y & predicted))
    fn = int(np.sum(y & ~predicted))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def out_of_fold(dev: Pairs) -> np.ndarray:
    """Each pair's probability from a model fitted without its topic's fold."""
    topics = np.unique(dev.topic)
    fold_of = {t: i % FOLDS for i, t in enumerate(topics)}
    folds = np.array([fold_of[t] for t in dev.topic])
    result = np.zeros(len(dev.y))
    for fold in range(FOLDS):
        train = folds != fold
        coef, intercept = fit_weights(dev.x[train], dev.y[train], dev.topic[train])
        result[~train] = probabilities(coef, intercept, dev.x[~train])
    return result


def best_threshold(y: np.ndarray, scored: np.ndarray, grid: Sequence[float] = GRID) -> float:
    """The threshold of best F1; of several equally good, the middle one (widest margins)."""
    f1 = {t: scores(y, scored >= t)["f1"] for t in grid}
    best = max(f1.values())
    tied = [t for t in grid if f1[t] == best]
    return tied[len(tied) // 2]


def fit(pairs: Pairs | None = None) -> Model:
    import scipy

    pairs = pairs or load()
    dev = pairs.where(~pairs.held_out)
    held = out_of_fold(dev)
    threshold = best_threshold(dev.y, held)
    coef, intercept = fit_weights(dev.x, dev.y, dev.topic)
    alone = dev.x[dev.y & ~dev.accepting]
    return Model(
        coef=tuple(round(w, 6) for w in coef),
        intercept=round(intercept, 6),
        typical=tuple(round(float(t), 6) for t in alone.mean(axis=0)),
        threshold=threshold,
        training={
            "pairs": PAIRS_FILE,
            "datasets": sorted(set(dev.dataset.tolist())),
            "topics": len(np.unique(dev.topic)),
            "development_pairs": len(dev.y),
            "same_story_pairs": int(dev.y.sum()),
            "C": C,
            "weighting": "each topic equal, classes balanced within it",
            "scipy": scipy.__version__,
            "out_of_fold_at_threshold": scores(dev.y, held >= threshold),
        },
    )


def main() -> None:
    text = json.dumps(fit().as_dict(), indent=2) + "\n"
    (Path(__file__).parent / MODEL_FILE).write_text(text, encoding="utf-8")
    sys.stdout.write(text)


if __name__ == "__main__":
    main()

"""The same-story judge's model: a logistic regression over a page's likeness to a story.

The features (:data:`FEATURES`, computed by :meth:`archive.judge.story.Story.compare`) are
weighed by coefficients fitted on labelled pairs of real news (see :mod:`archive.judge.fit`
and :mod:`archive.judge.datasets`); the score is the model's probability that the page
reports the seeds' story. Applying the model needs nothing beyond the standard library.
"""

from __future__ import annotations

import importlib.resources
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

#: The features, in the model's order.
FEATURES = (
    "title_seed",
    "body_seed",
    "names_seed",
    "headlines",
    "names_told",
    "core_told",
    "numbers_shared",
    "quotes_shared",
    "recency",
    "title_gain",
    "body_gain",
    "names_gain",
    "more_seeds",
    "brevity",
)
#: What each feature says, in the words of a rejection or match reason.
MEANING = {
    "title_seed": "headline like a seed's",
    "body_seed": "text like a seed's",
    "names_seed": "names like a seed's",
    "headlines": "its headline and a seed's each told in the other's text",
    "names_told": "names whom and what a seed is about",
    "core_told": "names the few whom and what a seed is most about",
    "numbers_shared": "shares a seed's figures",
    "quotes_shared": "repeats a seed's quotations",
    "recency": "published near the story's dates",
    "title_gain": "headline more like the story's so far than like a seed's",
    "body_gain": "text more like the story's so far than like a seed's",
    "names_gain": "names more like the story's so far than like a seed's",
    "more_seeds": "judged against several seeds",
    "brevity": "a short text, which repeats less of any seed",
}

MODEL_FILE = "data/model.json"


@dataclass(frozen=True)
class Model:
    """A logistic regression over :data:`FEATURES`, with the threshold chosen in training."""

    coef: tuple[float, ...]
    intercept: float
    #: The features of a typical same-story page judged against its seeds alone: what a
    #: rejected page falls short of, in its reasons.
    typical: tuple[float, ...]
    threshold: float
    training: Mapping[str, object] = field(default_factory=dict)

    def probability(self, features: Mapping[str, float]) -> float:
        z = self.intercept + sum(w * features[f] for w, f in zip(self.coef, FEATURES, strict=True))
        return 1 / (1 + math.exp(-z))

    def strongest(self, features: Mapping[str, float]) -> str:
        """The feature that adds most to the page's log-odds."""
        push = {f: w * features[f] for w, f in zip(self.coef, FEATURES, strict=True)}
        return max(push, key=push.__getitem__)

    def weakest(self, features: Mapping[str, float]) -> str:
        """The likeness whose shortfall from a typical same-story page costs most."""
        shortfall = {
            f: w * (t - features[f])
            for f, w, t in zip(FEATURES, self.coef, self.typical, strict=True)
            if w > 0
        }
        return max(shortfall, key=shortfall.__getitem__)

    def as_dict(self) -> dict:
        return {
            "features": list(FEATURES),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "typical": list(self.typical),
            "threshold": self.threshold,
            "training": dict(self.training),
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> Model:
        if tuple(data["features"]) != FEATURES:
            raise ValueError("the shipped judge model was fitted on other features: refit it")
        return cls(
            coef=tuple(data["coef"]),
            intercept=data["intercept"],
            typical=tuple(data["typical"]),
            threshold=data["threshold"],
            training=data.get("training", {}),
        )


@cache
def shipped_model() -> Model:
    """The model fitted by ``python -m archive.judge.fit``, loaded once per process."""
    text = importlib.resources.files("archive.judge").joinpath(MODEL_FILE).read_text("utf-8")
    return Model.from_dict(json.loads(text))

"""Same-story judge benchmark: held-out real news, then the bundled news web.

    python -m bench.judge [--threshold T] [--verbose]

**Real news, held out** (``archive/judge/data/pairs.npz``, see archive.judge.datasets): the
held-out topics of ECB+ and NewsWCL50, never used to fit or choose anything. For one seed
and for two: precision, recall and F1 at the shipped threshold and AUC, beside a plain
TF-IDF cosine to the nearest seed whose threshold is the best-F1 one on the development
topics of the same corpora; and the CPU time of judging an article (its features and its
score) against one seed, over the shipped invented stories.

**The bundled news web**, a regression test the judge never trains on. Every article
of crawler/demo/articles.toml becomes a Document as extraction gives it
(headline, date, body paragraphs; all articles, no listings). For each choice of ONE seed
among the story's articles, then of TWO seeds, every other article is judged, and recall,
precision and F1 against the ground-truth labels are printed with the worst margins: the
lowest-scoring story article and the highest-scoring other article against the threshold.
"accepting" repeats the one-seed runs as a crawl does: the pages are judged once each, best
first, and every match is accepted into the story (profile.accept) before the next page.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from statistics import mean

import numpy as np

from archive.extract import Document
from archive.judge.datasets import invented
from archive.judge.features import DocFeatures, features_of
from archive.judge.fit import best_threshold, scores
from archive.judge.model import shipped_model
from archive.judge.pairs import Pairs, load
from archive.judge.profile import StoryProfile
from archive.judge.story import ANCHOR_SHARE
from bench.scoring import article_document
from crawler.demo import Article, load_articles


@dataclass(frozen=True)
class Run:
    seeds: tuple[str, ...]
    recall: float
    precision: float
    f1: float
    lowest_story: tuple[float, str]
    highest_other: tuple[float, str]
    misses: tuple[str, ...]
    false_matches: tuple[str, ...]


def run(
    seeds: Sequence[str],
    articles: Sequence[Article],
    pages: dict[str, DocFeatures],
    docs: dict[str, Document],
    threshold: float,
    accepting: bool,
) -> Run:
    profile = StoryProfile(keywords=(), since=None, until=None, threshold=threshold)
    for seed in seeds:
        profile.add_seed(docs[seed])
    others = [a for a in articles if a.id not in seeds]
    verdicts = {a.id: profile.judge(pages[a.id]) for a in others}
    if accepting:
        # Best first, as the crawl's frontier roughly goes; each page judged once, when
        # its turn comes, against the seeds and the pages accepted before it.
        for i in sorted(verdicts, key=lambda i: -verdicts[i].score):
            verdicts[i] = profile.judge(pages[i])
            if verdicts[i].is_match:
                profile.accept(pages[i])
    story = {a.id for a in others if a.label == "story"}
    matched = {i for i, v in verdicts.items() if v.is_match}
    tp = len(story & matched)
    recall = tp / len(story) if story else 1.0
    precision = tp / len(matched) if matched else 1.0
    f1 = 2 * recall * precision / (recall + precision) if recall + precision else 0.0
    return Run(
        seeds=tuple(seeds),
        recall=recall,
        precision=precision,
        f1=f1,
        lowest_story=min((verdicts[i].score, i) for i in story),
        highest_other=max((v.score, i) for i, v in verdicts.items() if i not in story),
        misses=tuple(sorted(story - matched)),
        false_matches=tuple(sorted(matched - story)),
    )


def report(title: str, runs: list[Run], threshold: float, verbose: bool) -> None:
    print(f"\n== {title}: {len(runs)} seed choices, threshold {threshold:.2f}")
    for r in runs if verbose or len(runs) < 20 else []:
        low, high = r.lowest_story, r.highest_other
        print(
            f"  R {r.recall:.2f}  P {r.precision:.2f}  F1 {r.f1:.2f}  "
            f"lowest story {low[0]:.3f}  highest other {high[0]:.3f} ({high[1][:40]})  "
            f"seeds: {', '.join(s[:40] for s in r.seeds)}"
        )
    perfect = sum(1 for r in runs if r.recall == 1 and r.precision >= 0.95)
    print(
        f"  mean R {mean(r.recall for r in runs):.3f}  min R {min(r.recall for r in runs):.3f}  "
        f"mean P {mean(r.precision for r in runs):.3f}  min P {min(r.precision for r in runs):.3f}"
        f"  mean F1 {mean(r.f1 for r in runs):.3f}  R=1 and P>=0.95: {perfect}/{len(runs)}"
    )
    low = min(runs, key=lambda r: r.lowest_story)
    high = max(runs, key=lambda r: r.highest_other)
    print(
        f"  worst margins: story {low.lowest_story[0] - threshold:+.3f} ({low.lowest_story[1]}"
        f" from {', '.join(low.seeds)}); other {high.highest_other[0] - threshold:+.3f} "
        f"({high.highest_other[1]} from {', '.join(high.seeds)})"
    )
    missed = sorted({m for r in runs for m in r.misses})
    wrong = sorted({m for r in runs for m in r.false_matches})
    print(f"  ever missed: {missed}\n  ever matched wrongly: {wrong}")


def auc(y: np.ndarray, scored: np.ndarray) -> float:
    """The chance that a same-story pair outscores another pair (ties count half)."""
    ranks = np.argsort(np.argsort(scored, kind="stable"), kind="stable") + 1.0
    for value in np.unique(scored):  # mean ranks of ties
        tied = scored == value
        ranks[tied] = ranks[tied].mean()
    positives = int(y.sum())
    negatives = len(y) - positives
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def judged(pairs: Pairs) -> np.ndarray:
    model = shipped_model()
    return 1 / (1 + np.exp(-(pairs.x @ np.asarray(model.coef) + model.intercept)))


def held_out_table(threshold: float) -> list[str]:
    """The table of the README: held-out real news, judge against the TF-IDF baseline."""
    pairs = load()
    real = pairs.where(~pairs.accepting & (pairs.dataset != "invented"))
    dev, held = real.where(~real.held_out), real.where(real.held_out)
    baseline_threshold = best_threshold(dev.y, dev.baseline, [t / 100 for t in range(1, 100)])
    lines = [
        f"judge threshold {threshold:.2f} (shipped); TF-IDF threshold {baseline_threshold:.2f}"
        " (best F1 on the development topics)",
        "| data (held out) | seeds | pairs (same) | judge P / R / F1 | judge AUC "
        "| TF-IDF P / R / F1 | TF-IDF AUC |",
        "|---|---|---|---|---|---|---|",
    ]
    scored = judged(held)
    for dataset in ("ecb+", "newswcl50"):
        for seeds in (1, 2):
            mask = (held.dataset == dataset) & (held.seeds == seeds)
            y = held.y[mask]
            ours = scores(y, scored[mask] >= threshold)
            theirs = scores(y, held.baseline[mask] >= baseline_threshold)
            topics = len(np.unique(held.topic[mask]))
            lines.append(
                f"| {dataset} ({topics} topics) | {seeds} | {len(y)} ({int(y.sum())}) "
                f"| {ours['precision']:.3f} / {ours['recall']:.3f} / **{ours['f1']:.3f}** "
                f"| {auc(y, scored[mask]):.3f} "
                f"| {theirs['precision']:.3f} / {theirs['recall']:.3f} / {theirs['f1']:.3f} "
                f"| {auc(y, held.baseline[mask]):.3f} |"
            )
    return lines


def accepting_table(threshold: float) -> list[str]:
    """Whether a story that takes in its matches finds more of itself, on held-out real
    news: each single seed with half of its event's other articles accepted (as a crawl
    that had found them would), judged on the rest, against the same seed alone."""
    pairs = load()
    held = pairs.where(pairs.held_out & (pairs.seeds == 1))
    scored = judged(held)
    alone = {(c, k): s for c, k, s, a in zip(held.choice, held.candidate, scored, held.accepting,
                                              strict=True) if not a}  # fmt: skip
    lines = ["| data (held out) | one seed | P / R / F1 |", "|---|---|---|"]
    for dataset in ("ecb+", "newswcl50"):
        mask = (held.dataset == dataset) & held.accepting
        keys = list(zip(held.choice[mask], held.candidate[mask], strict=True))
        seeds_alone = np.array([alone[k] for k in keys])
        taking = (scored[mask] >= threshold) & (seeds_alone >= ANCHOR_SHARE * threshold)
        for name, predicted in (("alone", seeds_alone >= threshold), ("accepting", taking)):
            got = scores(held.y[mask], predicted)
            lines.append(f"| {dataset} | {name} | {got['precision']:.3f} / {got['recall']:.3f}"
                         f" / {got['f1']:.3f} |")  # fmt: skip
    return lines


def cpu_per_article(threshold: float) -> float:
    """Milliseconds of CPU to judge an article against one seed: features and score."""
    docs = invented()
    profile = StoryProfile(keywords=(), since=None, until=None, threshold=threshold)
    profile.add_seed(docs[0].article)
    started = time.process_time()
    for doc in docs[1:]:
        profile.judge(doc.article)
    return (time.process_time() - started) * 1000 / (len(docs) - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threshold", type=float, default=shipped_model().threshold)
    parser.add_argument("--verbose", action="store_true", help="one line per seed choice")
    args = parser.parse_args()
    print("== held-out real news (archive/judge/data/pairs.npz)")
    print("\n".join(held_out_table(args.threshold)))
    print("\n== a story that takes in its matches (held-out real news)")
    print("\n".join(accepting_table(args.threshold)))
    print(f"CPU per article judged (features + score): {cpu_per_article(args.threshold):.2f} ms")
    print("\n== the bundled news web (regression test)")
    articles = load_articles()
    docs = {a.id: article_document(a) for a in articles}
    pages = {i: features_of(d) for i, d in docs.items()}
    story = [a.id for a in articles if a.label == "story"]
    print(
        f"{len(articles)} articles: {len(story)} story, "
        f"{sum(a.label == 'neighbour' for a in articles)} neighbours, "
        f"{sum(a.label == 'unrelated' for a in articles)} unrelated"
    )
    for title, seed_sets, accepting in (
        ("one seed", [(s,) for s in story], False),
        ("one seed, accepting matches", [(s,) for s in story], True),
        ("two seeds", list(combinations(story, 2)), False),
    ):
        runs = [run(s, articles, pages, docs, args.threshold, accepting) for s in seed_sets]
        report(title, runs, args.threshold, args.verbose)


if __name__ == "__main__":
    main()

"""Labelled pairs of real news for fitting and measuring the judge, rebuilt from public corpora.

Two corpora of real news in which several outlets report one event, next to reports of
other events of the same kind (the near misses a judge must reject):

- **ECB+** (Cybulska and Vossen, LREC 2014; CC BY 3.0): 43 topics, each with two seminal
  events of one kind (two earthquakes, two celebrity rehab stays), 982 texts in all. Read
  from the tokenised XML in ``tommasoc80/EventStoryLine``, folder ``ECB+_LREC2014/ECB+``
  (the zip in ``cltl/ecbPlus`` holds the same files).
- **NewsWCL50** (Hamborg, Zhukova and Gipp, JCDL 2019; CC BY-SA 4.0): 10 US political
  events of 2018, each reported by 5 outlets from left to right. The original repository
  (``fhamborg/NewsWCL50``) ships only annotations and URLs; the texts are read from the
  CoNLL file of ``anastasia-zhukova/Diverse_CDCR_datasets``
  (``NewsWCL50-prep/output_data/NewsWCL50.conll``).

A story is an event (an ECB+ sub-topic, a NewsWCL50 event); an ECB+ topic's other event is
its near miss. The 15 invented stories of ``data/stories.toml`` (the only ones with dates)
join the development data. The texts are not shipped: ``python -m archive.judge.datasets
MIRROR`` rebuilds ``data/pairs.npz`` (features, labels and groups only, no text) from bare
clones of the two repositories at ``MIRROR/<owner>+<name>/repo``. Topics are split once, by
number, into a development part (fitting, threshold, every choice) and a held-out part
(reported by ``bench/judge.py``, never used to choose anything): see :func:`held_out`.
"""

from __future__ import annotations

import importlib.resources
import io
import re
import subprocess
import sys
import tarfile
import tomllib
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from archive.judge.article import Article

ECB_REPO = "tommasoc80+EventStoryLine"
ECB_PATH = "ECB+_LREC2014/ECB+"
STORIES_FILE = "data/stories.toml"
WCL_REPO = "anastasia-zhukova+Diverse_CDCR_datasets"
WCL_PATH = "NewsWCL50-prep/output_data/NewsWCL50.conll"
#: Pairs of two seeds per story, at most: every pair of a 20-article story is 190.
TWO_SEED_SETS = 12
#: Articles of other topics judged against each choice of seeds: easy negatives.
EASY = 12
#: A headline has at least this many words: shorter first lines are datelines.
TITLE_WORDS = 5

_NO_SPACE_BEFORE = re.compile(r" ([,.;:!?%)\]}]|'s\b|'re\b|'ve\b|'ll\b|'d\b|n't\b|'m\b)")
_NO_SPACE_AFTER = re.compile(r"([(\[{$]) ")


@dataclass(frozen=True)
class Doc:
    """One article of a corpus and where it belongs."""

    id: str
    dataset: str  # "ecb+" or "newswcl50"
    topic: str  # the split's unit: an ECB+ topic, a NewsWCL50 event
    story: str  # the event it reports
    article: Article


def held_out(doc: Doc) -> bool:
    """Every third topic of the real corpora (by number) is held out: a rule chosen
    before any figure was seen."""
    return doc.dataset != "invented" and int(doc.topic) % 3 == 0


def detokenise(tokens: Sequence[str]) -> str:
    text = " ".join(tokens)
    return _NO_SPACE_AFTER.sub(r"\1", _NO_SPACE_BEFORE.sub(r"\1", text))


def _article(doc_id: str, sentences: list[list[str]]) -> Article:
    """Headline: the first sentence of a few words; text: every sentence; the URL, which
    ECB+ gives as the first line of its newer texts, kept as the address."""
    url = ""
    if sentences and sentences[0] and sentences[0][0].lower().startswith("http"):
        url = "".join(sentences.pop(0))
    lines = [detokenise(s) for s in sentences if s]
    title = next((line for line in lines if len(line.split()) >= TITLE_WORDS), "")
    return Article(
        title=title, text="\n".join(lines), url=url or f"https://corpus.example/{doc_id}"
    )


def _tree(repo: Path, path: str) -> Iterator[tarfile.TarInfo | bytes]:
    """The files under a path of a bare repository's HEAD, as (member, bytes)."""
    data = subprocess.run(
        ["git", "--git-dir", str(repo), "archive", "--format=tar", "HEAD", path],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar:
            if member.isfile():
                yield member.name, tar.extractfile(member).read()


def ecb_plus(mirror: Path) -> list[Doc]:
    docs = []
    for name, content in _tree(mirror / ECB_REPO / "repo", ECB_PATH):
        match = re.search(r"/(\d+)_(\d+)(ecbplus|ecb)\.xml$", name)
        if not match:
            continue
        topic, number, part = match.groups()
        sentences: dict[int, list[str]] = {}
        for token in ET.fromstring(content).iter("token"):
            sentences.setdefault(int(token.get("sentence")), []).append(token.text or "")
        doc_id = f"ecb+/{topic}_{number}{part}"
        ordered = [sentences[k] for k in sorted(sentences)]
        docs.append(Doc(doc_id, "ecb+", topic, f"{topic}{part}", _article(doc_id, ordered)))
    return sorted(docs, key=lambda d: d.id)


def newswcl50(mirror: Path) -> list[Doc]:
    repo = mirror / WCL_REPO / "repo"
    text = subprocess.run(
        ["git", "--git-dir", str(repo), "show", f"HEAD:{WCL_PATH}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    documents: dict[str, dict[int, list[str]]] = {}
    for line in text.splitlines():
        columns = line.split("\t")
        if line.startswith("#") or len(columns) < 4 or columns[3] == "\\n":
            continue
        documents.setdefault(columns[0], {}).setdefault(int(columns[1]), []).append(columns[3])
    docs = []
    for name, sentences in documents.items():
        event = name.split("/")[0]
        doc_id = f"newswcl50/{name.split('/')[-1]}"
        ordered = [sentences[k] for k in sorted(sentences)]
        docs.append(Doc(doc_id, "newswcl50", event, event, _article(doc_id, ordered)))
    return sorted(docs, key=lambda d: d.id)


@dataclass(frozen=True)
class Judging:
    """One choice of seeds (and of accepted pages) and the candidates judged against it."""

    dataset: str
    topic: str
    seeds: tuple[str, ...]
    accepted: tuple[str, ...]
    candidates: tuple[str, ...]
    labels: tuple[bool, ...]


def judgings(docs: Sequence[Doc], accepting: bool) -> Iterator[Judging]:
    """Every single seed and up to :data:`TWO_SEED_SETS` pairs of seeds of every story,
    each judged against the story's other articles, its topic's other articles (near
    misses) and :data:`EASY` articles of other topics of the same dataset. With
    ``accepting``, each single seed once more with half of the story's other articles
    accepted, as a crawl would, judging the rest: what accepted pages add."""
    by_story: dict[str, list[Doc]] = {}
    for doc in docs:
        if doc.story:
            by_story.setdefault(doc.story, []).append(doc)
    rotation: Counter[str] = Counter()  # per dataset: its pairs do not depend on the others
    for story, own in by_story.items():
        first = own[0]
        topic = [d for d in docs if d.topic == first.topic and d.dataset == first.dataset]
        others = [d for d in docs if d.topic != first.topic and d.dataset == first.dataset]
        pairs = list(combinations(own, 2))
        step = max(1, len(pairs) // TWO_SEED_SETS)
        for seeds in [(d,) for d in own] + pairs[::step][:TWO_SEED_SETS]:
            turn = rotation[first.dataset]
            easy = [others[(turn + 7 * i) % len(others)] for i in range(min(EASY, len(others)))]
            rotation[first.dataset] += 1
            rest = [d for d in own if d not in seeds]
            accepted = rest[::2] if accepting and len(seeds) == 1 and len(rest) > 1 else []
            for taken in ([], accepted) if accepted else ([],):
                chosen = [d for d in topic if d not in seeds and d not in taken] + easy
                yield Judging(
                    dataset=first.dataset,
                    topic=first.topic,
                    seeds=tuple(d.id for d in seeds),
                    accepted=tuple(d.id for d in taken),
                    candidates=tuple(d.id for d in chosen),
                    labels=tuple(d.story == story for d in chosen),
                )


def invented() -> list[Doc]:
    """The stories written for the judge (``data/stories.toml``), each its own topic: its
    articles and its near misses, which report no story of their own. They are the only
    articles with dates, and always development data."""
    text = importlib.resources.files("archive.judge").joinpath(STORIES_FILE).read_text("utf-8")
    articles = tomllib.loads(text)["article"]
    topics = {name: str(i) for i, name in enumerate(dict.fromkeys(a["story"] for a in articles))}
    return [
        Doc(
            id=f"invented/{a['id']}",
            dataset="invented",
            topic=topics[a["story"]],
            story=a["story"] if a["same_story"] else "",
            article=Article(
                title=a["title"],
                text="\n".join(" ".join(p.split()) for p in a["body"].split("\n\n") if p.strip()),
                date=a["date"].isoformat(),
                url=f"https://training.example/{a['story']}/{a['id']}",
            ),
        )
        for a in articles
    ]


def corpora(mirror: Path) -> list[Doc]:
    return ecb_plus(mirror) + newswcl50(mirror) + invented()


def main() -> None:
    from archive.judge.pairs import build, save

    mirror = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/.mirror")
    docs = corpora(mirror)
    save(build(docs))
    print(f"{len(docs)} articles; pairs written", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Judging a corpus of JSON lines for one or several stories, as ``storycrawl judge`` does.

Each line is an article: ``title`` and ``text`` (strings), optional ``date`` (ISO 8601),
``url``, ``id`` and any other fields, which are passed through; ``storycrawl export``
lines are articles as they are. Seeds and corpus are read line by line and every article
is judged as it is read, so that memory does not grow with the corpus. Articles are judged
against the seeds alone (no match joins the story), and the articles read before one tell
how common its names are (see :class:`archive.judge.story.Background`): a corpus is judged
as a crawl would judge the same pages in that order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from archive.judge.article import Article
from archive.judge.features import features_of
from archive.judge.model import shipped_model
from archive.judge.profile import StoryProfile
from archive.judge.story import Background, Story


class CorpusError(ValueError):
    """A line that is no article, named by its file and line number."""


@dataclass(frozen=True)
class Line:
    fields: dict[str, Any]
    article: Article
    story: str | None  # the ``story`` field, if any


def read(lines: Iterable[str], source: str) -> Iterator[Line]:
    """The articles of a JSON-lines stream; blank lines are skipped."""
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            yield _line(text)
        except (ValueError, TypeError) as exc:
            raise CorpusError(f"{source}:{number}: {exc}") from None


def _line(text: str) -> Line:
    try:
        fields = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from None
    if not isinstance(fields, dict):
        raise ValueError("not a JSON object")
    for name in ("title", "text", "date", "url", "story"):
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name!r} is not a string")
    if not (fields.get("title") or "").strip() and not (fields.get("text") or "").strip():
        raise ValueError("no 'title' and no 'text': not an article")
    date = fields.get("date") or None
    if date is not None:
        try:
            datetime.fromisoformat(date.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"'date' {date!r} is not ISO 8601 (like 2018-01-31)") from None
    article = Article(
        title=fields.get("title") or "",
        text=fields.get("text") or "",
        date=date,
        url=fields.get("url") or "",
    )
    return Line(fields, article, fields.get("story") or None)


def stories(
    seeds: Iterable[Line], unnamed: str, threshold: float | None
) -> dict[str, StoryProfile]:
    """The stories the seeds tell: one per ``story`` field, ``unnamed`` for seeds without."""
    model = shipped_model()
    background = Background()  # the corpus read so far, one for every story
    made: dict[str, StoryProfile] = {}
    for seed in seeds:
        name = seed.story or unnamed
        if name not in made:
            made[name] = StoryProfile(
                keywords=(),
                since=None,
                until=None,
                threshold=model.threshold if threshold is None else threshold,
                story=Story(background=background),
            )
        made[name].add_seed(seed.article)
    background.watched = frozenset().union(*(p.story.core_names() for p in made.values()))
    return made


def judge(profiles: dict[str, StoryProfile], corpus: Iterable[Line]) -> Iterator[dict]:
    """One record per (article, story) judged: the article's fields with the story, the
    score, the verdict and why. An article naming one of the stories (its ``story``
    field) is judged against it alone; others, against every story."""
    backgrounds = {id(p.story.background): p.story.background for p in profiles.values()}
    for line in corpus:
        names = [line.story] if line.story in profiles else list(profiles)
        page = features_of(line.article)  # once, however many stories
        for background in backgrounds.values():
            background.add(page)
        for name in names:
            verdict = profiles[name].judge(page)
            yield line.fields | {
                "story": name,
                "score": round(verdict.score, 4),
                "is_match": verdict.is_match,
                "why": verdict.reasons["decisive"],
            }

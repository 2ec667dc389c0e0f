"""The same-story judge: whether an article reports the story its seed articles tell.

A small API for a notebook or a script, with neither Scrapy nor a database (importing it
loads no Scrapy, SQLAlchemy or trafilatura)::

    from archive.judge import Article, story_from_seeds

    story = story_from_seeds([Article(title="...", text="...", date="2018-01-30")])
    verdict = story.judge(Article(title="...", text="..."))
    verdict.score, verdict.is_match, verdict.reasons["decisive"]
    if verdict.is_match:
        story.accept(...)  # later articles are compared with it too (see profile.py)

The crawl judges the pages it fetches with the same :class:`StoryProfile`, and
re-extraction re-judges stored documents with it.
"""

from __future__ import annotations

from collections.abc import Iterable

from archive.judge.article import Article
from archive.judge.listing import is_listing_url
from archive.judge.model import shipped_model
from archive.judge.profile import StoryProfile, Verdict

__all__ = ["Article", "StoryProfile", "Verdict", "is_listing_url", "story_from_seeds"]


def story_from_seeds(seeds: Iterable[Article], threshold: float | None = None) -> StoryProfile:
    """A story told by its seed articles, judged at the shipped model's threshold unless
    told otherwise."""
    model = shipped_model()
    profile = StoryProfile(
        keywords=(),
        since=None,
        until=None,
        threshold=model.threshold if threshold is None else threshold,
    )
    for seed in seeds:
        profile.add_seed(seed)
    if not profile.ready:
        raise ValueError("a story needs at least one seed article")
    return profile

"""Which links a story crawl follows, and how soon: its link policy.

Every candidate (a link, a feed entry, a sitemap entry, a search result) is judged before it
is fetched: dated outside the story's window, it is not fetched at all; otherwise its anchor
text (or the entry's title) and URL slug are scored against the story profile, and that score,
with the score of the page it was found on, is its Scrapy request priority: best first.
Listings (home, section, pagination) are fetched early, since their headlines steer; a tag
page only when its name is the story's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from archive.judge.profile import WINDOW_SLACK_DAYS, StoryProfile
from crawler.discovery import Candidate
from crawler.discovery.traps import url_date
from crawler.storyfile import StoryDefinition

#: Home, section and pagination pages: worth fetching early, since their headlines steer.
NAVIGATION_PRIORITY = 300
#: An entry or URL dated this far outside the story's window is not fetched at all.
WINDOW_SLACK = timedelta(days=WINDOW_SLACK_DAYS)
#: A tag page's link must score this many times the floor: its name must be the story's.
TOPIC_FACTOR = 3


@dataclass(frozen=True)
class LinkDecision:
    """Whether to fetch a candidate, at what priority, and what it was scored on."""

    follow: bool
    priority: int
    score: float
    features: dict[str, Any]


class LinkPolicy:
    def __init__(self, story: StoryDefinition, profile: StoryProfile, link_floor: float):
        self.story = story
        self.profile = profile
        self.link_floor = link_floor

    def out_of_window(self, candidate: Candidate) -> str | None:
        """Why an entry or link is dated outside the story's window, before fetching it:
        its feed or news-sitemap date, a date in its URL, or a sitemap lastmod before the
        window (a page last changed before the story began was published before it too)."""
        since, until = self.story.since, self.story.until
        published = candidate.published or url_date(candidate.url)
        if published and since and published < since - WINDOW_SLACK:
            return f"published {published}, before {since}"
        if published and until and published > until + WINDOW_SLACK:
            return f"published {published}, after {until}"
        if candidate.modified and since and candidate.modified < since - WINDOW_SLACK:
            return f"last modified {candidate.modified}, before {since}"
        return None

    def decide(self, candidate: Candidate, parent_score: float, from_listing: bool) -> LinkDecision:
        """The fate of a candidate in the window, found on a page that scored
        ``parent_score`` (a listing's links lead to the outlet's coverage, an article's
        navigation links lead anywhere)."""
        broad = self.story.broad
        score = self.profile.link_score(candidate.text, candidate.url)
        features: dict[str, Any] = {
            "text": candidate.text[:200],
            "link_score": round(score, 4),
            "parent_score": round(parent_score, 4),
        }
        if candidate.navigation:
            features["navigation"] = candidate.navigation
        if candidate.navigation in ("pagination", "section"):
            return LinkDecision(from_listing or broad, NAVIGATION_PRIORITY, score, features)
        if candidate.navigation == "topic":
            follow = broad or score >= TOPIC_FACTOR * self.link_floor
            return LinkDecision(follow, NAVIGATION_PRIORITY, score, features)
        follow = broad or score >= self.link_floor
        return LinkDecision(follow, int(1000 * (0.7 * score + 0.3 * parent_score)), score, features)

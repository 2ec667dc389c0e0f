"""Where follow-up coverage is found: page links, RSS/Atom feeds, sitemaps, robots.txt,
search engines; and the rules that keep a crawl out of the URL spaces that never end.

Each source turns a response into :class:`Candidate` values (URL, the title or anchor
text it was listed under, its date when the source gives one), so that the story can score
a URL before anything is fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Candidate:
    url: str
    text: str = ""
    published: date | None = None  # a feed's pubDate, a news sitemap's publication_date
    navigation: str | None = None  # "pagination", "section" or "topic" (tag, category, …)
    modified: date | None = None  # a sitemap's lastmod: never before the publication

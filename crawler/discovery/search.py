"""Search sources: news search engines asked for the story's coverage on outlets nobody named.

Links, feeds and sitemaps only find what the named outlets publish or link to; a search
source finds the follow-up on an outlet the user never heard of. It is off unless the story
asks for it (``search = ["gdelt"]``): a query leaves the crawl's own outlets, and tells a
third party what is being followed.

A source turns the story profile into query URLs, and an answer into candidates that the
spider scores and follows like feed entries.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlencode

from scrapy.http import Response

from archive.judge.profile import WINDOW_SLACK_DAYS
from archive.urls import is_http_url
from crawler.config import Config
from crawler.discovery import Candidate

if TYPE_CHECKING:
    from archive.judge.profile import StoryProfile
    from crawler.storyfile import StoryDefinition

GDELT_URL = "https://api.gdeltproject.org/api/v2/doc/doc"
#: The most GDELT's article list gives per query.
GDELT_MAX_RECORDS = 250
#: Key terms in a query: one to name the story, a few others of which any may appear.
QUERY_TERMS = 4
#: GDELT refuses keywords shorter than this.
MIN_WORD_LENGTH = 3


class SearchError(ValueError):
    """An answer that is no list of results: the engine's own message, in one line."""


class SearchSource(Protocol):
    """A search engine that lists articles for a query."""

    #: The URL its queries start with: how the spider knows which source an answer is from.
    endpoint: str

    def requests_for(self, profile: StoryProfile, story: StoryDefinition) -> list[str]:
        """The query URLs for the story (none when its profile has no usable terms)."""
        ...

    def parse(self, response: Response) -> list[Candidate]:
        """The results of an answer; SearchError when the answer is not a result list."""
        ...


def query_terms(key_terms: Sequence[str]) -> list[str]:
    """The strongest key terms that GDELT accepts, none repeating another: 'aegis' after
    'aegis ashore' asks nothing new, and 'aegis ashore' after 'aegis' takes its place, as
    the name the story goes by."""
    chosen: list[str] = []
    for term in key_terms:
        words = set(term.split())
        if any(len(word) < MIN_WORD_LENGTH for word in words):
            continue
        if any(words <= set(other.split()) for other in chosen):
            continue
        named = [i for i, other in enumerate(chosen) if set(other.split()) <= words]
        if named:
            chosen[named[0]] = term
            chosen = [other for i, other in enumerate(chosen) if i not in named[1:]]
        else:
            chosen.append(term)
        if len(chosen) == QUERY_TERMS:
            break
    return chosen


def gdelt_query(key_terms: Sequence[str]) -> str:
    """The story's heaviest term required, and any of the next few: ANDing them all misses
    follow-ups worded differently; ORing them all finds every article on Japan or Russia.

    GDELT matches a phrase in double quotes and an OR only inside parentheses."""
    phrases = [term if term.isalnum() else f'"{term}"' for term in query_terms(key_terms)]
    if len(phrases) <= 2:
        return " ".join(phrases)
    return f"{phrases[0]} ({' OR '.join(phrases[1:])})"


def _seen(value: Any) -> date | None:
    """GDELT's seendate, '20180117T084000Z', as a day; None when absent or malformed."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").date()
    except ValueError:
        return None


@dataclass(frozen=True)
class GdeltSource:
    """The GDELT DOC 2.0 API in article-list mode: worldwide online news, newest first,
    searchable back to 2017 (https://blog.gdeltproject.org/gdelt-doc-2-0-api-debuts/)."""

    endpoint: str = GDELT_URL

    def requests_for(self, profile: StoryProfile, story: StoryDefinition) -> list[str]:
        query = gdelt_query(profile.key_terms)
        if not query:
            return []
        params = {
            "query": query,
            "mode": "artlist",
            "format": "json",
            "maxrecords": str(GDELT_MAX_RECORDS),
            "sort": "datedesc",
        }
        # The window widened as the judge widens it: wire copy is republished days later.
        slack = timedelta(days=WINDOW_SLACK_DAYS)
        if story.since:
            params["startdatetime"] = f"{story.since - slack:%Y%m%d}000000"
        if story.until:
            params["enddatetime"] = f"{story.until + slack:%Y%m%d}235959"
        return [f"{self.endpoint}?{urlencode(params, quote_via=quote)}"]

    def parse(self, response: Response) -> list[Candidate]:
        """``{"articles": [{"url", "title", "seendate", …}]}``; ``{}`` when nothing matched.

        GDELT answers a query it cannot run with a line of plain text and status 200. Its
        titles may hold raw control characters, which strict JSON refuses."""
        try:
            answer = json.loads(response.body, strict=False)
        except ValueError:
            text = response.body.decode("utf-8", "replace").strip()
            message = " ".join(text.split())[:200] or "an empty answer"
            raise SearchError(f"not a JSON result list: {message}") from None
        if not isinstance(answer, dict) or not isinstance(answer.get("articles", []), list):
            raise SearchError("not a JSON result list: no 'articles' array")
        results = []
        for article in answer.get("articles", []):
            if not isinstance(article, dict):
                continue
            url, title = article.get("url"), article.get("title")
            if not isinstance(url, str) or not is_http_url(url.strip()):
                continue
            text = " ".join(title.split()) if isinstance(title, str) else ""
            results.append(Candidate(url.strip(), text, published=_seen(article.get("seendate"))))
        return results


#: Search sources by the name a story file uses for them: one for each name of
#: crawler.schema.SEARCH_ENGINES, against which story files are checked.
SOURCES: dict[str, Callable[[Config], SearchSource]] = {
    "gdelt": lambda config: GdeltSource(config.gdelt_url),
}


def search_sources(names: Sequence[str], config: Config) -> list[SearchSource]:
    """The sources a story asks for, configured; the names are checked by the story file."""
    return [SOURCES[name](config) for name in names]

"""Whether an address is an outlet's listing (home, section, tag, search, archive) page.

Listings repeat the story's headlines and would look like the story to the judge; they are
never matched. Real article addresses often look like listings at first sight: the
article's own folder with ``index.html`` (``/2012/02/29/slug/index.html``), dated paths
under ``/archives/``, WordPress ``/?p=22999`` and slugs under ``/topic/``; the rules below
are checked against such addresses from public news corpora (tests/data/article_urls.txt).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

#: Folders of section, tag, search and archive pages.
_LISTING_FOLDERS = {
    "tag", "tags", "topic", "topics", "section", "sections", "category", "categories",
    "search", "archive", "archives", "page", "author", "authors",
}  # fmt: skip
#: Last segments that make a page a listing of whatever folder it is in.
_LISTING_LEAVES = {"search", "latest", "archive", "archives", "index.html", "index.php",
                   "index.htm", "default.aspx"}  # fmt: skip
#: Query parameters of searches and of pages of a listing.
_LISTING_QUERY = {"q", "query", "s", "page", "paged", "tag", "cat"}
#: Query parameters that name one post (WordPress ``?p=``, ``?page_id=``).
_POST_QUERY = {"p", "page_id", "story_fbid", "id", "storyid", "articleid"}
_DATE = re.compile(r"^(19|20)\d\d$")
#: A slug: words joined by hyphens or underscores, as outlets name articles.
_SLUG = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+){2,}")


def is_listing_url(url: str) -> bool:
    """Home pages and the section, tag, search and archive pages of an outlet."""
    parts = urlsplit(url)
    segments = [s for s in unquote(parts.path).lower().split("/") if s]
    query = {k.lower() for k in parse_qs(parts.query)}
    if query & _POST_QUERY:
        return False
    if query & _LISTING_QUERY:
        return True
    if not segments:
        return True
    leaf = segments[-1]
    if leaf in _LISTING_LEAVES:
        # The article's own folder, named by a slug or under a dated path, holds its page.
        folder = segments[:-1]
        return not (folder and (_SLUG.fullmatch(folder[-1]) or _is_dated(folder)))
    if any(s in _LISTING_FOLDERS for s in segments[:-1]):
        # A dated path or a long slug under /archives/ or /topic/ is one article.
        return not (_is_dated(segments) or _SLUG.fullmatch(_stem(leaf)))
    return False


def _is_dated(segments: list[str]) -> bool:
    return any(_DATE.match(s) for s in segments)


def _stem(leaf: str) -> str:
    return leaf.rsplit(".", 1)[0] if "." in leaf else leaf

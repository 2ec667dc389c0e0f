"""Whether an address is an outlet's listing (home, section, tag, search, archive) page.

Listings repeat the story's headlines and would look like the story to the judge; they are
never matched. Real article addresses often look like listings at first sight: the
article's own folder with ``index.html`` (``/2012/02/29/slug/index.html``), dated paths
under ``/archives/``, WordPress ``/?p=22999`` and slugs under ``/topic/``; the rules below
are checked against the addresses of the articles of ECB+ and NewsWCL50
(tests/data/article_urls.txt) and against real listing addresses (tests/data/listing_urls.txt).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

#: Folders of section, tag, search and archive pages.
_LISTING_FOLDERS = {
    "tag", "tags", "topic", "topics", "section", "sections", "category", "categories",
    "search", "archive", "archives", "page", "author", "authors", "profile", "profiles",
    "tone",
}  # fmt: skip
#: Last segments of listing pages, or of an article's own folder (see below).
_INDEX = {"index.html", "index.htm", "index.php", "index.shtml", "default.aspx"}
_LISTING_LEAVES = {"search", "latest", *_LISTING_FOLDERS}
#: Query parameters of searches and of pages of a listing.
_LISTING_QUERY = {"q", "query", "s", "search", "page", "paged"}
#: Query parameters that name one post (WordPress ``?p=``, ``?page_id=``, ``?id=``).
_POST_QUERY = {"p", "page_id", "id", "story_fbid", "storyid", "articleid", "key"}
#: A year, a long number (an article id) or a file named like a page.
_DATE = re.compile(r"(19|20)\d\d")
_ID = re.compile(r"\d{5,}")
_PAGE_FILE = re.compile(r".+\.(html?|shtml|php|aspx?|cms)")


def _slug(segment: str, words: int) -> bool:
    """Words joined by hyphens, underscores or dots, as outlets name an article."""
    return len([w for w in re.split(r"[-_.]+", segment) if w]) >= words


def is_listing_url(url: str) -> bool:
    """Home pages and the section, tag, search and archive pages of an outlet."""
    parts = urlsplit(url)
    segments = [s for s in unquote(parts.path).lower().split("/") if s]
    query = {k.lower() for k in parse_qs(parts.query)}
    if query & _POST_QUERY:
        return False
    if not segments:  # the home page, or a search of the whole site
        return not query or bool(query & _LISTING_QUERY)
    leaf, folders = segments[-1], segments[:-1]
    if leaf in _INDEX:
        # /2012/02/29/slug/index.html: the article's own folder holds its page.
        return not any(_slug(s, 3) or _DATE.fullmatch(s) or _ID.fullmatch(s) for s in folders)
    # A long slug or a page file names one article, under /archives/ or /topic/ too.
    if _slug(leaf.rsplit(".", 1)[0], 4) or _PAGE_FILE.fullmatch(leaf) or _ID.search(leaf):
        return False
    if query & _LISTING_QUERY or leaf in _LISTING_LEAVES:
        return True
    return any(s in _LISTING_FOLDERS for s in folders)

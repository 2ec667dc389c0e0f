"""Canonical URLs: one key per article, however it is linked.

Tracking and session parameters, fragments, parameter order and default ports must not
make an article look new, nor must its AMP or print copy, or the crawl fetches it twice and
the corpus holds it twice. The crawl and everything at rest key articles by these URLs.
"""

from __future__ import annotations

import re
from contextlib import suppress
from urllib.parse import urlsplit, urlunsplit

#: Session ids carried as path parameters (Java servlets, some PHP CMSs); courlan already
#: drops them from query strings (sid, sessionid, PHPSESSID, …).
_PATH_SESSION = re.compile(r";(jsessionid|phpsessid|sid|sessionid)=[^/?#]*", re.IGNORECASE)
#: The copies of an article made for another reader: /amp/… or …/amp, /print/… or …/print,
#: and the ``.amp`` suffix some CMSs use. (``?amp=1`` and ``?print=1`` courlan drops.)
_VARIANT_SEGMENTS = ("amp", "print")


def _fold_variant(path: str) -> str:
    segments = path.split("/")
    inner = [s for s in segments if s]
    if len(inner) > 1 and inner[0].lower() in _VARIANT_SEGMENTS:
        return path.replace(f"/{inner[0]}", "", 1)
    if len(inner) > 1 and inner[-1].lower() in _VARIANT_SEGMENTS:
        return path[: path.rindex(f"/{inner[-1]}")] + ("/" if path.endswith("/") else "")
    return path.removesuffix(".amp").removesuffix(".amp.html")


def original_of(url: str) -> str:
    """The article a URL is a copy of (AMP, print) without its path session id: what the
    crawl fetches instead, so that the archive holds the article as its readers saw it."""
    parts = urlsplit(url)
    path = _fold_variant(_PATH_SESSION.sub("", parts.path))
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def canonical(url: str) -> str:
    """The key a URL is known by: normalised, tracking and session parameters dropped, AMP
    and print copies folded onto the article, no fragment."""
    # Imported here: the story file checks its URLs with this module, and must load without
    # courlan's 0.15 s (crawler.storyfile is read by commands that answer at once).
    from courlan import normalize_url
    from w3lib.url import canonicalize_url

    url = original_of(url)
    with suppress(ValueError):  # courlan rejects some URLs that w3lib still normalises
        url = normalize_url(url, strict=True)
    return canonicalize_url(url, keep_fragments=False)


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)

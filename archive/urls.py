"""Canonical URLs: one key per article, however it is linked.

Tracking and session parameters, fragments, parameter order and default ports must not
make an article look new, nor must its AMP or print copy, or the crawl fetches it twice and
the corpus holds it twice. The crawl and everything at rest key articles by these URLs.
"""

from __future__ import annotations

import re
from contextlib import suppress
from urllib.parse import unquote_plus, urlsplit, urlunsplit

#: Session ids carried as path parameters (Java servlets, some PHP CMSs); courlan already
#: drops them from query strings (sid, sessionid, PHPSESSID, …).
_PATH_SESSION = re.compile(r";(jsessionid|phpsessid|sid|sessionid)=[^/?#]*", re.IGNORECASE)
#: The copies of an article made for another reader: /amp/… or …/amp, /print/… or …/print,
#: and the ``.amp`` suffix some CMSs use. (``?amp=1`` and ``?print=1`` courlan drops.)
_VARIANT_SEGMENTS = ("amp", "print")
#: Query parameters that name the article itself, in the ways news CMSs spell it:
#: ``id``, ``p`` (WordPress), ``articleid``, ``newsid``, ``article_id``, ``idxno`` (Korean
#: CMSs), ``artno``, ``seq_num``. courlan's strict mode keeps only a short list of these, and
#: dropping one merges every article of a ``view.php?articleid=…`` site into one key.
_ID_LIKE = re.compile(r"^(?:p|id|idx\w*|\w*(?:id|no|nr|num))$")
#: Session and user ids: they look like article ids but never name one (courlan's
#: TRACKERS_RE takes care of campaign and click ids).
_NOT_IDS = re.compile(r"^(?:sid|sessid|phpsessid|jsessionid|userid|user_id|visitorid)$")


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


def is_id_like(name: str) -> bool:
    """Whether a query parameter names the article (kept in its key), not a session or a
    campaign (dropped)."""
    from courlan.clean import TRACKERS_RE

    name = name.lower()
    return bool(_ID_LIKE.match(name)) and not _NOT_IDS.match(name) and not TRACKERS_RE.search(name)


def canonical(url: str) -> str:
    """The key a URL is known by: normalised, tracking and session parameters dropped, AMP
    and print copies folded onto the article, no fragment; parameters that name the
    article (see is_id_like) kept."""
    # Imported here: the story file checks its URLs with this module, and must load without
    # courlan's 0.15 s (crawler.storyfile is read by commands that answer at once).
    from courlan import normalize_url
    from courlan.settings import ALLOWED_PARAMS, LANG_PARAMS
    from w3lib.url import canonicalize_url

    url = original_of(url)
    parts = urlsplit(url)
    # courlan's strict list of parameters, and those naming the article; the rest (sort,
    # view, campaign …) is dropped. The pairs are kept as written and courlan normalises
    # the URL without them: decoding and encoding them again (as courlan does) would merge
    # values that differ only in bytes that are not UTF-8. w3lib sorts them, bytes intact.
    query = [
        pair
        for pair in parts.query.split("&")
        if (name := unquote_plus(pair.partition("=")[0]).lower()) in ALLOWED_PARAMS
        or name in LANG_PARAMS
        or is_id_like(name)
    ]
    url = urlunsplit(parts._replace(query="", fragment=""))
    with suppress(ValueError):  # courlan rejects some URLs that w3lib still normalises
        url = normalize_url(url, strict=True)
    if query:
        url = f"{url}?{'&'.join(query)}"
    return canonicalize_url(url, keep_fragments=False)


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


#: The web's default ports: a host on them is one site under http and https alike.
_DEFAULT_PORTS = {"http": 80, "https": 443}


def site_of(url: str) -> str:
    """The site a URL belongs to, by origin: scheme, host and port. A host on its scheme's
    default port is the bare host (``example.com``), one site under http and https, since
    sites move to https and keep their old links; on any other port it is a site of its own
    (``http://example.com:8001``: another server, often another owner)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:  # not a port at all: a site of its own, that no fetch can reach
        return f"{parts.scheme}://{parts.netloc}".lower()
    scheme = parts.scheme.lower()
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return host
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)

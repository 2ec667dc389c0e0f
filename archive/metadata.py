"""Metadata a reader can trust: the visible headline, the people who wrote, the page's language.

trafilatura reads a page's metadata well enough to start from; what it gets wrong is what
a reader notices first: a title with " | Site" still on it, or a logo's <h1> taken for the
headline; the publisher listed among the authors; no language when the page says it only
in Open Graph or JSON-LD. :func:`page_facts` reads what the page declares (JSON-LD, Open
Graph, <title>, its <h1>s) and :func:`headline` and :func:`authors` weigh trafilatura's
answer against it.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from lxml.html import HtmlElement

#: What sites put between a headline and their name in <title>: "Headline | Site", with a
#: hyphen, en or em dash, middle dot, bullet, angle quote, colon, tilde, slash or "::".
_SEPARATOR = re.compile("\\s+(?:[|\\-\u2013\u2014\u00b7\u2022\u203a\u00bb:~/]|::)\\s+")
_ARTICLE_TYPES = re.compile(r"Article|BlogPosting|Report", re.IGNORECASE)
#: Words of an author field that name no person: the publisher's, or a byline's own words.
_BYLINE = re.compile(r"^(?:by|von|par|por|di|door|view all posts by|posted by)\s+", re.I)


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


@dataclass(frozen=True)
class PageFacts:
    """What the page itself declares about its article, before any extractor guesses."""

    headlines: tuple[str, ...]  # JSON-LD headline, og:title, twitter:title
    html_title: str | None
    h1s: tuple[str, ...]
    authors: tuple[str, ...]  # JSON-LD article authors, <meta name="author">
    publishers: frozenset[str]  # casefolded names of the site and its publisher
    language: str | None


def _json_ld(tree: HtmlElement) -> Iterator[dict]:
    """Every JSON-LD object on the page, @graph members included; broken blocks skipped."""
    for script in tree.iterfind('.//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                yield item
                stack.extend(item.get("@graph") or [])
            elif isinstance(item, list):
                stack.extend(item)


def _names(value: object) -> Iterator[str]:
    """The names in a JSON-LD person or organisation field (a string, object or list)."""
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            yield item["name"]


def _language(tree: HtmlElement, declared: list[str]) -> str | None:
    lang = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    found = tree.xpath('//meta[@property="og:locale" or @http-equiv="content-language"]/@content')
    lang = lang or (found[0] if found else None) or (declared[0] if declared else None) or ""
    return lang.replace("_", "-").split("-")[0].strip().lower() or None


def page_facts(tree: HtmlElement) -> PageFacts:
    meta = {
        (element.get("property") or element.get("name") or "").lower(): element.get("content")
        for element in tree.iterfind(".//head//meta[@content]")
    }
    headlines, authors, publishers, languages = [], [], set(), []
    for item in _json_ld(tree):
        kind = item.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if any(isinstance(k, str) and _ARTICLE_TYPES.search(k) for k in kinds):
            if isinstance(item.get("headline"), str):
                headlines.append(item["headline"])
            authors.extend(_names(item.get("author")))
            publishers.update(_norm(name) for name in _names(item.get("publisher")))
            if isinstance(item.get("inLanguage"), str):
                languages.append(item["inLanguage"])
        elif any(k in ("Organization", "NewsMediaOrganization", "WebSite") for k in kinds):
            publishers.update(_norm(name) for name in _names(item))
    headlines += [meta[k] for k in ("og:title", "twitter:title") if meta.get(k)]
    if meta.get("author") and "/" not in meta["author"]:  # a name, not a profile URL
        authors.append(meta["author"])
    if meta.get("og:site_name"):
        publishers.add(_norm(meta["og:site_name"]))
    title = tree.find(".//head/title")
    h1s = [_clean(h1.text_content()) for h1 in tree.iterfind(".//body//h1")]
    return PageFacts(
        headlines=tuple(clean for h in headlines if (clean := _clean(h))),
        html_title=_clean(title.text_content()) if title is not None else None,
        h1s=tuple(h for h in h1s if h),
        authors=tuple(dict.fromkeys(clean for a in authors if (clean := _clean(a)))),
        publishers=frozenset(p for p in publishers if p),
        language=_language(tree, languages),
    )


def _without_site(title: str, site_names: set[str]) -> str:
    """The title without the site's name at either end ("Headline | Site", "Site: Headline"),
    cut out of the title as written (its own dashes stay)."""
    cuts = [match.span() for match in _SEPARATOR.finditer(title)]
    starts = [0, *(end for _, end in cuts)]
    ends = [*(start for start, _ in cuts), len(title)]
    first, last = 0, len(starts) - 1
    while first < last and _is_site(title[starts[first] : ends[first]], site_names):
        first += 1
    while last > first and _is_site(title[starts[last] : ends[last]], site_names):
        last -= 1
    return title[starts[first] : ends[last]]


def _within(needle: str, haystack: str) -> bool:
    """Whether ``needle`` is in ``haystack`` as whole words (both normalised)."""
    return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", haystack) is not None


def _is_site(segment: str, site_names: set[str]) -> bool:
    """Whether a title segment names the site: "Site", "Site.com", "Site Online", or a
    part of its longer name."""
    text = _norm(segment)
    return any(
        _within(text, name) or (_within(name, text) and len(text.split()) <= len(name.split()) + 1)
        for name in site_names
    )


def _is_publisher(name: str, site_names: set[str]) -> bool:
    """Whether an author entry is the publisher ("Example Media GmbH" for "Example Media")."""
    text = _norm(name)
    return any(text == site or (len(site) > 3 and _within(site, text)) for site in site_names)


def headline(facts: PageFacts, found: str | None, sitename: str | None) -> str | None:
    """The headline a reader sees: an <h1> the page's metadata confirms, else the declared
    (or found) title without the site's name."""
    site_names = set(facts.publishers) | ({_norm(sitename)} if sitename else set())
    declared = [*facts.headlines, *([facts.html_title] if facts.html_title else [])]
    segments = {
        _norm(s) for t in declared for s in (t, _without_site(t, site_names), *_SEPARATOR.split(t))
    }
    for h1 in facts.h1s:
        if _norm(h1) in segments and not _is_site(h1, site_names):
            return h1
    found = _clean(found or "")
    for title in (*facts.headlines, found, facts.html_title):
        if title and not _is_site(title, site_names):
            return _without_site(title, site_names)
    return found or None


def site_name(facts: PageFacts, found: str | None, title: str | None) -> str | None:
    """The outlet's name. trafilatura falls back to the host ("127.0.0.7:8018",
    "example.com") when the page declares no name; the <title>'s end that is not the
    headline ("Headline | The Asia Ledger") names the site better."""
    if found and not _is_host(found):
        return found
    segments = _SEPARATOR.split(facts.html_title or "")
    if len(segments) > 1 and title:
        for segment in (segments[-1], segments[0]):
            if segment and not _within(_norm(segment), _norm(title)):
                return segment
    return found


def _is_host(name: str) -> bool:
    return not any(c.isspace() for c in name) and ("." in name or ":" in name)


def _clean(text: str) -> str:
    """Whitespace collapsed and entities decoded: some CMSs escape their <title> twice."""
    return " ".join(html.unescape(text).split())


def authors(found: str | None, facts: PageFacts, sitename: str | None) -> str | None:
    """trafilatura's authors ("A; B") without byline words, and without the publisher
    unless it is the only one on the page's byline (a blog's owner); else the authors the
    page declares (trafilatura drops a one-word name, such as a news agency's), less the
    publisher (an unsigned story's metadata names it as the author)."""
    site_names = set(facts.publishers) | ({_norm(sitename)} if sitename else set())
    given = found.split(";") if found else facts.authors
    named = list(dict.fromkeys(n for n in (_BYLINE.sub("", n.strip()) for n in given) if n))
    people = [name for name in named if not _is_publisher(name, site_names)]
    return "; ".join(people or (named if found else [])) or None

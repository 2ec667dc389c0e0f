"""Metadata a reader can trust, read from the page as fetched.

What a page declares about its article (JSON-LD, Open Graph and other <meta> tags, its
<title> and <h1>s, <time> elements, the URL) is read from the whole page, before anything
is stripped for the body text: a page whose chrome is cleared first loses the <time> and
the byline that sit in it, and a date is then guessed from a year the text mentions.

trafilatura's reading (:func:`trafilatura.metadata.extract_metadata`) is the start; what
it gets wrong is what a reader notices first: a title with " | Site" still on it, or a
logo's <h1> taken for the headline; the publisher listed among the authors; a modified
date for the published one. :func:`read` weighs it against what the page declares, with
the precedence chosen on the development split of the real-page fixtures
(bench/extraction.py --split dev).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from htmldate import find_date
from lxml.html import HtmlElement
from trafilatura.metadata import extract_metadata

#: What sites put between a headline and their name in <title>: "Headline | Site", with a
#: hyphen, en or em dash, middle dot, bullet, angle quote, colon, tilde, slash or "::".
_SEPARATOR = re.compile("\\s+(?:[|\\-\u2013\u2014\u00b7\u2022\u203a\u00bb:~/]|::)\\s+")
_ARTICLE_TYPES = re.compile(r"Article|BlogPosting|Report", re.IGNORECASE)
#: Words of an author field that name no person: the publisher's, or a byline's own words.
_BYLINE = re.compile(
    r"^(?:by|von|par|por|di|door|autor|autorin|view all posts by|posted by)\s+", re.I
)
_TRAILING = " -|:\u2013\u2014"
#: Author entries that name no one: a button's or a label's words.
_NO_ONE = frozenset({"posted", "follow", "text", "no author", "admin", "author"})
#: A name that ends like a host name ("Facebook Com", "Redaktion datev de") is a site's.
_DOMAIN_END = re.compile(r"[\s.](?:com|net|org|info|de|at|ch|uk|fr|it|pl|eu|lt|ru|es)$", re.I)
_NOT_ALNUM = re.compile(r"[\W_]+")
#: <meta> names and properties that carry the article's publication time, best first.
_PUBLISHED = (
    "article:published_time", "og:published_time", "datepublished", "publishdate",
    "pubdate", "parsely-pub-date", "sailthru.date", "dc.date.issued", "dcterms.created",
    "date",
)  # fmt: skip
_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
#: htmldate's answer for a page where it found a year alone.
_YEAR_ONLY = re.compile(r"\d{4}-01-01")


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def _clean(text: str) -> str:
    """Whitespace collapsed and entities decoded: some CMSs escape their <title> twice."""
    return " ".join(html.unescape(text).split())


@dataclass(frozen=True)
class Metadata:
    """What a page says about its article."""

    title: str | None
    authors: tuple[str, ...]
    date: str | None  # published, ISO day
    sitename: str | None
    language: str | None  # as declared, primary subtag
    canonical_url: str | None
    pagetype: str | None

    @property
    def author(self) -> str | None:
        """The authors as one field, as the database and the export keep them."""
        return "; ".join(self.authors) or None


@dataclass(frozen=True)
class PageFacts:
    """What the page itself declares about its article, before any extractor guesses."""

    headlines: tuple[str, ...]  # JSON-LD headline, og:title, twitter:title
    html_title: str | None
    h1s: tuple[str, ...]
    authors: tuple[str, ...]  # JSON-LD article authors, <meta name="author">
    publishers: frozenset[str]  # casefolded names of the site and its publisher
    language: str | None
    published: tuple[str, ...]  # declared publication times, best first


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


def _language(tree: HtmlElement, meta: dict[str, str], declared: list[str]) -> str | None:
    lang = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    found = meta.get("og:locale") or meta.get("content-language")
    lang = lang or found or (declared[0] if declared else None) or ""
    lang = lang.replace("_", "-").split("-")[0].strip().lower()
    return lang if len(lang) in (2, 3) and lang.isalpha() else None


def _meta(tree: HtmlElement) -> dict[str, str]:
    """<meta> content by lowercased property, name, itemprop or http-equiv; first one wins."""
    found: dict[str, str] = {}
    for element in tree.iterfind(".//meta[@content]"):
        for attribute in ("property", "name", "itemprop", "http-equiv"):
            key = (element.get(attribute) or "").lower()
            if key and element.get("content"):
                found.setdefault(key, element.get("content"))
    return found


def _time_elements(tree: HtmlElement) -> list[str]:
    """<time datetime> the page marks as its publication: itemprop, pubdate or a class."""
    times = []
    for element in tree.iterfind(".//time[@datetime]"):
        marks = " ".join(
            element.get(a) or "" for a in ("itemprop", "class", "pubdate", "data-testid")
        ).lower()
        if "publish" in marks or element.get("pubdate") is not None or "datepub" in marks:
            times.append(element.get("datetime"))
    return times


def page_facts(tree: HtmlElement) -> PageFacts:
    meta = _meta(tree)
    headlines, authors, publishers, languages = [], [], set(), []
    published = []
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
            if isinstance(item.get("datePublished"), str):
                published.append(item["datePublished"])
        elif any(k in ("Organization", "NewsMediaOrganization", "WebSite") for k in kinds):
            publishers.update(_norm(name) for name in _names(item))
    headlines += [meta[k] for k in ("og:title", "twitter:title") if meta.get(k)]
    if meta.get("author") and "/" not in meta["author"]:  # a name, not a profile URL
        authors.append(meta["author"])
    if meta.get("og:site_name"):
        publishers.add(_norm(meta["og:site_name"]))
    published += [meta[k] for k in _PUBLISHED if meta.get(k)] + _time_elements(tree)
    title = tree.find(".//head/title")
    h1s = [_clean(h1.text_content()) for h1 in tree.iterfind(".//body//h1")]
    return PageFacts(
        headlines=tuple(clean for h in headlines if (clean := _clean(h))),
        html_title=_clean(title.text_content()) if title is not None else None,
        h1s=tuple(h for h in h1s if h),
        authors=tuple(dict.fromkeys(clean for a in authors if (clean := _clean(a)))),
        publishers=frozenset(p for p in publishers if p),
        language=_language(tree, meta, languages),
        published=tuple(published),
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


def _site_names(facts: PageFacts, sitename: str | None) -> set[str]:
    return set(facts.publishers) | ({_norm(sitename)} if sitename else set())


def headline(facts: PageFacts, found: str | None, sitename: str | None) -> str | None:
    """The headline a reader sees: an <h1> the page's metadata confirms, else the declared
    (or found) title without the site's name (and a separator it leaves at its end). A
    page's first <h1> of a headline's length, taken where the metadata does not confirm
    it, lost titles on the development split: it is often a kicker and a headline."""
    site_names = _site_names(facts, sitename)
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
            return _without_site(title, site_names).rstrip(_TRAILING)
    return found or None


def site_name(facts: PageFacts, found: str | None, title: str | None) -> str | None:
    """The outlet's name. trafilatura falls back to the host ("127.0.0.7:8018",
    "example.com") when the page declares no name; the <title>'s end that is not the
    headline ("Headline | The Asia Ledger") names the site better."""
    if found and not _host_like(found):
        return found
    segments = _SEPARATOR.split(facts.html_title or "")
    if len(segments) > 1 and title:
        for segment in (segments[-1], segments[0]):
            if segment and not _within(_norm(segment), _norm(title)):
                return segment
    return found


def _host_like(name: str) -> bool:
    return not any(c.isspace() for c in name) and ("." in name or ":" in name)


def _key(name: str) -> str:
    """A name's letters and digits: "Sophie-Foster" and "Sophie Foster" are one author,
    and "Www Washingtontimes Com" is the host www.washingtontimes.com."""
    return _NOT_ALNUM.sub("", name.casefold())


def _is_host(name: str, url: str | None) -> bool:
    """Whether an author entry is the site's host name written out ("Mdr De": mdr.de)."""
    host = (urlsplit(url).hostname or "") if url else ""
    key = _key(name)
    return bool(key) and key in (_key(host), _key(host.removeprefix("www.")))


def _names_no_one(name: str) -> bool:
    return name.casefold() in _NO_ONE or _DOMAIN_END.search(name) is not None


def authors(
    found: str | None, facts: PageFacts, sitename: str | None, url: str | None = None
) -> tuple[str, ...]:
    """trafilatura's authors ("A; B") without byline words, and without the publisher
    unless it is the only one on the page's byline (a blog's owner); else the authors the
    page declares (trafilatura drops a one-word name, such as a news agency's), less the
    publisher (an unsigned story's metadata names it as the author). A name given twice
    ("Chuck Ross; Chuck-Ross") is kept once, the first way it is written."""
    site_names = _site_names(facts, sitename)
    given = found.split(";") if found else facts.authors
    named = {}
    for name in (_BYLINE.sub("", n.strip()) for n in given):
        if name and not _is_host(name, url) and not _names_no_one(name):
            named.setdefault(_key(name), name)
    people = [name for name in named.values() if not _is_publisher(name, site_names)]
    return tuple(people or (list(named.values()) if found else []))


def _day(value: str) -> str | None:
    """The day of a declared time ("2017-12-28T09:00:00+03:00" -> "2017-12-28")."""
    match = _ISO_DAY.search(value)
    if not match:
        return None
    year, month, day = (int(g) for g in match.groups())
    return match.group(0) if 1990 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31 else None


#: htmldate as trafilatura's metadata runs it here: the publication date, markup and URL only.
DATE_OPTIONS = {"original_date": True, "extensive_search": False}


def _is_utc(value: str) -> bool:
    return value.rstrip().endswith(("Z", "+00:00", "+0000"))


def published(
    tree: HtmlElement, facts: PageFacts, found: str | None, url: str | None
) -> str | None:
    """The day the article was published: what the page declares, else htmldate's reading
    of its markup and URL (``found``), and its reading of the text only as a last resort,
    and never a year alone (htmldate's January 1st), a year the text merely mentions.

    A time declared in UTC may fall on the next or the previous day where the outlet is:
    where the page's markup or URL shows that neighbouring day, it is the outlet's."""
    for value in facts.published:
        if day := _day(value):
            if found and _is_utc(value) and _neighbours(day, found):
                return found
            return day
    if found:
        return found
    guessed = find_date(tree, url=url, original_date=True, extensive_search=True)
    return guessed if guessed and not _YEAR_ONLY.fullmatch(guessed) else None


def _neighbours(one: str, other: str) -> bool:
    return abs((date.fromisoformat(one) - date.fromisoformat(other)).days) == 1


def read(tree: HtmlElement, url: str | None) -> Metadata:
    """The metadata of the page ``tree`` (as fetched, not yet stripped; left unchanged)."""
    facts = page_facts(tree)
    # htmldate's extensive search, the costliest part of trafilatura's metadata, only where
    # the page declares no date and its markup and URL give none (see published).
    found = extract_metadata(tree, url, date_config=dict(DATE_OPTIONS), extensive=False)
    title = headline(facts, found.title, found.sitename)
    return Metadata(
        title=title,
        authors=authors(found.author, facts, found.sitename, url),
        date=published(tree, facts, found.date, url),
        sitename=site_name(facts, found.sitename, title),
        language=facts.language,
        canonical_url=found.url if found.url and found.url.startswith("http") else None,
        pagetype=(found.pagetype or "").lower() or None,
    )

"""Every page of one outlet: HTML with the outlet's chrome, feeds, sitemaps, robots.txt.

A `Site` renders all of an outlet's pages once, against the base URLs of the running
web (absolute links, feeds and the cross-outlet "In other media" box need them), so
that serving a page is a dictionary lookup. The pages that never end (calendar days,
filter combinations) and search results are rendered per request instead. Each
outlet's look lives in its own `Chrome` subclass, modelled on the real site it
imitates: the chrome is what an extractor has to throw away, so it is meant to be as
noisy as the real thing. Two outlets are built like CSS-module sites: <div>s only,
hashed class names, nothing an extractor could take for a landmark.

Besides an article's page, a Site renders its variants: a print copy at
/print/<path> and, on AMP outlets, an AMP copy at /amp/<path>, both with
rel=canonical pointing back at the article. Every page says what kind of page it
is (`Page.kind`), so the server can tell a benchmark what each request fetched.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Literal
from urllib.parse import parse_qsl, quote, urlencode

from lxml import etree

from .outlets import (
    COOKIE_NOTICES,
    COPYRIGHTS,
    GALLERIES,
    INFOGRAPHICS,
    NEWSLETTER_PROMPTS,
    OUTLETS,
    PHOTO_CREDITS,
    REAL_DELAYS,
    SECTIONS,
    Article,
    Delays,
    Outlet,
    article_path,
    slugify,
)

PER_PAGE = 6
FEED_ITEMS = 20
HTML_TYPE = "text/html; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"
NAMESPACES = {
    "atom": "http://www.w3.org/2005/Atom",
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "news": "http://www.google.com/schemas/sitemap-news/0.9",
}
MOST_READ_TABS = ("Now", "Today", "This week")
SEMANTIC_TAGS = frozenset({"article", "aside", "footer", "header", "main", "nav", "section"})
TRACKING_QUERY = "utm_source=rss&utm_medium=feed"
#: Stands for the session id in the rendered links of a session-id outlet; the server
#: puts a new id in its place in every response.
SESSION_MARK = "__JSESSIONID__"
#: The choices of the filterable /latest/ listing; `page` has no end.
FILTER_CHOICES = {
    "sort": ("date", "popular", "title"),
    "view": ("list", "grid", "compact"),
}

#: What a page is, for counting a crawler's requests: an article, a variant of one
#: (print, AMP, its old URL), a listing of some kind, or the site's other files.
PageKind = Literal[
    "article",
    "print",
    "amp",
    "moved",
    "listing",
    "calendar",
    "filtered",
    "search",
    "feed",
    "sitemap",
    "robots",
    "info",
    "redirect",
    "not-found",
]


@dataclass(frozen=True)
class Page:
    """A rendered response body; `modified` is set on article pages only (validators).

    `article_id` names the article an article page or variant shows; `quirks` are the
    article's server misbehaviours (outlets.QUIRKS), on its article page only.
    """

    body: bytes
    content_type: str = HTML_TYPE
    modified: datetime | None = None
    etag: str | None = None
    kind: PageKind = "listing"
    article_id: str | None = None
    quirks: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Head:
    """What goes into <head>: the metadata a crawler and an extractor look at."""

    title: str
    url: str
    og_type: str = "website"
    description: str = ""
    article: Article | None = None
    prev_url: str | None = None
    next_url: str | None = None
    noindex: bool = False
    charset: str = "utf-8"


def esc(text: str) -> str:
    """Escape text content; quotes stay literal, as most real CMSs leave them."""
    return html.escape(text, quote=False)


def attr(text: str) -> str:
    """Escape an attribute value."""
    return html.escape(text, quote=True)


def html_type(charset: str) -> str:
    return f"text/html; charset={charset}"


def hashed_class(salt: str, name: str) -> str:
    """A CSS-module class name, like "x7f3k2 q9a": meaningless, stable for `name`."""
    digest = hashlib.sha256(f"{salt}/{name}".encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    first = alphabet[digest[0] % 26] + "".join(alphabet[b % 36] for b in digest[1:6])
    second = alphabet[digest[6] % 26] + "".join(alphabet[b % 36] for b in digest[7:9])
    return f"{first} {second}"


def calendar_path(day: date) -> str:
    """The calendar page of a day (years before 1000 too: the calendar has no end)."""
    return f"/archive/{day.year:04d}/{day.month:02d}/{day.day:02d}/"


def with_session(path: str) -> str:
    """`path` with a ;jsessionid= path parameter before its query, as servlet containers
    rewrite URLs for clients they cannot give a cookie."""
    before, sep, query = path.partition("?")
    return f"{before};jsessionid={SESSION_MARK}{sep}{query}"


def summary(article: Article) -> str:
    """One line for teasers and feeds: the subtitle, else the opening sentence."""
    if article.subtitle:
        return article.subtitle
    first = article.paragraphs[0] if article.paragraphs else ""
    sentence = first.split(". ")[0].rstrip(".") + "."
    return sentence if len(sentence) <= 200 else sentence[:197].rsplit(" ", 1)[0] + "…"


class Site:
    """One outlet's pages, rendered once for the base URLs the web is running on."""

    def __init__(
        self,
        outlet: Outlet,
        articles: Sequence[Article],
        base_urls: dict[str, str],
        delays: Delays = REAL_DELAYS,
    ) -> None:
        self.outlet = outlet
        self.delays = delays
        self.base_urls = base_urls
        self.base = base_urls[outlet.key]
        self.everything = sorted(articles, key=lambda a: a.date, reverse=True)
        self.articles = [a for a in self.everything if a.outlet == outlet.key]
        self.by_id = {a.id: a for a in self.articles}
        self.paths = {a.id: article_path(a) for a in self.articles}
        if len(set(self.paths.values())) != len(self.paths):
            raise ValueError(f"{outlet.key}: two articles share a URL; change an id or title")
        self.moved = {a.old_path: a for a in self.articles if a.old_path}
        self.sections = [s for s in SECTIONS if any(a.section == s for a in self.articles)]
        self.tags: dict[str, str] = {}  # slug -> display name (first spelling seen)
        for article in self.articles:
            for tag in article.tags:
                self.tags.setdefault(slugify(tag), tag)
        self.chrome: Chrome = CHROMES[outlet.key](self)
        self.pages = self._render_all()
        if clash := set(self.moved) & set(self.pages):
            raise ValueError(f"{outlet.key}: old_path {sorted(clash)} is the path of a page")

    # -- links ---------------------------------------------------------------------

    def absolute(self, path: str) -> str:
        return self.base + path.lstrip("/")

    def href(self, path: str) -> str:
        """How this outlet writes an internal link (some CMSs write them absolute, some
        add a session id)."""
        if self.outlet.session_ids:
            path = with_session(path)
        return attr(self.absolute(path) if self.outlet.absolute_links else path)

    def article_url(self, article: Article) -> str:
        """Absolute URL of any outlet's article in the running web."""
        return self.base_urls[article.outlet] + article_path(article).lstrip("/")

    def link(self, article: Article) -> str:
        """A link to one of the outlet's articles, at the path it was first published
        under: the CMS never updated its links when an article moved."""
        path = article.old_path or self.paths[article.id]
        return f'<a href="{self.href(path)}">{esc(article.title)}</a>'

    def archive_path(self) -> str:
        """The calendar day an "Archive" link opens: the newest article's."""
        newest = self.articles[0].date.date() if self.articles else date(2018, 1, 1)
        return calendar_path(newest)

    # -- choices of other articles shown around a page -----------------------------

    def latest(self, count: int) -> list[Article]:
        return self.articles[:count]

    def most_read(self, tab: str, count: int) -> list[Article]:
        """A stable, made-up popularity ranking per tab."""
        return sorted(
            self.articles, key=lambda a: hashlib.sha256(f"{tab}/{a.id}".encode()).digest()
        )[:count]

    def related(self, article: Article, count: int) -> list[Article]:
        """The article's `related` ids, then the newest same-section articles, then any.

        The last resort keeps every article page's boxes filled, as on a real site.
        """
        chosen = [self.by_id[i] for i in article.related]
        chosen += [a for a in self.articles if a.section == article.section]
        chosen += self.articles
        unique = [a for a in dict.fromkeys(chosen) if a.id != article.id]
        return unique[:count]

    def other_media(self, article: Article) -> list[Article]:
        """For each other outlet, its newest article in this section (else its newest)."""
        picks = []
        for key in [k for k in OUTLETS if k != self.outlet.key]:
            theirs = [a for a in self.everything if a.outlet == key]
            same_section = [a for a in theirs if a.section == article.section]
            picks += (same_section or theirs)[:1]
        return picks

    # -- pages ---------------------------------------------------------------------

    def _render_all(self) -> dict[str, Page]:
        pages: dict[str, Page] = {}
        pages.update(self._listing("/", "Latest news", self.articles))
        for section in self.sections:
            in_section = [a for a in self.articles if a.section == section]
            pages.update(
                self._listing(f"/{section}/", self.outlet.section_name(section), in_section)
            )
        for slug, tag in self.tags.items():
            tagged = [a for a in self.articles if slug in {slugify(t) for t in a.tags}]
            pages.update(self._listing(f"/tag/{slug}/", tag, tagged))
        for article in self.articles:
            path = self.paths[article.id]
            pages[path] = self._article_page(article)
            pages["/print" + path] = Page(
                self._print_page(article), kind="print", article_id=article.id
            )
            if self.outlet.amp:
                pages["/amp" + path] = Page(
                    self._amp_page(article), kind="amp", article_id=article.id
                )
        pages["/about/"] = self._info_page("/about/", "About us", ABOUT_TEXT)
        pages["/contacts/"] = self._info_page("/contacts/", "Contacts", CONTACTS_TEXT)
        robots = self._robots().encode()
        pages["/robots.txt"] = Page(robots, "text/plain; charset=utf-8", kind="robots")
        pages[self.outlet.feed_path] = self._feed()
        for path, sitemap in (
            ("/sitemap.xml", self._sitemap_index()),
            ("/sitemap-articles.xml", self._sitemap_articles()),
            ("/sitemap-sections.xml", self._sitemap_sections()),
            ("/news-sitemap.xml", self._news_sitemap()),
        ):
            pages[path] = Page(sitemap, XML_TYPE, kind="sitemap")
        return pages

    def _document(self, head: Head, body: str) -> bytes:
        document = f'<!DOCTYPE html>\n<html lang="en">\n{self._head(head)}\n{body}\n</html>\n'
        return document.encode(head.charset, errors="xmlcharrefreplace")

    def _title(self, text: str) -> str:
        name = self.outlet.name
        return f"{name} - {text}" if self.outlet.name_first else f"{text} | {name}"

    def _head(self, head: Head) -> str:
        feed_type = "application/rss+xml" if self.outlet.feed == "rss" else "application/atom+xml"
        lines = [
            f'<meta charset="{head.charset}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(self._title(head.title))}</title>",
            f'<meta name="description" content="{attr(head.description)}">',
            f'<link rel="canonical" href="{attr(head.url)}">',
        ]
        if self.outlet.og_tags:
            lines += [
                f'<meta property="og:type" content="{head.og_type}">',
                f'<meta property="og:title" content="{attr(head.title)}">',
                f'<meta property="og:url" content="{attr(head.url)}">',
                f'<meta property="og:site_name" content="{attr(self.outlet.name)}">',
                f'<meta property="og:description" content="{attr(head.description)}">',
            ]
        lines.append(
            f'<link rel="alternate" type="{feed_type}" title="{attr(self.outlet.name)}"'
            f' href="{attr(self.absolute(self.outlet.feed_path))}">'
        )
        if head.noindex:
            lines.append('<meta name="robots" content="noindex, follow">')
        for rel, url in (("prev", head.prev_url), ("next", head.next_url)):
            if url:
                lines.append(f'<link rel="{rel}" href="{attr(url)}">')
        if (article := head.article) and self.outlet.og_tags:
            lines.append(
                f'<meta property="article:published_time" content="{article.date.isoformat()}">'
            )
            section = attr(self.outlet.section_name(article.section))
            lines.append(f'<meta property="article:section" content="{section}">')
            lines += [
                f'<meta property="article:tag" content="{attr(tag)}">' for tag in article.tags
            ]
        if article:
            if article.author:
                lines.append(f'<meta name="author" content="{attr(article.author)}">')
            if self.outlet.json_ld:
                lines.append(
                    f'<script type="application/ld+json">{self._json_ld(article)}</script>'
                )
            if self.outlet.amp:
                amp_url = self.absolute("/amp" + self.paths[article.id])
                lines.append(f'<link rel="amphtml" href="{attr(amp_url)}">')
        return "<head>\n" + "\n".join(lines) + "\n</head>"

    def _json_ld(self, article: Article) -> str:
        data = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": article.title,
            "description": summary(article),
            "datePublished": article.date.isoformat(),
            "dateModified": article.date.isoformat(),
            "articleSection": self.outlet.section_name(article.section),
            "keywords": ", ".join(article.tags),
            "mainEntityOfPage": {"@type": "WebPage", "@id": self.article_url(article)},
            "author": {"@type": "Person", "name": article.author}
            if article.author
            else {"@type": "Organization", "name": self.outlet.name},
            "publisher": {"@type": "Organization", "name": self.outlet.name},
        }
        return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")

    def _listing(self, path: str, heading: str, articles: list[Article]) -> dict[str, Page]:
        """Pages of teasers, newest first, linked with rel=prev/next."""
        count = max(1, math.ceil(len(articles) / PER_PAGE))
        paths = [path if n == 1 else f"{path}page/{n}/" for n in range(1, count + 1)]
        pages = {}
        description = f"{heading}: the latest from {self.outlet.name}"
        for n, page_path in enumerate(paths, start=1):
            prev_path = paths[n - 2] if n > 1 else None
            next_path = paths[n] if n < count else None
            shown = articles[(n - 1) * PER_PAGE : n * PER_PAGE]
            title = heading if n == 1 else f"{heading} - page {n}"
            pages[page_path] = self._listing_page(
                page_path, title, description, shown, (prev_path, next_path)
            )
        return pages

    def _listing_page(
        self,
        path: str,
        title: str,
        description: str,
        shown: list[Article],
        prev_next: tuple[str | None, str | None],
        kind: PageKind = "listing",
        above: str = "",
    ) -> Page:
        """One page of teasers, with `above` (such as filter links) over them."""
        prev_path, next_path = prev_next
        head = Head(
            title=title,
            url=self.absolute(path),
            description=description,
            prev_url=prev_path and self.absolute(prev_path),
            next_url=next_path and self.absolute(next_path),
        )
        main = above + self.chrome.listing(title, shown, prev_path, next_path)
        return Page(self._document(head, self.chrome.frame(main)), kind=kind)

    def _article_page(self, article: Article) -> Page:
        charset = "windows-1252" if "windows-1252" in article.quirks else "utf-8"
        head = Head(
            article.title,
            self.article_url(article),
            "article",
            summary(article),
            article,
            charset=charset,
        )
        return Page(
            self._document(head, self.chrome.frame(self.chrome.article(article))),
            html_type(charset),
            modified=article.updated or article.date,
            etag=article.version,
            kind="article",
            article_id=article.id,
            quirks=article.quirks,
        )

    def _print_page(self, article: Article) -> bytes:
        """A printable copy: the same text under a bare header, not for indexing."""
        head = Head(
            article.title, self.article_url(article), "article", summary(article), noindex=True
        )
        paragraphs = self.chrome.paragraphs(article)
        source = f"Printed from {self.outlet.name}: {self.article_url(article)}"
        body = f"""<body class="print">
<div class="print-header">{esc(self.outlet.name)}</div>
<h1>{esc(article.title)}</h1>
<p>{esc(self.chrome.when(article.date))}</p>
{paragraphs}
<p class="print-source">{esc(source)}</p>
</body>"""
        return self._document(head, body)

    def _amp_page(self, article: Article) -> bytes:
        """The AMP copy: the text in AMP's fixed boilerplate, canonical to the article."""
        url = self.article_url(article)
        paragraphs = self.chrome.paragraphs(article)
        return f"""<!doctype html>
<html amp lang="en">
<head>
<meta charset="utf-8">
<title>{esc(self._title(article.title))}</title>
<link rel="canonical" href="{attr(url)}">
<meta name="viewport" content="width=device-width,minimum-scale=1,initial-scale=1">
<script async src="https://cdn.ampproject.org/v0.js"></script>
<style amp-boilerplate>body{{visibility:hidden}}</style>
</head>
<body>
<header class="amp-header"><a href="{self.href("/")}">{esc(self.outlet.name)}</a></header>
<article class="amp-article">
<h1>{esc(article.title)}</h1>
<p class="amp-meta">{esc(self.chrome.when(article.date))}</p>
{paragraphs}
</article>
<footer class="amp-footer"><a href="{attr(url)}">View the full article</a>
<p>{esc(COPYRIGHTS[self.outlet.key])}</p></footer>
</body>
</html>
""".encode()

    def _info_page(self, path: str, heading: str, text: str) -> Page:
        head = Head(heading, self.absolute(path), description=f"{heading} - {self.outlet.name}")
        text = esc(text.format(name=self.outlet.name))
        main = f'<div class="info-page"><h1>{esc(heading)}</h1><p>{text}</p></div>'
        return Page(self._document(head, self.chrome.frame(main)), kind="info")

    def search(self, query: str) -> Page:
        """Results for every word of the query in title or text (disallowed to robots)."""
        words = query.lower().split()
        found = [
            a
            for a in self.articles
            if words and all(w in f"{a.title} {a.body}".lower() for w in words)
        ]
        heading = f"Search results for “{query}”" if query else "Search"
        head = Head(heading, self.absolute("/search"), description=heading, noindex=True)
        main = self.chrome.listing(heading, found[:FEED_ITEMS], None, None)
        return Page(self._document(head, self.chrome.frame(main)), kind="search")

    def calendar_day(self, day: date) -> Page:
        """A day of the endless calendar: that day's articles (often none) and links to
        the days before and after, as far as dates go."""
        path = calendar_path(day)
        shown = [a for a in self.articles if a.date.date() == day]
        prev_path = calendar_path(day - timedelta(days=1)) if day > date.min else None
        next_path = calendar_path(day + timedelta(days=1)) if day < date.max else None
        title = f"Archive: {day.day} {day:%B} {day.year}"
        description = f"Everything {self.outlet.name} published on {day.isoformat()}"
        return self._listing_page(
            path, title, description, shown, (prev_path, next_path), kind="calendar"
        )

    def filtered(self, query: str) -> Page:
        """/latest/ as its filters ask: sorted, viewed and narrowed as the query says, with
        a link for every other choice and to the next page, always, so that the links
        combine into new URLs without end. Unknown parameters are carried along, as many
        CMSs do. Every combination declares /latest/ as its canonical URL."""
        params = parse_qsl(query, keep_blank_values=True)
        given = dict(params)
        choices = {**FILTER_CHOICES, "section": ("all", *self.sections)}
        chosen = {
            name: given[name] if given.get(name) in options else options[0]
            for name, options in choices.items()
        }
        page = _page_number(given.get("page", ""))
        shown = self._sorted(chosen["sort"], chosen["section"])[(page - 1) * PER_PAGE :][:PER_PAGE]
        groups = "".join(
            f'<div class="filters__group"><span>{name.capitalize()}</span> '
            + " ".join(
                f'<a href="{self.href(_latest_with(params, name, option))}">{option}</a>'
                for option in options
                if option != chosen[name]
            )
            + "</div>"
            for name, options in choices.items()
        )
        prev_path = _latest_with(params, "page", str(page - 1)) if page > 1 else None
        next_path = _latest_with(params, "page", str(page + 1))
        return self._listing_page(
            "/latest/",
            "All news" if page == 1 else f"All news - page {page}",
            f"The latest from {self.outlet.name}, filtered",
            shown,
            (prev_path, next_path),
            kind="filtered",
            above=f'<div class="filters view-{chosen["view"]}">{groups}</div>\n',
        )

    def _sorted(self, sort: str, section: str) -> list[Article]:
        """The outlet's articles in one section (or all), in the order `sort` names."""
        articles = [a for a in self.articles if section in ("all", a.section)]
        if sort == "popular":
            ranking = {a.id: n for n, a in enumerate(self.most_read("Today", len(articles)))}
            return sorted(articles, key=lambda a: ranking.get(a.id, len(ranking)))
        if sort == "title":
            return sorted(articles, key=lambda a: a.title)
        return articles

    def not_found(self) -> Page:
        head = Head("Page not found", self.base, description="Page not found", noindex=True)
        main = (
            '<div class="error-page"><h1>Page not found</h1>'
            "<p>Sorry, the page you requested does not exist or has been moved.</p>"
            f'<p><a href="{self.href("/")}">Go to the home page</a></p></div>'
        )
        return Page(self._document(head, self.chrome.frame(main)), kind="not-found")

    # -- machine-readable files ----------------------------------------------------

    def _robots(self) -> str:
        rules = ["User-agent: *", *(f"Disallow: {path}" for path in self.outlet.robots_disallowed)]
        if self.outlet.crawl_delay:
            rules.append(f"Crawl-delay: {self.delays.crawl_delay:g}")
        return (
            "\n".join(rules) + "\n\n"
            f"Sitemap: {self.absolute('/sitemap.xml')}\n"
            f"Sitemap: {self.absolute('/news-sitemap.xml')}\n"
        )

    def _feed_link(self, article: Article) -> str:
        """The article's URL as the feed links it, with tracking parameters if the outlet
        adds them (the guid or id stays the plain URL)."""
        url = self.article_url(article)
        return f"{url}?{TRACKING_QUERY}" if self.outlet.feed_tracking else url

    def _feed(self) -> Page:
        """The 20 newest articles as RSS 2.0 or Atom, whichever the outlet publishes."""
        items = self.articles[:FEED_ITEMS]
        updated = items[0].date if items else datetime(2018, 1, 1, tzinfo=UTC)
        feed_url = self.absolute(self.outlet.feed_path)
        if self.outlet.feed == "rss":
            rss = _root("rss", "atom")
            rss.set("version", "2.0")
            channel = _sub(rss, "channel")
            _sub(channel, "title", self.outlet.name)
            _sub(channel, "link", self.base)
            _sub(channel, "description", f"Latest news from {self.outlet.name}")
            _sub(channel, "language", "en")
            _sub(channel, "lastBuildDate", format_datetime(updated))
            _sub(channel, "atom:link", rel="self", type="application/rss+xml", href=feed_url)
            for article in items:
                item = _sub(channel, "item")
                _sub(item, "title", article.title)
                _sub(item, "link", self._feed_link(article))
                _sub(item, "guid", self.article_url(article), isPermaLink="true")
                _sub(item, "pubDate", format_datetime(article.date))
                _sub(item, "description", summary(article))
                _sub(item, "category", self.outlet.section_name(article.section))
            return Page(_xml(rss), "application/rss+xml; charset=utf-8", kind="feed")
        feed = _root("atom:feed")
        _sub(feed, "atom:title", self.outlet.name)
        _sub(feed, "atom:id", self.base)
        _sub(feed, "atom:link", href=self.base)
        _sub(feed, "atom:link", rel="self", href=feed_url)
        _sub(feed, "atom:updated", updated.isoformat())
        _sub(_sub(feed, "atom:author"), "atom:name", self.outlet.name)
        for article in items:
            entry = _sub(feed, "atom:entry")
            _sub(entry, "atom:title", article.title)
            _sub(entry, "atom:id", self.article_url(article))
            _sub(entry, "atom:link", href=self._feed_link(article))
            _sub(entry, "atom:published", article.date.isoformat())
            _sub(entry, "atom:updated", article.date.isoformat())
            _sub(entry, "atom:summary", summary(article))
        return Page(_xml(feed), "application/atom+xml; charset=utf-8", kind="feed")

    def _sitemap_index(self) -> bytes:
        index = _root("sm:sitemapindex")
        for path in ("/sitemap-articles.xml", "/sitemap-sections.xml"):
            _sub(_sub(index, "sm:sitemap"), "sm:loc", self.absolute(path))
        return _xml(index)

    def _urlset(self, entries: Iterable[tuple[str, datetime | None]]) -> bytes:
        urlset = _root("sm:urlset")
        for url, lastmod in entries:
            entry = _sub(urlset, "sm:url")
            _sub(entry, "sm:loc", url)
            if lastmod:
                _sub(entry, "sm:lastmod", lastmod.isoformat())
        return _xml(urlset)

    def _sitemap_articles(self) -> bytes:
        return self._urlset((self.article_url(a), a.date) for a in self.articles)

    def _sitemap_sections(self) -> bytes:
        newest = {s: next(a.date for a in self.articles if a.section == s) for s in self.sections}
        home = (self.base, self.articles[0].date if self.articles else None)
        return self._urlset([home, *((self.absolute(f"/{s}/"), newest[s]) for s in self.sections)])

    def _news_sitemap(self) -> bytes:
        urlset = _root("sm:urlset", "news")
        for article in self.articles:
            entry = _sub(urlset, "sm:url")
            _sub(entry, "sm:loc", self.article_url(article))
            news = _sub(entry, "news:news")
            publication = _sub(news, "news:publication")
            _sub(publication, "news:name", self.outlet.name)
            _sub(publication, "news:language", "en")
            _sub(news, "news:publication_date", article.date.isoformat())
            _sub(news, "news:title", article.title)
            if article.tags:
                _sub(news, "news:keywords", ", ".join(article.tags))
        return _xml(urlset)


def _page_number(text: str) -> int:
    """A listing's page number from its query parameter: 1 unless a sane positive number."""
    if text.isascii() and text.isdigit() and len(text) < 10:
        return max(int(text), 1)
    return 1


def _latest_with(params: list[tuple[str, str]], name: str, value: str) -> str:
    """/latest/ with one parameter changed in place, or added at the end."""
    changed = [(key, value if key == name else old) for key, old in params]
    if name not in dict(params):
        changed.append((name, value))
    return "/latest/?" + urlencode(changed)


def _qualified(tag: str) -> str:
    """ "atom:title" -> "{http://www.w3.org/2005/Atom}title"; unprefixed tags stay as they are."""
    prefix, _, name = tag.rpartition(":")
    return f"{{{NAMESPACES[prefix]}}}{name}" if prefix else name


def _root(tag: str, *prefixes: str) -> etree._Element:
    """A root element: its own namespace is the default one, `prefixes` are declared too."""
    nsmap: dict[str | None, str] = {prefix: NAMESPACES[prefix] for prefix in prefixes}
    if own := tag.rpartition(":")[0]:
        nsmap[None] = NAMESPACES[own]
    return etree.Element(_qualified(tag), nsmap=nsmap)


def _sub(
    parent: etree._Element, tag: str, text: str | None = None, **attributes: str
) -> etree._Element:
    child = etree.SubElement(parent, _qualified(tag), attributes)
    child.text = text
    return child


def _xml(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


ABOUT_TEXT = (
    "{name} is an independent news organisation publishing news, analysis and opinion "
    "around the clock. Our newsroom follows world affairs, politics, defence, business, "
    "science, culture and sport."
)
CONTACTS_TEXT = (
    "Newsroom: news@example.org. Advertising: ads@example.org. Press office: +1 555 0100."
)


def element(tag: str, css_class: str, content: str) -> str:
    """`<tag class=...>content</tag>`, or nothing at all when there is no content."""
    return f'<{tag} class="{css_class}">{content}</{tag}>' if content else ""


# ---------------------------------------------------------------------------------
# Chrome: one class per outlet.


class Chrome:
    """Page furniture shared by all outlets; subclasses arrange it in their own way.

    The shared pieces ask `tag` and `css` for their element names and classes, so that
    an outlet built of hashed-class <div>s (HashedChrome) reuses them unchanged.
    """

    pager_labels = ("Newer", "Older")
    share_label = "Share"
    most_read_title = "Most read"
    cookie_buttons: tuple[str, ...] = ("Accept",)

    def __init__(self, site: Site) -> None:
        self.site = site
        self.outlet = site.outlet
        self.key = site.outlet.key

    def frame(self, main: str) -> str:
        """The whole <body> around a page's main content."""
        raise NotImplementedError

    def article(self, article: Article) -> str:
        """The main content of an article page: the article and what surrounds it."""
        raise NotImplementedError

    def when(self, date: datetime) -> str:
        return f"{date:%B} {date.day}, {date:%Y} {date:%H:%M}"

    def tag(self, name: str) -> str:
        """The element this outlet writes where HTML has `name`."""
        return name

    def css(self, name: str) -> str:
        """The class attribute this outlet writes for a part named `name`."""
        return name

    def box(self, tag: str, name: str, content: str) -> str:
        """`element` in this outlet's own tags and class names."""
        return element(self.tag(tag), self.css(name), content)

    # -- shared pieces -------------------------------------------------------------

    def paragraphs(self, article: Article, box_after: int = 0, box: str = "") -> str:
        """The body paragraphs, with an optional in-text box after paragraph `box_after`."""
        out = []
        for n, text in enumerate(article.paragraphs, start=1):
            out.append(f"<p>{esc(text)}</p>")
            if box and n == min(box_after, len(article.paragraphs)):
                out.append(box)
        return "\n".join(out)

    def read_also(self, article: Article) -> Article | None:
        """The in-text teaser: the first of the article's related ones (see Site.related)."""
        picks = self.site.related(article, 1)
        return picks[0] if picks else None

    def time_tag(self, date: datetime) -> str:
        return f'<time datetime="{date.isoformat()}">{esc(self.when(date))}</time>'

    def section_link(self, section: str) -> str:
        name = esc(self.outlet.section_name(section))
        return f'<a href="{self.site.href(f"/{section}/")}">{name}</a>'

    def home_link(self, text: str) -> str:
        return f'<a href="{self.site.href("/")}">{text}</a>'

    def headline_list(
        self, articles: Iterable[Article], numbered: bool = False, times: bool = False
    ) -> str:
        tag = "ol" if numbered else "ul"
        items = []
        for article in articles:
            stamp = f"{self.box('span', 'time', f'{article.date:%H:%M}')} " if times else ""
            items.append(f"<li>{stamp}{self.site.link(article)}</li>")
        return f"<{tag}>{''.join(items)}</{tag}>"

    def most_read(self) -> str:
        tabs = "".join(
            self.box("li", "tab is-active" if n == 0 else "tab", tab)
            for n, tab in enumerate(MOST_READ_TABS)
        )
        lists = "".join(
            f'<div class="{self.css("most-read__list")}" data-tab="{tab}">'
            f"{self.headline_list(self.site.most_read(tab, 7), numbered=True)}</div>"
            for tab in MOST_READ_TABS
        )
        heading = f"<{self.tag('h3')}>{self.most_read_title}</{self.tag('h3')}>"
        return self.box("section", "most-read", f"{heading}{self.box('ul', 'tabs', tabs)}{lists}")

    def share(self, article: Article) -> str:
        """Share buttons and the link to the printable copy (disallowed to robots on
        most outlets)."""
        quoted = quote(self.site.article_url(article), safe="")
        print_href = self.site.href("/print" + self.site.paths[article.id])
        return self.box(
            "div",
            "share",
            f"{self.box('span', 'share__label', self.share_label)} "
            f'<a href="https://twitter.com/intent/tweet?url={quoted}" rel="nofollow">Twitter</a> '
            f'<a href="https://www.facebook.com/sharer/sharer.php?u={quoted}" rel="nofollow">'
            "Facebook</a> "
            f'<a class="{self.css("share__print")}" href="{print_href}" rel="nofollow">Print</a>',
        )

    def tag_links(self, article: Article) -> str:
        return "".join(
            f'<li><a href="{self.site.href(f"/tag/{slugify(tag)}/")}">{esc(tag)}</a></li>'
            for tag in article.tags
        )

    def teaser(self, article: Article) -> str:
        return self.box(
            "article",
            "teaser",
            self.box("h2", "teaser__title", self.site.link(article))
            + self.time_tag(article.date)
            + self.box("p", "teaser__summary", esc(summary(article))),
        )

    def pager(self, prev_path: str | None, next_path: str | None) -> str:
        links = [
            f'<a rel="{rel}" href="{self.site.href(path)}">{label}</a>'
            for rel, path, label in zip(
                ("prev", "next"), (prev_path, next_path), self.pager_labels, strict=True
            )
            if path
        ]
        return self.box("nav", "pager", " ".join(links))

    def listing(
        self, heading: str, articles: list[Article], prev_path: str | None, next_path: str | None
    ) -> str:
        teasers = "\n".join(self.teaser(a) for a in articles) or "<p>No articles found.</p>"
        return self.box(
            "section",
            "listing",
            f"{self.box('h1', 'listing__title', esc(heading))}\n"
            f"{teasers}\n{self.pager(prev_path, next_path)}",
        )

    def cookie_banner(self) -> str:
        buttons = " ".join(f'<button type="button">{text}</button>' for text in self.cookie_buttons)
        return (
            f'<div class="{self.css("cookie-banner")}" role="dialog">'
            f"<p>{esc(COOKIE_NOTICES[self.key])}</p>"
            f'<a href="{self.site.href("/about/")}">Learn more</a> {buttons}</div>'
        )

    def search_form(self) -> str:
        return (
            f'<form class="{self.css("search")}" action="{self.site.href("/search")}" method="get">'
            '<input type="search" name="q" placeholder="Search">'
            '<button type="submit">Search</button></form>'
        )

    def footer(self, css_class: str) -> str:
        """About/contacts links, the newsletter form and the copyright line."""
        site = self.site
        footer = self.tag("footer")
        return f"""<{footer} class="{self.css(css_class)}">
<ul class="{self.css("footer-links")}"><li><a href="{site.href("/about/")}">About us</a></li>
<li><a href="{site.href("/contacts/")}">Contacts</a></li>
<li><a href="{site.href(self.outlet.feed_path)}">RSS</a></li>
<li><a href="{site.href("/sitemap.xml")}">Sitemap</a></li></ul>
<form class="{self.css("newsletter")}" action="{self.outlet.elsewhere}/newsletter" method="post">
<label>{esc(NEWSLETTER_PROMPTS[self.key])} <input type="email" name="email"></label>
<button type="submit">Subscribe</button></form>
{self.box("p", "copyright", esc(COPYRIGHTS[self.key]))}
</{footer}>"""

    def elsewhere_links(self, *links: tuple[str, str]) -> str:
        """Links to the outlet's off-web pages (radio, other editions)."""
        return " ".join(
            f'<a href="{self.outlet.elsewhere}{path}">{text}</a>' for path, text in links
        )


class CourierChrome(Chrome):
    """A plain newspaper site: menu, "Trending now", latest headlines, footer."""

    def frame(self, main: str) -> str:
        site = self.site
        menu = "".join(f"<li>{item}</li>" for item in self.menu())
        trending = self.headline_list(site.most_read("Today", 5), numbered=True)
        return f"""<body class="courier">
{self.cookie_banner()}
<header class="site-header">
<a class="logo" href="{site.href("/")}">{esc(self.outlet.name)}</a>
{self.search_form()}
<nav class="main-nav"><ul>{menu}</ul></nav>
</header>
<div class="layout">
<main class="content">
{main}
</main>
<aside class="sidebar">
<section class="trending"><h3>Trending now</h3>{trending}</section>
<div class="ad-slot"><span class="ad-slot__label">Advertisement</span></div>
<section class="latest"><h3>Latest</h3>{self.headline_list(site.latest(8), times=True)}</section>
</aside>
</div>
{self.footer("site-footer")}
</body>"""

    def menu(self) -> list[str]:
        sections = [self.section_link(s) for s in self.site.sections]
        return [self.home_link("Home"), *sections, self.home_link("All news")]

    def article(self, article: Article) -> str:
        byline = (
            f'By <span class="author">{esc(article.author)}</span> · ' if article.author else ""
        )
        return f"""<article class="story">
<header class="story__header">
{element("div", "story__section", self.section_link(article.section))}
<h1 class="story__title">{esc(article.title)}</h1>
{element("p", "story__standfirst", esc(article.subtitle or ""))}
<p class="story__byline">{byline}{self.time_tag(article.date)}</p>
</header>
<div class="story-body">
{self.paragraphs(article)}
</div>
{element("ul", "story__topics", self.tag_links(article))}
{self.share(article)}
</article>"""


class OrbitChrome(Chrome):
    """A Sputnik-like agency site of <div>s: radio, short URLs, READ MORE lines, comments."""

    pager_labels = ("Previous page", "Next page")

    def when(self, date: datetime) -> str:
        utc = date.astimezone(UTC)
        return f"{utc:%H:%M} GMT {utc:%d.%m.%Y}"

    def frame(self, main: str) -> str:
        site = self.site
        nav = "".join(
            element("div", "b-nav__item", link)
            for link in [self.home_link("All news"), *map(self.section_link, site.sections)]
        )
        languages = self.elsewhere_links(
            ("/de/", "Deutsch"), ("/fr/", "Français"), ("/es/", "Español"), ("/ru/", "Русский")
        )
        clock = self.when(site.articles[0].date) if site.articles else ""
        feed = "".join(
            f'<div class="b-feed__item"><span class="b-feed__time">{a.date:%H:%M}</span>'
            f"{site.link(a)}</div>"
            for a in site.latest(8)
        )
        return f"""<body>
<div class="b-cookies"><div class="b-cookies__text">{esc(COOKIE_NOTICES[self.key])}</div>
<div class="b-cookies__close">OK</div></div>
<div class="l-page">
<div class="b-header">
<div class="b-header__logo">{self.home_link(esc(self.outlet.name))}</div>
<div class="b-header__clock">{esc(clock)}</div>
<div class="b-header__radio">{self.elsewhere_links(("/radio/", "Listen Live"))}</div>
<div class="b-header__lang">{languages}</div>
{self.search_form()}
<div class="b-nav">{nav}</div>
</div>
<div class="l-content">
<div class="l-main">
{main}
</div>
<div class="l-sidebar">
<div class="b-feed"><div class="b-feed__title">Latest</div>{feed}</div>
<div class="b-banner"><div class="b-banner__label">Advertisement</div></div>
{self.most_read()}
</div>
</div>
{self.footer("b-footer")}
</div>
</body>"""

    def article(self, article: Article) -> str:
        site = self.site
        other = self.read_also(article)
        read_more = f"<p><strong>READ MORE: {site.link(other)}</strong></p>" if other else ""
        related = "".join(
            element("div", "b-related__item", site.link(a)) for a in site.related(article, 3)
        )
        short_id = hashlib.sha256(article.id.encode()).hexdigest()[:6]
        return f"""<div class="b-article">
<div class="b-article__header">
{element("div", "b-article__refs", self.section_link(article.section))}
<div class="b-article__info">{self.time_tag(article.date)}
<div class="b-article__short" data-url="{self.outlet.elsewhere}/x/{short_id}">Get short URL</div>
</div>
<h1 class="b-article__title">{esc(article.title)}</h1>
{self.share(article)}
</div>
{element("div", "b-article__lead", esc(article.subtitle or ""))}
<div class="b-article__text">
{self.paragraphs(article, 3, read_more)}
</div>
{element("div", "b-related", related)}
{element("div", "b-article__tags", element("ul", "b-tags", self.tag_links(article)))}
<div class="b-comments">
<div class="b-comments__header"><a href="{site.href("/about/")}">Community standards</a>
<div class="b-comments__title">Discussion</div></div>
<div class="b-comments__body">To participate in the discussion log in or register.</div>
</div>
</div>"""


class NorthwireChrome(Chrome):
    """A TASS-like agency site (seed 002): news feed panel, galleries, other media, ads."""

    pager_labels = ("Previous page", "Next page")

    def when(self, date: datetime) -> str:
        offset = date.utcoffset()
        hours, minutes = divmod(int(offset.total_seconds() // 60) if offset else 0, 60)
        zone = f"UTC{hours:+d}" + (f":{minutes:02d}" if minutes else "")
        return f"{date:%B} {date.day}, {date:%Y}, {date.hour}:{date:%M} {zone}"

    def frame(self, main: str) -> str:
        site = self.site
        menu = "".join(f"<li>{self.section_link(s)}</li>" for s in site.sections)
        gallery = "".join(
            f'<figure class="gallery-card"><span class="gallery-card__count">{count}</span>'
            f"<figcaption>{esc(caption)}</figcaption></figure>"
            for count, caption in GALLERIES[self.key]
        )
        infographics = "".join(f"<li>{esc(title)}</li>" for title in INFOGRAPHICS[self.key])
        more = (
            f'<a class="news-feed__more" href="{site.href("/page/2/")}">More news</a>'
            if len(site.articles) > PER_PAGE
            else ""
        )
        filter_hint = "You can filter your feed, by choosing only interesting sections."
        return f"""<body>
<div class="cookie-notice"><p>{esc(COOKIE_NOTICES[self.key])}</p>
<button type="button">OK</button></div>
<header class="header">
<div class="header__logo">{self.home_link(esc(self.outlet.name))}</div>
<nav class="menu"><ul>{menu}
<li>{self.elsewhere_links(("/press-review", "Press Review"))}</li></ul></nav>
<div class="header__tools">
<button class="city-select" type="button">Select the city</button>
{self.elsewhere_links(("/currency", "Currency converter"), ("/ru/", "Русский"))}
{self.search_form()}
</div>
</header>
<div class="layout">
<aside class="news-feed">
<div class="news-feed__tabs"><span>Sections</span> {self.home_link("All news")}
<a href="{site.href("/latest/?sort=date&view=list")}">News Feed</a></div>
<div class="news-feed__filter"><button type="button">Use filter</button><p>{filter_hint}</p></div>
{self.headline_list(site.latest(8), times=True)}
{more}
</aside>
<main class="main">
{main}
</main>
<aside class="sidebar">
<div class="banner"><span>Реклама</span></div>
<section class="photo"><h3>Photo</h3>{gallery}</section>
<section class="infographics"><h3>Infographics</h3><ul>{infographics}</ul></section>
{self.most_read()}
<section class="top-stories"><h3>TOP STORIES</h3>{self.headline_list(site.latest(3))}</section>
<section class="partner-news"><h3>Partner News</h3>
<div class="banner"><span>Реклама</span></div></section>
</aside>
</div>
{self.footer("footer")}
</body>"""

    def article(self, article: Article) -> str:
        site = self.site
        other = self.read_also(article)
        read_also = (
            '<div class="read-also"><span class="read-also__title">Read also</span>'
            f"{site.link(other)}</div>"
            if other
            else ""
        )
        other_media = "".join(
            f'<li><a href="{attr(site.article_url(a))}">{esc(a.title)}</a> '
            f"<span>{esc(OUTLETS[a.outlet].name)}</span></li>"
            for a in site.other_media(article)
        )
        return f"""<article class="news">
<header class="news-header">
{element("div", "news-header__section", self.section_link(article.section))}
{self.time_tag(article.date)}
<h1 class="news-header__title">{esc(article.title)}</h1>
{element("div", "news-header__lead", esc(article.subtitle or ""))}
{element("span", "news-header__author", esc(article.author or ""))}
{self.share(article)}
</header>
<div class="text-content">
{self.paragraphs(article, 2, read_also)}
</div>
<footer class="news-footer">{element("ul", "tags", self.tag_links(article))}</footer>
</article>
<section class="other-media"><h3>In other media</h3><ul>{other_media}</ul></section>
<div class="banner"><span>Реклама</span></div>"""


class CrescentChrome(Chrome):
    """A PressTV-like broadcaster site: headline first, tags, "Related News", sidebar."""

    def when(self, date: datetime) -> str:
        return f"{date:%a %b %d, %Y %I:%M%p}"

    def frame(self, main: str) -> str:
        site = self.site
        sections = "".join(f"<li>{self.section_link(s)}</li>" for s in site.sections)
        elsewhere = self.elsewhere_links(
            ("/es/", "Español"), ("/fr/", "Français"), ("/live/", "Live TV")
        )
        return f"""<body class="crescent">
<header class="header">
{self.cookie_banner()}
<div class="header__brand">{self.home_link(esc(self.outlet.name))}
<div class="header__lang">{elsewhere}</div></div>
<nav class="nav"><ul><li>{self.home_link("Home")}</li>{sections}
<li>{self.home_link("All news")}</li></ul></nav>
{self.search_form()}
</header>
<div class="page">
<main class="page__main">
{main}
</main>
<aside class="page__aside">
<section class="latest"><h3>Latest</h3>{self.headline_list(site.latest(8), times=True)}</section>
<div class="ad"><span>Advertisement</span></div>
{self.most_read()}
</aside>
</div>
{self.footer("footer")}
</body>"""

    def article(self, article: Article) -> str:
        tags = self.tag_links(article)
        related = self.headline_list(self.site.related(article, 3))
        return f"""<article class="article">
<h1 class="article__title">{esc(article.title)}</h1>
<div class="article__meta">{self.time_tag(article.date)}
{element("span", "article__author", esc(article.author or ""))}</div>
{element("p", "article__lead", esc(article.subtitle or ""))}
{self.share(article)}
<div class="article__text">
{self.paragraphs(article)}
</div>
{element("div", "article__tags", f"<h3>Tags</h3><ul>{tags}</ul>" if tags else "")}
</article>
<section class="related-news"><h3>Related News</h3>{related}</section>"""


class HashedChrome(Chrome):
    """Markup of a site built from CSS-module components: <div>s where HTML has landmarks
    (<article>, <nav>, <main>, ...), and class names hashed per outlet, so that neither
    tags nor classes tell an extractor what is article and what is chrome."""

    div_tags = SEMANTIC_TAGS

    def tag(self, name: str) -> str:
        return "div" if name in self.div_tags else name

    def css(self, name: str) -> str:
        return hashed_class(self.key, name)

    def time_tag(self, date: datetime) -> str:
        return self.box("span", "timestamp", esc(self.when(date)))

    def rail(self) -> str:
        """The sidebar: most read, photo galleries and infographics."""
        galleries = "".join(
            self.box(
                "div",
                "gallery",
                self.box("div", "gallery__count", f"{count} photos")
                + self.box("div", "gallery__caption", esc(caption)),
            )
            for count, caption in GALLERIES[self.key]
        )
        graphics = "".join(
            self.box("div", "graphic", esc(title)) for title in INFOGRAPHICS[self.key]
        )
        return "\n".join(
            (
                self.most_read(),
                self.box("div", "galleries", galleries),
                self.box("div", "graphics", graphics),
            )
        )

    def photo(self) -> str:
        """The lead photo heading an article's text, with its credit line."""
        return self.box(
            "div",
            "lead-photo",
            f'<img src="{self.outlet.elsewhere}/images/lead.jpg" alt="">'
            + self.box("div", "lead-photo__credit", esc(PHOTO_CREDITS[self.key])),
        )

    def read_also_box(self, article: Article) -> str:
        """The "Read also: <headline>" line set inside the text, one headline per page."""
        other = self.read_also(article)
        label = self.box("span", "read-also__label", "Read also:")
        return self.box("div", "read-also", f"{label} {self.site.link(other)}") if other else ""


class MeridianChrome(HashedChrome):
    """A BBC-like site built of components: consent banner, a menu with an "Archive"
    calendar, an in-text photo credit and "Read also:" line, a popular rail."""

    pager_labels = ("Previous", "Next")
    share_label = "Share this article"
    most_read_title = "Most popular"
    cookie_buttons = ("Accept all", "Manage preferences")

    def when(self, date: datetime) -> str:
        return f"{date.day} {date:%B %Y}"

    def frame(self, main: str) -> str:
        site = self.site
        archive = f'<a href="{site.href(site.archive_path())}">Archive</a>'
        podcasts = self.elsewhere_links(("/podcasts/", "Meridian Podcasts"))
        menu = "".join(
            self.box("div", "menu__item", link)
            for link in [
                self.home_link("Home"),
                *map(self.section_link, site.sections),
                archive,
                podcasts,
            ]
        )
        disclaimer = "Meridian Post is not responsible for the content of external sites."
        return f"""<body>
<div id="root">
{self.cookie_banner()}
<div class="{self.css("masthead")}">
{self.box("div", "masthead__logo", self.home_link(esc(self.outlet.name)))}
{self.search_form()}
{self.box("div", "menu", menu)}
</div>
<div class="{self.css("columns")}">
{self.box("div", "primary", main)}
{self.box("div", "rail", self.rail())}
</div>
{self.footer("site-footer")}
{self.box("div", "disclaimer", disclaimer)}
</div>
</body>"""

    def article(self, article: Article) -> str:
        site = self.site
        day = article.date.date()
        dated = f'<a href="{site.href(calendar_path(day))}">{self.time_tag(article.date)}</a>'
        author = self.box("span", "byline__author", esc(article.author or ""))
        more = self.headline_list(site.related(article, 3))
        return f"""<div class="{self.css("story")}">
{self.box("div", "crumbs", self.section_link(article.section))}
{self.box("h1", "headline", esc(article.title))}
{self.box("div", "standfirst", esc(article.subtitle or ""))}
{self.box("div", "byline", f"{author} {dated}")}
{self.share(article)}
<div class="{self.css("story-body")}">
{self.photo()}
{self.paragraphs(article, 2, self.read_also_box(article))}
</div>
{self.box("div", "topics", self.box("ul", "topics__list", self.tag_links(article)))}
{self.box("div", "more", f"<h2>More on this story</h2>{more}")}
</div>"""


class LedgerChrome(HashedChrome):
    """An Asian daily on an old Java CMS, rebuilt in components: no landmarks, no
    headings either, no Open Graph or JSON-LD; a session id on every link."""

    div_tags = SEMANTIC_TAGS | {"h1", "h2", "h3"}
    pager_labels = ("« Newer stories", "Older stories »")
    share_label = "Share this story"
    most_read_title = "Most Viewed"

    def when(self, date: datetime) -> str:
        return f"{date:%d %b %Y}, {date:%H:%M}"

    def frame(self, main: str) -> str:
        site = self.site
        menu = "".join(
            self.box("div", "nav__item", link)
            for link in [self.home_link("Top"), *map(self.section_link, site.sections)]
        )
        paper = self.elsewhere_links(("/epaper/", "Today's Paper"), ("/subscribe/", "Subscribe"))
        return f"""<body>
<div class="{self.css("wrapper")}">
{self.cookie_banner()}
<div class="{self.css("topbar")}">{paper} {self.search_form()}</div>
{self.box("div", "brand", self.home_link(esc(self.outlet.name)))}
{self.box("div", "nav", menu)}
<div class="{self.css("body")}">
{self.box("div", "col-main", main)}
{self.box("div", "col-side", self.rail())}
</div>
{self.footer("footer")}
</div>
</body>"""

    def article(self, article: Article) -> str:
        site = self.site
        byline = esc(f"By {article.author} | ") if article.author else ""
        related = self.headline_list(site.related(article, 4))
        return f"""<div class="{self.css("story")}">
{self.box("div", "kicker", self.section_link(article.section))}
{self.box("h1", "headline", esc(article.title))}
{self.box("div", "deck", esc(article.subtitle or ""))}
{self.box("div", "byline", f"{byline}{self.time_tag(article.date)}")}
{self.share(article)}
<div class="{self.css("story-text")}">
{self.photo()}
{self.paragraphs(article, 3, self.read_also_box(article))}
</div>
{self.box("div", "tags", self.box("ul", "tags__list", self.tag_links(article)))}
{self.box("div", "related", f"<div>Related stories</div>{related}")}
{self.box("div", "comments", "Comments are closed for this story.")}
</div>"""


CHROMES: dict[str, type[Chrome]] = {
    "courier": CourierChrome,
    "orbit": OrbitChrome,
    "northwire": NorthwireChrome,
    "crescent": CrescentChrome,
    "meridian": MeridianChrome,
    "ledger": LedgerChrome,
}

"""The outlets of the news web and the articles they publish.

Everything here is plain data: which outlets exist, where they listen, how each
one shapes its article URLs, and the article records loaded from TOML. The
renderer and the server build on it; tests and the crawler use it as ground
truth.

The web is meant to be as hard to crawl and to extract as the real one, so each
hard case a real news web has is on at least one outlet, as an `Outlet` switch (O),
in the outlet's Chrome class in render.py (C), or as article data in articles.toml
(A):

    outlet     ip         hard cases
    courier    127.0.0.2  printable: /print/ copies linked and open to robots (O)
    orbit      127.0.0.3  AMP copies (O); tracking parameters on feed links (O);
                          a story article that answers 500 to its first GET (A: quirks)
    northwire  127.0.0.4  absolute internal links (O); an endlessly filterable
                          /latest/ listing, ?sort=&view=&section=&page= (O)
    crescent   127.0.0.5  a Crawl-delay in robots.txt (O); a story article moved
                          from an old URL that 301s and is still linked (A: old_path)
    meridian   127.0.0.6  hashed-class <div> markup (C) with Open Graph tags (O);
                          printable (O); an endless /archive/YYYY/MM/DD/ calendar (O);
                          tracking parameters on feed links (O); a story article
                          served in windows-1252 (A: quirks); an old URL (A: old_path)
    ledger     127.0.0.7  hashed-class <div> markup without even <h1> (C); no Open
                          Graph, no JSON-LD (O); AMP copies (O); ;jsessionid= on
                          every internal link, new in every response (O); a
                          verbatim copy of a Northwire story a day later
                          (A: syndicated_from); a story article that answers
                          late (A: quirks)

Every outlet also has print copies at /print/<path>, linked from its article
pages and canonical to the article; robots.txt disallows them except where the
outlet is printable.

Neighbour articles (hard negatives) on every outlet name the story's people and
systems (Lavrov, Onodera, Aegis, THAAD, the Kuril Islands, North Korean missiles)
in a different story.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import re
import tomllib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

SECTIONS: dict[str, tuple[str, str]] = {
    # key: (short name used in most menus, long name used by the agency-style outlet)
    "world": ("World", "World"),
    "military": ("Military", "Military & Defense"),
    "politics": ("Politics", "Politics & Diplomacy"),
    "business": ("Business", "Business & Economy"),
    "sport": ("Sport", "Sport"),
    "science": ("Science", "Science & Space"),
    "culture": ("Culture", "Society & Culture"),
}
LABELS = ("story", "neighbour", "unrelated")
REQUIRED_KEYS = ("id", "outlet", "section", "label", "title", "date", "body")
OPTIONAL_KEYS = ("subtitle", "author", "tags", "related", "old_path", "syndicated_from", "quirks")
#: What a syndicated copy takes from its original, and so must not say itself.
SYNDICATED_KEYS = ("title", "subtitle", "body")
#: Per-article misbehaviour of the server, as named in articles.toml `quirks`.
QUIRKS = {
    "fails-once": "the first GET of the page (per server lifetime) answers 500",
    "slow": "the page answers late (Delays.slow_page seconds)",
    "windows-1252": "the page is encoded in windows-1252, declared in header and <meta>",
}


@dataclass(frozen=True)
class Delays:
    """How long the web keeps a crawler waiting. The defaults are a real site's, and the
    demo and the benchmarks run with them; tests lower them, since what a crawler does with
    a Crawl-delay or a slow page does not depend on how many seconds they are."""

    crawl_delay: float = 1.0  # seconds, in the robots.txt of the outlets that ask for one
    slow_page: float = 3.0  # seconds before the slow article answers


REAL_DELAYS = Delays()


@dataclass(frozen=True)
class Outlet:
    """One fake news site and the switches that make it look unlike the others."""

    key: str
    name: str
    ip: str
    feed: Literal["rss", "atom"]
    chunked: bool = False  # HTML sent with Transfer-Encoding: chunked, not Content-Length
    json_ld: bool = False  # article pages carry a schema.org NewsArticle block
    name_first: bool = False  # <title> is "Name - Headline" rather than "Headline | Name"
    long_section_names: bool = False  # menus say "Military & Defense", not "Military"
    absolute_links: bool = False  # internal links written as absolute URLs, as some CMSs do
    og_tags: bool = True  # Open Graph and article: <meta> tags in <head>
    printable: bool = False  # robots.txt leaves the linked /print/ copies open to crawlers
    amp: bool = False  # /amp/<path> copies, announced by <link rel="amphtml">
    calendar: bool = False  # /archive/YYYY/MM/DD/ pages, each linking the days either side
    session_ids: bool = False  # internal links carry ;jsessionid=, new on every response
    feed_tracking: bool = False  # feed links carry ?utm_source=rss&utm_medium=feed
    filters: bool = False  # /latest/ takes sort, view, section and page, without end
    crawl_delay: bool = False  # robots.txt asks for a Crawl-delay (Delays.crawl_delay)

    @property
    def feed_path(self) -> str:
        return "/rss.xml" if self.feed == "rss" else "/feed.atom"

    @property
    def robots_disallowed(self) -> tuple[str, ...]:
        """The path prefixes robots.txt disallows, as written there."""
        return ("/search",) if self.printable else ("/print/", "/search")

    @property
    def elsewhere(self) -> str:
        """The outlet's off-web presence (radio, other languages): never served here."""
        return f"https://www.{self.key}.example"

    def section_name(self, section: str) -> str:
        short, long = SECTIONS[section]
        return long if self.long_section_names else short


OUTLETS: dict[str, Outlet] = {
    outlet.key: outlet
    for outlet in (
        Outlet("courier", "The Daily Courier", "127.0.0.2", feed="rss", printable=True),
        Outlet(
            "orbit",
            "Orbit News",
            "127.0.0.3",
            feed="atom",
            chunked=True,
            amp=True,
            feed_tracking=True,
        ),
        Outlet(
            "northwire",
            "Northwire",
            "127.0.0.4",
            feed="atom",
            json_ld=True,
            long_section_names=True,
            absolute_links=True,
            filters=True,
        ),
        Outlet(
            "crescent",
            "Crescent TV",
            "127.0.0.5",
            feed="rss",
            json_ld=True,
            name_first=True,
            crawl_delay=True,
        ),
        Outlet(
            "meridian",
            "Meridian Post",
            "127.0.0.6",
            feed="rss",
            printable=True,
            calendar=True,
            feed_tracking=True,
        ),
        Outlet(
            "ledger",
            "The Asia Ledger",
            "127.0.0.7",
            feed="atom",
            og_tags=False,
            amp=True,
            session_ids=True,
        ),
    )
}

COOKIE_NOTICES = {
    "courier": "The Daily Courier uses cookies to personalise content and analyse traffic. "
    "By continuing to browse the site you agree to our use of cookies.",
    "orbit": "We use cookies to improve your experience on Orbit News. "
    "By using this website you agree to our cookie policy and privacy policy.",
    "northwire": "Northwire uses cookies. "
    "By continuing to use the website you consent to the processing of cookies.",
    "crescent": "Crescent TV uses cookies for analytics and to improve site functionality. "
    "By staying on this site you accept the cookie policy.",
    "meridian": "Meridian Post and our partners use cookies and similar technologies to "
    "measure audiences and show you personalised content and ads.",
    "ledger": "The Asia Ledger uses cookies to give you the best experience. "
    "Read our privacy policy to find out more.",
}
COPYRIGHTS = {
    "courier": "© 2018 The Daily Courier. All rights reserved.",
    "orbit": "© 2018 Orbit News. All rights reserved. "
    "Materials may be reproduced with a hyperlink to Orbit News.",
    "northwire": "© 2018 Northwire News Agency. "
    "Use of materials is only possible with a link to the source.",
    "crescent": "© 2018 Crescent TV. All Rights Reserved.",
    "meridian": "Copyright © 2018 Meridian Post Media Ltd. Registered in England and Wales.",
    "ledger": "© The Asia Ledger 2018. No reproduction without written permission.",
}
NEWSLETTER_PROMPTS = {
    "courier": "Sign up for The Morning Courier, our daily newsletter",
    "orbit": "Subscribe to the Orbit News daily digest",
    "northwire": "Subscribe to Northwire top stories by email",
    "crescent": "Get the Crescent TV headlines in your inbox",
    "meridian": "The Meridian Briefing: the day's essential stories before breakfast",
    "ledger": "Get The Asia Ledger morning edition delivered to your inbox",
}

# Photo galleries (photo count, caption) and infographic titles in the sidebars. The
# agency-style outlet's are taken from the TASS page in seed 002; on the two newer
# outlets some titles share the story's vocabulary, as a real sidebar's do.
GALLERIES: dict[str, tuple[tuple[int, str], ...]] = {
    "northwire": (
        (10, "The Triumphant T-34: The legendary Soviet tank that crushed the Nazis"),
        (8, "The most unique Mil helicopters"),
        (15, "Two years of Russian Aerospace Forces in Syria"),
    ),
    "meridian": (
        (24, "In pictures: Lunar New Year celebrations across Asia"),
        (18, "In pictures: Storm Eleanor batters western Europe"),
        (12, "In pictures: The world's most remote lighthouses"),
    ),
    "ledger": (
        (30, "Photos: Sapporo Snow Festival draws record crowds"),
        (16, "Photos: Cherry blossoms in full bloom across Tokyo"),
        (21, "Photos: Rescuers search collapsed buildings in Hualien"),
    ),
}
INFOGRAPHICS: dict[str, tuple[str, ...]] = {
    "northwire": (
        "Russia's gas pipelines to Europe by 2018",
        "Russia\u2019s state defense order in 2015",
        "Chinese Lunar Exploration Program",
        "Russia\u2019s Angara A5 heavy-load space carrier rocket",
    ),
    "meridian": (
        "Graphic: How far can North Korea's missiles reach?",
        "Graphic: The world's biggest military spenders",
    ),
    "ledger": (
        "Infographic: Japan's layered missile defence explained",
        "Infographic: Asia's fastest-ageing societies",
    ),
}
#: The credit line of the photo heading every article of the two newer outlets: a
#: caption inside the article body, which an extractor has to drop all the same.
PHOTO_CREDITS = {
    "meridian": "Image copyright: Meridian Post picture desk",
    "ledger": "Photo: The Asia Ledger / File",
}

# Strings found on an outlet's article pages outside the article text; an extractor
# that keeps any of them has kept page chrome. Each is asserted by the tests to be on
# the page and (for the packaged articles) never inside an article.
CHROME_STRINGS: dict[str, list[str]] = {
    "courier": [
        "Trending now",
        "Advertisement",
        NEWSLETTER_PROMPTS["courier"],
        COOKIE_NOTICES["courier"],
        COPYRIGHTS["courier"],
    ],
    "orbit": [
        "Listen Live",
        "Get short URL",
        "READ MORE:",
        "Most read",
        "Community standards",
        "Discussion",
        "To participate in the discussion",
        NEWSLETTER_PROMPTS["orbit"],
        COOKIE_NOTICES["orbit"],
        COPYRIGHTS["orbit"],
    ],
    "northwire": [
        "Select the city",
        "Currency converter",
        "Press Review",
        "You can filter your feed, by choosing only interesting sections.",
        "Read also",
        "In other media",
        "Реклама",
        "Partner News",
        "TOP STORIES",
        "Most read",
        "Infographics",
        *(caption for _, caption in GALLERIES["northwire"]),
        *INFOGRAPHICS["northwire"],
        NEWSLETTER_PROMPTS["northwire"],
        COOKIE_NOTICES["northwire"],
        COPYRIGHTS["northwire"],
    ],
    "crescent": [
        "Related News",
        "Most read",
        "Advertisement",
        NEWSLETTER_PROMPTS["crescent"],
        COOKIE_NOTICES["crescent"],
        COPYRIGHTS["crescent"],
    ],
    "meridian": [
        "Read also:",
        "Most popular",
        "Share this article",
        "Accept all",
        "Manage preferences",
        "Meridian Podcasts",
        "Meridian Post is not responsible for the content of external sites.",
        PHOTO_CREDITS["meridian"],
        *(caption for _, caption in GALLERIES["meridian"]),
        *INFOGRAPHICS["meridian"],
        NEWSLETTER_PROMPTS["meridian"],
        COOKIE_NOTICES["meridian"],
        COPYRIGHTS["meridian"],
    ],
    "ledger": [
        "Read also:",
        "Most Viewed",
        "Share this story",
        "Today's Paper",
        "Comments are closed for this story.",
        PHOTO_CREDITS["ledger"],
        *(caption for _, caption in GALLERIES["ledger"]),
        *INFOGRAPHICS["ledger"],
        NEWSLETTER_PROMPTS["ledger"],
        COOKIE_NOTICES["ledger"],
        COPYRIGHTS["ledger"],
    ],
}


@dataclass(frozen=True)
class Article:
    """One article as written in articles.toml; `label` is ground truth for tests only."""

    id: str
    outlet: str
    section: str
    label: str
    title: str
    date: datetime
    body: str
    subtitle: str | None = None
    author: str | None = None
    tags: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    updated: datetime | None = None  # when the article was last changed, if ever
    old_path: str | None = None  # its former path: 301s to it, and the outlet still links there
    syndicated_from: str | None = None  # id of the article whose text this one republishes
    quirks: frozenset[str] = frozenset()  # server misbehaviour on its page, see QUIRKS

    @property
    def version(self) -> str:
        """A digest of what the article says: its validator (ETag), which page chrome such
        as the latest-headlines sidebar does not change, as a CMS computes it."""
        text = "\x00".join((self.title, self.subtitle or "", self.body, self.date.isoformat()))
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    @property
    def paragraphs(self) -> list[str]:
        """Body paragraphs, each with its line breaks and runs of spaces collapsed."""
        blocks = re.split(r"\n\s*\n", self.body.strip())
        return [" ".join(block.split()) for block in blocks if block.strip()]


def load_articles(path: str | os.PathLike[str] | None = None) -> list[Article]:
    """Read and validate articles from TOML (default: the packaged articles.toml).

    Validation is strict so that a typo in the hand-written data fails loudly here
    rather than as a puzzling page or a missing link later.
    """
    if path is None:
        text = importlib.resources.files(__package__).joinpath("articles.toml").read_text("utf-8")
    else:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    records = tomllib.loads(text).get("article", [])
    by_id = {record.get("id"): record for record in records}
    articles = [_article(_with_syndicated_text(record, by_id)) for record in records]
    _check_references(articles)
    return articles


def _with_syndicated_text(
    record: dict[str, Any], by_id: dict[Any, dict[str, Any]]
) -> dict[str, Any]:
    """A syndicated copy's record completed with its original's title and text, which
    the data file does not repeat so that the copy stays verbatim."""
    if "syndicated_from" not in record:
        return record
    where = f"article {record.get('id', '?')!r}"
    if given := set(SYNDICATED_KEYS) & set(record):
        raise ValueError(f"{where}: a syndicated copy takes {sorted(given)} from its original")
    if (original := by_id.get(record["syndicated_from"])) is None:
        raise ValueError(f"{where}: syndicated_from names no article")
    return record | {key: original[key] for key in SYNDICATED_KEYS if key in original}


def _article(record: dict[str, Any]) -> Article:
    where = f"article {record.get('id', '?')!r}"
    if unknown := set(record) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS):
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    if missing := set(REQUIRED_KEYS) - set(record):
        raise ValueError(f"{where}: missing keys {sorted(missing)}")
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", record["id"]):
        raise ValueError(f"{where}: id must be a lowercase, hyphenated slug")
    for key, allowed in (("outlet", OUTLETS), ("section", SECTIONS), ("label", LABELS)):
        if record[key] not in allowed:
            raise ValueError(f"{where}: {key} must be one of {list(allowed)}")
    for key in ("tags", "related", "quirks"):
        if not all(isinstance(item, str) for item in record.get(key, [])):
            raise ValueError(f"{where}: {key} must be a list of strings")
    if unknown_quirks := set(record.get("quirks", ())) - set(QUIRKS):
        raise ValueError(f"{where}: unknown quirks {sorted(unknown_quirks)}, not in {list(QUIRKS)}")
    if "old_path" in record and not re.fullmatch(r"(/[\w.-]+)+/?", record["old_path"]):
        raise ValueError(f"{where}: old_path must be a plain absolute path")
    date = record["date"]
    if not isinstance(date, datetime) or date.utcoffset() is None:
        raise ValueError(f"{where}: date must be a TOML datetime with a UTC offset")
    return Article(
        id=record["id"],
        outlet=record["outlet"],
        section=record["section"],
        label=record["label"],
        title=record["title"],
        date=date,
        body=record["body"],
        subtitle=record.get("subtitle"),
        author=record.get("author"),
        tags=tuple(record.get("tags", ())),
        related=tuple(record.get("related", ())),
        updated=record.get("updated"),
        old_path=record.get("old_path"),
        syndicated_from=record.get("syndicated_from"),
        quirks=frozenset(record.get("quirks", ())),
    )


def _check_references(articles: list[Article]) -> None:
    by_id: dict[str, Article] = {}
    for article in articles:
        if article.id in by_id:
            raise ValueError(f"article {article.id!r}: id used twice")
        by_id[article.id] = article
    old_paths: set[tuple[str, str]] = set()
    for article in articles:
        for other in article.related:
            if other not in by_id or by_id[other].outlet != article.outlet or other == article.id:
                problem = f"related {other!r} is not another article of its outlet"
                raise ValueError(f"article {article.id!r}: {problem}")
        if article.old_path:
            if (article.outlet, article.old_path) in old_paths:
                raise ValueError(f"article {article.id!r}: old_path used twice on its outlet")
            old_paths.add((article.outlet, article.old_path))
        if article.syndicated_from and (problem := _syndication_problem(article, by_id)):
            raise ValueError(f"article {article.id!r}: {problem}")


def _syndication_problem(copy: Article, by_id: dict[str, Article]) -> str | None:
    """Why a syndicated copy is not a later, other outlet's copy of a story original."""
    original = by_id[copy.syndicated_from or ""]
    if original.outlet == copy.outlet or original.syndicated_from:
        return "syndicated_from must name an original of another outlet"
    if original.label != copy.label:
        return "a syndicated copy has the label of its original"
    if copy.date <= original.date:
        return "a syndicated copy is published after its original"
    return None


def slugify(text: str) -> str:
    """Lowercase ASCII slug, as used for tag pages and agency-style section paths."""
    return "-".join(_words(text.replace("&", " and "))).lower()


def article_path(article: Article) -> str:
    """The article's path on its outlet, shaped like that outlet's real counterpart."""
    return _PATH_SHAPES[article.outlet](article)


def _words(text: str) -> list[str]:
    without_apostrophes = re.sub("['\u2019]", "", text)
    ascii_text = (
        unicodedata.normalize("NFKD", without_apostrophes).encode("ascii", "ignore").decode()
    )
    return re.findall(r"[A-Za-z0-9]+", ascii_text)


def _number(article: Article, digits: int) -> int:
    """A number of `digits` digits fixed by the article id (not by Python's salted hash)."""
    digest = hashlib.sha256(f"{article.outlet}/{article.id}".encode()).digest()
    low = 10 ** (digits - 1)
    return low + int.from_bytes(digest[:8], "big") % (10**digits - low)


def _courier_path(article: Article) -> str:
    return f"/{article.date:%Y/%m/%d}/{article.id}.html"


def _orbit_path(article: Article) -> str:
    return f"/{article.section}/{article.date:%Y%m%d}10{_number(article, 6)}-{article.id}/"


def _northwire_path(article: Article) -> str:
    return f"/{slugify(OUTLETS['northwire'].section_name(article.section))}/{_number(article, 7)}"


def _crescent_path(article: Article) -> str:
    title_slug = "-".join(word[:1].upper() + word[1:] for word in _words(article.title))
    return f"/Detail/{article.date:%Y/%m/%d}/{_number(article, 6)}/{title_slug}"


def _meridian_path(article: Article) -> str:
    return f"/news/{article.section}-{_number(article, 8)}"


def _ledger_path(article: Article) -> str:
    return f"/{article.section}/{article.date:%Y/%m/%d}/{article.id}"


_PATH_SHAPES: dict[str, Callable[[Article], str]] = {
    "courier": _courier_path,
    "orbit": _orbit_path,
    "northwire": _northwire_path,
    "crescent": _crescent_path,
    "meridian": _meridian_path,
    "ledger": _ledger_path,
}

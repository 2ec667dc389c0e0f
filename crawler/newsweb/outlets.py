"""The outlets of the news web and the articles they publish.

Everything here is plain data: which outlets exist, where they listen, how each
one shapes its article URLs, and the article records loaded from TOML. The
renderer and the server build on it; tests and the crawler use it as ground
truth.
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
OPTIONAL_KEYS = ("subtitle", "author", "tags", "related")


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

    @property
    def feed_path(self) -> str:
        return "/rss.xml" if self.feed == "rss" else "/feed.atom"

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
        Outlet("courier", "The Daily Courier", "127.0.0.2", feed="rss"),
        Outlet("orbit", "Orbit News", "127.0.0.3", feed="atom", chunked=True),
        Outlet(
            "northwire",
            "Northwire",
            "127.0.0.4",
            feed="atom",
            json_ld=True,
            long_section_names=True,
            absolute_links=True,
        ),
        Outlet("crescent", "Crescent TV", "127.0.0.5", feed="rss", json_ld=True, name_first=True),
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
}
COPYRIGHTS = {
    "courier": "© 2018 The Daily Courier. All rights reserved.",
    "orbit": "© 2018 Orbit News. All rights reserved. "
    "Materials may be reproduced with a hyperlink to Orbit News.",
    "northwire": "© 2018 Northwire News Agency. "
    "Use of materials is only possible with a link to the source.",
    "crescent": "© 2018 Crescent TV. All Rights Reserved.",
}
NEWSLETTER_PROMPTS = {
    "courier": "Sign up for The Morning Courier, our daily newsletter",
    "orbit": "Subscribe to the Orbit News daily digest",
    "northwire": "Subscribe to Northwire top stories by email",
    "crescent": "Get the Crescent TV headlines in your inbox",
}

# Fixed chrome of the agency-style outlet, taken from the TASS page in seed 002.
GALLERIES = (
    (10, "The Triumphant T-34: The legendary Soviet tank that crushed the Nazis"),
    (8, "The most unique Mil helicopters"),
    (15, "Two years of Russian Aerospace Forces in Syria"),
)
INFOGRAPHICS = (
    "Russia's gas pipelines to Europe by 2018",
    "Russia\u2019s state defense order in 2015",
    "Chinese Lunar Exploration Program",
    "Russia\u2019s Angara A5 heavy-load space carrier rocket",
)

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
        *(caption for _, caption in GALLERIES),
        *INFOGRAPHICS,
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
    articles = [_article(record) for record in tomllib.loads(text).get("article", [])]
    _check_references(articles)
    return articles


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
    for key in ("tags", "related"):
        if not all(isinstance(item, str) for item in record.get(key, [])):
            raise ValueError(f"{where}: {key} must be a list of strings")
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
    )


def _check_references(articles: list[Article]) -> None:
    by_id: dict[str, Article] = {}
    for article in articles:
        if article.id in by_id:
            raise ValueError(f"article {article.id!r}: id used twice")
        by_id[article.id] = article
    for article in articles:
        for other in article.related:
            if other not in by_id or by_id[other].outlet != article.outlet or other == article.id:
                problem = f"related {other!r} is not another article of its outlet"
                raise ValueError(f"article {article.id!r}: {problem}")


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


_PATH_SHAPES: dict[str, Callable[[Article], str]] = {
    "courier": _courier_path,
    "orbit": _orbit_path,
    "northwire": _northwire_path,
    "crescent": _crescent_path,
}

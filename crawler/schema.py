"""What the user may give storycrawl: one schema for the story file's keys (and the crawl
options of the same names) and for the ``-s NAME=VALUE`` settings.

Every value is checked here, once, before anything is fetched or stored: its type, its
range, a date that is not a date and time, a story name that fits the database's column.
A value that breaks a rule is a :class:`SchemaError` whose message is the one line the user
is shown (exit status 2). A leaf module: the commands that answer at once import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

#: The length of ``stories.name`` in the database (archive/db/models.py; a test keeps the
#: two equal): a longer name fails on PostgreSQL mid-crawl.
STORY_NAME_LENGTH = 200
#: The search engines a story may ask (crawler.discovery.search has one source for each).
SEARCH_ENGINES = ("gdelt",)
#: A recrawl interval longer than this is no interval (and overflows a timedelta).
MAX_RECRAWL_AFTER = timedelta(days=3650)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


class SchemaError(ValueError):
    """A value that breaks its rule: the message is the one line the user is shown."""


def parse_duration(text: str) -> timedelta:
    """'6h', '30m', '2d', '1w', '0' (always); SchemaError for anything else."""
    match = _DURATION.match(str(text))
    if not match:
        raise SchemaError(f"{text!r} is not a duration like 6h, 30m, 2d or 0")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds > MAX_RECRAWL_AFTER.total_seconds():
        raise SchemaError(f"{text!r} is longer than {MAX_RECRAWL_AFTER.days} days")
    return timedelta(seconds=seconds)


def http_url_problem(url: str) -> str | None:
    """Why a string is not an http(s) URL a crawl can fetch, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an http(s) URL with a host"
    try:
        parts.port  # noqa: B018  (raises ValueError for a port out of range)
    except ValueError:
        return "has no valid port (1-65535)"
    return None


@dataclass(frozen=True)
class Rule:
    """How one key's value is checked and converted. ``text`` values come from ``-s`` or
    the command line and are parsed; other values come typed from TOML."""

    kind: str  # int, float, bool, text, path, date, duration, url, urls, texts, archives, any
    low: float | None = None
    high: float | None = None
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    optional: bool = False  # None (or "" from -s) stands for "not set"

    def check(self, name: str, value: Any) -> Any:
        if value is None or (self.optional and value == ""):
            if self.optional:
                return None
            raise SchemaError(f"{name} needs a value")
        check = getattr(self, f"_{self.kind}")
        return check(name, value)

    def _bounds(self) -> str:
        def shown(x: float) -> str:
            return str(int(x)) if float(x).is_integer() else str(x)

        if self.low is not None and self.high is not None:
            return f" from {shown(self.low)} to {shown(self.high)}"
        if self.low is not None:
            return f" of at least {shown(self.low)}"
        return "" if self.high is None else f" of at most {shown(self.high)}"

    def _number(self, name: str, value: Any, kind: type, what: str) -> Any:
        problem = SchemaError(f"{name} must be {what}{self._bounds()}, not {value!r}")
        if isinstance(value, str):
            try:
                value = kind(value.strip())
            except ValueError:
                raise problem from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise problem
        if kind is int and not isinstance(value, int):
            raise problem
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise problem
        return kind(value)

    def _int(self, name: str, value: Any) -> int:
        return self._number(name, value, int, "a whole number")

    def _float(self, name: str, value: Any) -> float:
        return self._number(name, value, float, "a number")

    def _bool(self, name: str, value: Any) -> bool:
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        if not isinstance(value, bool):
            raise SchemaError(f"{name} must be true or false, not {value!r}")
        return value

    def _text(self, name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise SchemaError(f"{name} must be a string, not {value!r}")
        if self.max_length is not None and len(value) > self.max_length:
            raise SchemaError(f"{name} is {len(value)} characters long; at most {self.max_length}")
        if self.pattern and not re.fullmatch(self.pattern, value):
            raise SchemaError(f"{name} {value!r} may hold only letters, digits, - and _")
        if self.choices and value not in self.choices:
            raise SchemaError(f"{name}: unknown {value!r} (known: {', '.join(self.choices)})")
        return value

    def _path(self, name: str, value: Any) -> Path:
        if isinstance(value, Path):
            return value
        if not isinstance(value, str) or not value.strip() or "\0" in value:
            raise SchemaError(f"{name} must be a path (a string), not {value!r}")
        return Path(value)

    def _date(self, name: str, value: Any) -> date:
        if isinstance(value, datetime) or (isinstance(value, str) and "T" in value.upper()):
            raise SchemaError(f"{name} must be a date like 2018-01-31, not a time: {value!r}")
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            raise SchemaError(f"{name} must be a date like 2018-01-31, not {value!r}") from None

    def _duration(self, name: str, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise SchemaError(f"{name} must be a duration like 6h, 2d or 0, not {value!r}")
        try:
            parse_duration(str(value))
        except SchemaError as exc:
            raise SchemaError(f"{name}: {exc}") from None
        return str(value)

    def _url(self, name: str, value: Any) -> str:
        url = self._text(name, value)
        if problem := http_url_problem(url):
            raise SchemaError(f"{name}: {url!r} {problem}")
        return url

    def _texts(self, name: str, value: Any) -> tuple[str, ...]:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise SchemaError(f"{name} must be a list of strings, not {value!r}")
        return tuple(self._text(name, item) for item in value)

    def _urls(self, name: str, value: Any) -> tuple[str, ...]:
        return tuple(self._url(name, url) for url in self._texts(name, value))

    def _archives(self, name: str, value: Any) -> tuple[str, ...]:
        """Web archives: "wayback", or the URL of a CDX server."""
        archives = self._texts(name, value)
        for archive in archives:
            if archive != "wayback" and http_url_problem(archive):
                raise SchemaError(f"{name}: {archive!r} is neither wayback nor a CDX server's URL")
        return archives

    def _any(self, name: str, value: Any) -> Any:
        return value


_PAGES = Rule("int", low=1, high=10**9)

#: Every story-file key (and crawl option of the same name).
STORY = {
    "name": Rule("text", max_length=STORY_NAME_LENGTH),
    "seeds": Rule("urls"),
    "sites": Rule("urls"),
    "feeds": Rule("urls"),
    "sitemaps": Rule("urls"),
    "keywords": Rule("texts"),
    "search": Rule("texts", choices=SEARCH_ENGINES),
    "since": Rule("date", optional=True),
    "until": Rule("date", optional=True),
    "max_pages": _PAGES,
    "max_pages_per_site": _PAGES,
    "max_depth": Rule("int", low=1, high=1000),
    "threshold": Rule("float", low=0, high=1, optional=True),
    "data": Rule("path"),
    "db": Rule("text", optional=True),
    "warc_dir": Rule("path", optional=True),
    "allow_private": Rule("bool"),
    "broad": Rule("bool"),
    "no_dedup": Rule("bool"),
    "recrawl_after": Rule("duration"),
    "schedule": Rule("text", optional=True),
    "archives": Rule("archives"),
}

#: Every storycrawl setting (crawler/settings.py; a test keeps the two in step).
SETTINGS = {
    "STORYCRAWL_CONTACT": Rule("text", max_length=500, optional=True),
    "STORYCRAWL_DATA_DIR": Rule("path"),
    "STORYCRAWL_DB": Rule("text", optional=True),
    "STORYCRAWL_WARC_DIR": Rule("path", optional=True),
    "STORYCRAWL_WARC_PREFIX": Rule("text", max_length=100, pattern=r"[A-Za-z0-9_-]+"),
    "STORYCRAWL_WARC_MAX_SIZE": Rule("int", low=1),
    "STORYCRAWL_MAX_DECODED_SIZE": Rule("int", low=1024),
    "STORYCRAWL_DB_BATCH": Rule("int", low=1, high=100_000),
    "STORYCRAWL_EXTRACT_WORKERS": Rule("int", low=0, high=1024),
    "STORYCRAWL_ALLOW_PRIVATE": Rule("bool"),
    "STORYCRAWL_DEDUP": Rule("bool"),
    "STORYCRAWL_EXTRACT": Rule("bool"),
    "STORYCRAWL_REQUISITES": Rule("bool"),
    "STORYCRAWL_PROGRESS": Rule("text", choices=("auto", "live", "lines", "off")),
    "STORYCRAWL_PROGRESS_INTERVAL": Rule("float", low=0.1, high=3600),
    "STORYCRAWL_LOG_FORMAT": Rule("text", choices=("text", "json")),
    "STORYCRAWL_NAMED_SITES": Rule("any"),  # set from the story, not by hand
    "STORYCRAWL_LINK_FLOOR": Rule("float", low=0, high=1),
    "STORYCRAWL_THRESHOLD": Rule("float", low=0, high=1),
    "STORYCRAWL_GDELT_URL": Rule("url"),
    "STORYCRAWL_FRONTIER": Rule("text", optional=True, max_length=2000),
    "STORYCRAWL_REDIS_PREFIX": Rule("text", optional=True, max_length=200),
    "STORYCRAWL_REDIS_LEASE": Rule("float", low=0.1, high=86_400),
}

_SCALARS = {bool: Rule("bool"), int: Rule("int"), float: Rule("float")}


def check_setting(name: str, value: str, default: Any) -> Any:
    """A ``-s NAME=VALUE`` value, checked: storycrawl's by their rule (an unknown
    STORYCRAWL_ name is a typo), Scrapy's by the type of their default (``-s
    CONCURRENT_REQUESTS=abc`` is no number). Returns the value converted."""
    if name.startswith("STORYCRAWL_"):
        if name not in SETTINGS:
            raise SchemaError(f"-s {name}: no such storycrawl setting")
        rule = SETTINGS[name]
    elif (rule := _SCALARS.get(type(default))) is None:
        return value  # text, or a dict or list Scrapy parses itself
    try:
        return rule.check(name, value)
    except SchemaError as exc:
        raise SchemaError(f"-s {exc}") from None

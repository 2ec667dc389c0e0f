"""The story definition: what the user asks storycrawl to follow, from a file and options.

Every crawl option has a story-file key of the same name; the command line wins. Parsing
is strict, because a misspelt key silently ignored would crawl something else than asked.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from archive.urls import is_http_url, site_of

DEFAULT_DATA = Path("storycrawl-data")
#: The search engines a story may ask (crawler.discovery.search has one source for each).
SEARCH_ENGINES = ("gdelt",)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """'6h', '30m', '2d', '1w', '0' (always); ValueError with a message for anything else."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration like 6h, 30m, 2d or 0")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def file_slug(name: str) -> str:
    """A file name stem for a story name: letters, digits, ``-`` and ``_`` only, so that no
    name (``../../x``, ``/etc/cron.d/x``) becomes a path; a name that had to change gets a
    short digest of itself, so two names never share a file."""
    slug = _UNSAFE.sub("-", name).strip("-")[:80]
    if slug == name:
        return slug
    return f"{slug or 'story'}-{hashlib.sha1(name.encode()).hexdigest()[:10]}"


class StoryError(ValueError):
    """Bad input in a story: its message is the one line the user is shown."""


@dataclass(frozen=True)
class StoryDefinition:
    name: str
    seeds: tuple[str, ...]
    sites: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    search: tuple[
        str, ...
    ] = ()  # search engines to ask for coverage (crawler.discovery.search); off
    #: Web archives searched for the outlets' captures in the window, and asked for pages
    #: the live web no longer gives (crawler.discovery.archives): "wayback" or CDX URLs.
    archives: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None
    max_pages: int = 5000
    max_pages_per_site: int = 1000  # one outlet must not eat the whole budget
    max_depth: int = 6
    threshold: float | None = None  # the same-story threshold; None: STORYCRAWL_THRESHOLD
    data: Path = DEFAULT_DATA
    db: str | None = None
    warc_dir: Path | None = None
    allow_private: bool = False
    broad: bool = False
    no_dedup: bool = False
    recrawl_after: str = "1d"  # how old an archived article must be to be fetched again
    schedule: str | None = None  # read by the scheduler; a crawl ignores it

    @property
    def named_sites(self) -> frozenset[str]:
        """Sites the user named (archive.urls.site_of: host and port): the fetch guard lets
        these through even when private; another port of the same host it does not."""
        urls = (*self.seeds, *self.sites, *self.feeds, *self.sitemaps)
        archives = (url for url in self.archives if url != "wayback")
        return frozenset(site_of(url) for url in (*urls, *archives))

    def as_json(self) -> dict:
        """The definition as stored with the story in the database."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None or value == () or value is False:
                continue
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, (date, Path)):
                value = str(value)
            out[f.name] = value
        return out


_LISTS = ("seeds", "sites", "feeds", "sitemaps", "keywords", "search", "archives")
_URL_LISTS = ("seeds", "sites", "feeds", "sitemaps")
_FIELDS = {f.name: f for f in dataclasses.fields(StoryDefinition)}


def load_story_file(path: Path) -> dict[str, Any]:
    """The raw keys of a story file; StoryError for a missing or malformed file."""
    try:
        with open(path, "rb") as stream:
            return tomllib.load(stream)
    except FileNotFoundError:
        raise StoryError(f"story file {str(path)!r} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise StoryError(f"story file {str(path)!r} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise StoryError(f"cannot read story file {str(path)!r}: {exc.strerror}") from None


def build_story(file_keys: dict[str, Any], options: dict[str, Any]) -> StoryDefinition:
    """Merge a story file's keys with command-line options (which win) and validate."""
    merged = dict(file_keys)
    for key, value in options.items():
        if value is None or value == () or value is False:
            continue  # not given on the command line
        merged[key] = value
    unknown = sorted(set(merged) - set(_FIELDS))
    if unknown:
        raise StoryError(f"unknown story key {unknown[0]!r} (known: {', '.join(_FIELDS)})")
    if not merged.get("name"):
        raise StoryError('the story needs a name: --name NAME, or name = "…" in the story file')
    values: dict[str, Any] = {"name": str(merged["name"])}
    for key in _LISTS:
        raw = merged.get(key, ())
        if isinstance(raw, str) or not isinstance(raw, (list, tuple)):
            raise StoryError(f"{key} must be a list of strings, not {raw!r}")
        values[key] = tuple(str(item) for item in raw)
    for key in _URL_LISTS:
        for url in values[key]:
            if not is_http_url(url):
                raise StoryError(f"{key}: {url!r} is not an http(s) URL with a host")
    for name in values["search"]:
        if name not in SEARCH_ENGINES:
            known = ", ".join(SEARCH_ENGINES)
            raise StoryError(f"search: unknown source {name!r} (known: {known})")
    for name in values["archives"]:
        if name != "wayback" and not is_http_url(name):
            raise StoryError(f"archives: {name!r} is neither wayback nor a CDX server's URL")
    if not values["seeds"]:
        raise StoryError("the story needs at least one seed article: --seed URL or seeds = […]")
    for key in ("since", "until"):
        if merged.get(key) is not None:
            values[key] = _date(key, merged[key])
    if values.get("since") and values.get("until") and values["since"] > values["until"]:
        raise StoryError(f"since ({values['since']}) is after until ({values['until']})")
    for key in ("max_pages", "max_pages_per_site", "max_depth"):
        if key in merged:
            value = merged[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise StoryError(f"{key} must be a positive whole number, not {value!r}")
            values[key] = value
    if merged.get("threshold") is not None:
        threshold = merged["threshold"]
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise StoryError(f"threshold must be a number from 0 to 1, not {threshold!r}")
        if not 0 <= threshold <= 1:
            raise StoryError(f"threshold must be from 0 to 1, not {threshold!r}")
        values["threshold"] = float(threshold)
    for key in ("allow_private", "broad", "no_dedup"):
        if key in merged:
            if not isinstance(merged[key], bool):
                raise StoryError(f"{key} must be true or false, not {merged[key]!r}")
            values[key] = merged[key]
    for key in ("data", "warc_dir"):
        if merged.get(key):
            values[key] = Path(merged[key])
    if merged.get("recrawl_after") is not None:
        try:
            parse_duration(str(merged["recrawl_after"]))
        except ValueError as exc:
            raise StoryError(f"recrawl_after: {exc}") from None
        values["recrawl_after"] = str(merged["recrawl_after"])
    for key in ("db", "schedule"):
        if merged.get(key):
            values[key] = str(merged[key])
    return StoryDefinition(**values)


def _date(key: str, value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise StoryError(f"{key} must be a date like 2018-01-31, not {value!r}") from None


def story_from_file(path: Path, **options: Any) -> StoryDefinition:
    return build_story(load_story_file(path), options)

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
from datetime import date
from pathlib import Path
from typing import Any

from archive.urls import site_of
from crawler import schema

DEFAULT_DATA = Path("storycrawl-data")


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def file_slug(name: str) -> str:
    """A file name stem for a story name: letters, digits, ``-`` and ``_`` only, so that no
    name (``../../x``, ``/etc/cron.d/x``) becomes a path; a name that had to change gets a
    short digest of itself, so two names never share a file."""
    slug = _UNSAFE.sub("-", name).strip("-")[:80]
    if slug == name:
        return slug
    return f"{slug or 'story'}-{hashlib.sha1(name.encode()).hexdigest()[:10]}"


class StoryError(schema.SchemaError):
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
    """Merge a story file's keys with command-line options (which win) and validate each
    by its rule (crawler.schema.STORY), then the rules between them."""
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
    values: dict[str, Any] = {}
    for key, value in merged.items():
        try:
            checked = schema.STORY[key].check(key, value)
        except schema.SchemaError as exc:
            raise StoryError(str(exc)) from None
        if checked is not None:
            values[key] = checked
    if not values.get("seeds"):
        raise StoryError("the story needs at least one seed article: --seed URL or seeds = […]")
    if values.get("since") and values.get("until") and values["since"] > values["until"]:
        raise StoryError(f"since ({values['since']}) is after until ({values['until']})")
    return StoryDefinition(**values)


def story_from_file(path: Path, **options: Any) -> StoryDefinition:
    return build_story(load_story_file(path), options)

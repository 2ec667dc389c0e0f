"""Crawler traps and page budgets: the URL spaces that never end.

A site can generate URLs without limit: a calendar whose every day links the next, sort and
filter parameters that combine into ever new listings, relative links that nest a path in
itself, session ids minted per visit. None of these runs out on its own, so each is given a
rule here, checked before a URL is requested. Session ids are not a rule: canonical URLs
drop them (archive.urls). Each rule refuses only what it counts beyond its limit, so an
outlet's first pages of a listing are still fetched.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

from archive.urls import site_of

#: /2018/01/17/ or /2018-01-17/ anywhere in a path, and 20180117 at the start of a segment,
#: as in Sputnik's /military/2018042610318162-moscow-…/ (the date, then an id).
_URL_DATE = re.compile(
    r"(?<!\d)(19\d\d|20\d\d)[/-](0[1-9]|1[0-2])[/-](0[1-9]|[12]\d|3[01])(?!\d)"
    r"|/(19\d\d|20\d\d)(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])"
)
#: A calendar page: a path that is nothing but a date (and perhaps a section before it).
_CALENDAR = re.compile(r"/(19|20)\d\d(/(0[1-9]|1[0-2])(/(0[1-9]|[12]\d|3[01]))?)?/?$")


def url_date(url: str) -> date | None:
    """The date a URL's path carries, as many news CMSs put it there; None without one."""
    match = _URL_DATE.search(urlsplit(url).path)
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups() if part))
    except ValueError:
        return None


def _shape(path: str) -> str:
    return re.sub(r"\d+", "#", path)


@dataclass
class TrapRules:
    """Per-site limits. Counts are of URLs requested in this crawl."""

    #: Pages per site (archive.urls.site_of): a story crawl should not archive one outlet whole.
    max_per_site: int
    #: Distinct query strings per path: ?page=1…25 pass, sort, filter and view combinations stop.
    max_query_variants: int = 25
    #: Calendar pages per site: the story's days, not every day since 1990.
    max_calendar_pages: int = 30
    #: A path segment seen this often in one path is a relative link nesting itself.
    max_segment_repeats: int = 2
    _per_site: Counter[str] = field(default_factory=Counter)
    _queries: defaultdict[tuple[str, str], set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )
    _calendars: Counter[tuple[str, str]] = field(default_factory=Counter)

    def refusal(self, url: str) -> tuple[str, str] | None:
        """(state, rule) when the URL must not be requested, else None; a URL allowed is
        counted against its site's limits."""
        parts = urlsplit(url)
        host = site_of(url)
        segments = [s for s in parts.path.split("/") if s]
        if segments and max(Counter(segments).values()) > self.max_segment_repeats:
            return "trap", "path repetition"
        if self._per_site[host] >= self.max_per_site:
            return "over_budget", f"site budget of {self.max_per_site} pages"
        if parts.query:
            variants = self._queries[host, parts.path]
            if parts.query not in variants and len(variants) >= self.max_query_variants:
                return "trap", f"more than {self.max_query_variants} query strings on one path"
            variants.add(parts.query)
        if _CALENDAR.search(parts.path):
            shape = (host, _shape(parts.path))
            if self._calendars[shape] >= self.max_calendar_pages:
                return "trap", f"more than {self.max_calendar_pages} calendar pages"
            self._calendars[shape] += 1
        self._per_site[host] += 1
        return None

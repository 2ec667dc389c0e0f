"""The story report: one self-contained HTML page of what a story's crawls found.

It must open from a USB stick, years later, with no network: no script, no font, no style
sheet from elsewhere. The timeline is an SVG drawn here, at build time, one row per outlet
and one mark per matched article; each mark links to its article further down, whose
cleaned text is on the page and whose archived capture is a link to a replay server when
the user names one (pywb, ReplayWeb.page: ``--replay-url``).
"""

from __future__ import annotations

import hashlib
import html
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.db import models
from archive.db.engine import StoreError
from archive.db.repository import Store
from archive.export import newest_verdicts

#: How many of the best-scored rejected articles the report lists as near misses.
NEAR_MISSES = 10
#: Rejections that are a judgement on the article's content (not a listing, not its date):
#: the articles a reader may want to check by hand.
_CLOSE_CALLS = ("below the threshold", "too far from the seeds")


@dataclass(frozen=True)
class Article:
    """A judged article as the report shows it."""

    url: str
    canonical_url: str
    title: str
    outlet: str
    date: date | None
    score: float
    why: str
    text: str
    fetched_at: datetime
    warc_file: str
    warc_offset: int
    duplicate_of: str | None

    @property
    def anchor(self) -> str:
        return "a" + hashlib.sha1(self.canonical_url.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Run:
    started_at: datetime
    finished_at: datetime | None
    finish_reason: str | None
    pages_fetched: int | None
    new_pages: int | None
    changed_pages: int | None
    not_modified: int | None
    new_matches: int | None


@dataclass(frozen=True)
class StoryReport:
    name: str
    definition: dict
    matches: list[Article]  # originals and copies, oldest first
    near_misses: list[Article]
    runs: list[Run]
    copies: dict[str, list[Article]] = field(default_factory=dict)  # original -> its copies

    @property
    def originals(self) -> list[Article]:
        return [a for a in self.matches if not a.duplicate_of]


def outlet_name(sitename: str | None, url: str) -> str:
    """What a reader calls the outlet: the page's site name, or its host when it has none."""
    return sitename or urlsplit(url).hostname or url


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def load_report(store: Store, name: str) -> StoryReport:
    """Everything the report shows, read in one pass over the story's newest verdicts."""
    with Session(store.engine) as session:
        story = session.scalar(select(models.Story).where(models.Story.name == name))
        if story is None:
            raise StoreError(f"unknown story {name!r}")
        matches, rejected = [], []
        for page, document, match in newest_verdicts(session, story.id):
            reasons = match.reasons or {}
            article = Article(
                url=page.url,
                canonical_url=page.canonical_url,
                title=document.title or page.url,
                outlet=outlet_name(document.sitename, page.url),
                date=_day(document.date),
                score=match.score,
                why="seed" if reasons.get("seed") else str(reasons.get("decisive") or ""),
                text=document.text,
                fetched_at=page.fetched_at.replace(tzinfo=UTC),
                warc_file=page.warc_file,
                warc_offset=page.warc_offset,
                duplicate_of=match.duplicate_of,
            )
            if match.is_match:
                matches.append(article)
            elif str(reasons.get("rejected", "")).startswith(_CLOSE_CALLS):
                rejected.append(article)
        runs = [
            Run(c.started_at.replace(tzinfo=UTC),
                c.finished_at.replace(tzinfo=UTC) if c.finished_at else None, c.finish_reason,
                c.pages_fetched, c.new_pages, c.changed_pages, c.not_modified, c.new_matches)
            for c in session.scalars(
                select(models.Crawl).where(models.Crawl.story_id == story.id)
                .order_by(models.Crawl.started_at)
            )
        ]  # fmt: skip
        definition = dict(story.definition or {})
    matches.sort(key=lambda a: (a.date or date.max, a.fetched_at))
    copies: dict[str, list[Article]] = defaultdict(list)
    for article in matches:
        if article.duplicate_of:
            copies[article.duplicate_of].append(article)
    near = sorted(rejected, key=lambda a: -a.score)[:NEAR_MISSES]
    return StoryReport(name, definition, matches, near, runs, dict(copies))


# -- rendering ----------------------------------------------------------------------------


def replay_link(pattern: str | None, collection: str, article: Article) -> str | None:
    """The archived capture's address on a replay server: ``{collection}``, ``{timestamp}``
    (14 digits, as pywb and the Wayback Machine take it) and ``{url}`` filled in."""
    if not pattern:
        return None
    check_replay_pattern(pattern)
    timestamp = article.fetched_at.strftime("%Y%m%d%H%M%S")
    return pattern.format(collection=collection, timestamp=timestamp, url=article.url)


def check_replay_pattern(pattern: str) -> None:
    """ValueError, in a line, for a pattern with fields other than the three known ones."""
    try:
        pattern.format(collection="c", timestamp="t", url="u")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"--replay-url {pattern!r}: only {{collection}}, {{timestamp}} and {{url}} "
            f"can be filled in ({type(exc).__name__}: {exc})"
        ) from None


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


#: Timeline geometry, in SVG user units.
_LABEL_WIDTH, _PLOT_WIDTH, _ROW_HEIGHT, _AXIS_HEIGHT = 170, 780, 28, 34


def _months(first: date, last: date) -> Iterable[date]:
    month = date(first.year, first.month, 1)
    while month <= last:
        yield month
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)


def timeline_svg(matches: list[Article]) -> str:
    """One row per outlet, one mark per matched article at its publication day (undated
    articles in a column of their own at the right); syndicated copies are hollow."""
    outlets = sorted({a.outlet for a in matches}, key=str.casefold)
    dated = [a.date for a in matches if a.date]
    undated = any(a.date is None for a in matches)
    first = min(dated, default=date.today())
    last = max(dated, default=first)
    first, last = first - timedelta(days=3), last + timedelta(days=3)
    span = (last - first).days or 1
    plot = _PLOT_WIDTH - (60 if undated else 0)
    width = _LABEL_WIDTH + _PLOT_WIDTH + 20
    height = _AXIS_HEIGHT + _ROW_HEIGHT * max(len(outlets), 1) + 10

    def x(day: date | None) -> float:
        if day is None:
            return _LABEL_WIDTH + plot + 30
        return _LABEL_WIDTH + plot * (day - first).days / span

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" '
        f'aria-label="Coverage of the story per outlet over time">'
    ]
    bottom = height - 10
    for month in _months(first, last):
        if month < first:
            continue
        mx = x(month)
        parts.append(
            f'<line class="grid" x1="{mx:.1f}" y1="{_AXIS_HEIGHT - 6}" x2="{mx:.1f}" '
            f'y2="{bottom}"/><text class="axis" x="{mx + 3:.1f}" y="{_AXIS_HEIGHT - 12}">'
            f"{month:%b %Y}</text>"
        )
    if undated:
        parts.append(
            f'<text class="axis" x="{x(None) - 20:.1f}" y="{_AXIS_HEIGHT - 12}">undated</text>'
        )
    rows = {outlet: _AXIS_HEIGHT + _ROW_HEIGHT * (i + 0.5) for i, outlet in enumerate(outlets)}
    for outlet, y in rows.items():
        parts.append(
            f'<text class="outlet" x="{_LABEL_WIDTH - 10}" y="{y + 4:.1f}" '
            f'text-anchor="end">{_e(outlet)}</text>'
            f'<line class="row" x1="{_LABEL_WIDTH}" y1="{y:.1f}" '
            f'x2="{_LABEL_WIDTH + _PLOT_WIDTH}" y2="{y:.1f}"/>'
        )
    for article in matches:
        kind = "mark copy" if article.duplicate_of else "mark"
        day = f"{article.date:%Y-%m-%d}" if article.date else "undated"
        parts.append(
            f'<a href="#{article.anchor}"><circle class="{kind}" cx="{x(article.date):.1f}" '
            f'cy="{rows[article.outlet]:.1f}" r="6"><title>{_e(article.title)} '
            f"({_e(article.outlet)}, {day}, score {article.score:.2f})</title></circle></a>"
        )
    parts.append("</svg>")
    return "".join(parts)


_STYLE = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1000px;padding:1.5em;color:#1d232a;background:#fff}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
.meta,.why,.small{color:#5b6570;font-size:.9em}
.timeline{border:1px solid #e3e6ea;border-radius:6px;background:#fafbfc}
.timeline .outlet{font-size:12px;fill:#1d232a}.timeline .axis{font-size:11px;fill:#5b6570}
.timeline .grid{stroke:#e3e6ea}.timeline .row{stroke:#c9ced4;stroke-dasharray:2 3}
.timeline .mark{fill:#c0392b;stroke:#fff;stroke-width:1.5}
.timeline .mark.copy{fill:#fff;stroke:#c0392b;stroke-width:2}
.timeline a:hover .mark{r:8}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3em .5em;
border-bottom:1px solid #eee;vertical-align:top}td.num,th.num{text-align:right}
article{border-bottom:1px solid #eee;padding:.6em 0}article h3{margin:0;font-size:1.05em}
article:target{background:#fff6e5}.score{font-variant-numeric:tabular-nums}
details pre{white-space:pre-wrap;font:inherit;background:#f6f7f8;padding:.8em;
border-radius:4px}.copies{margin:.3em 0 0 1.2em;font-size:.9em}
"""


def _article(article: Article, copies: list[Article], replay: str | None, story: str) -> str:
    day = f"{article.date:%Y-%m-%d}" if article.date else "undated"
    archived = replay_link(replay, story, article)
    where = (
        f'<a href="{_e(archived)}">archived capture</a>'
        if archived
        else f"archived in {_e(article.warc_file)} at offset {article.warc_offset}"
    )
    listed = "".join(
        f'<li id="{c.anchor}"><a href="{_e(c.url)}">{_e(c.outlet)}</a>, '
        f"{c.date or 'undated'}, score {c.score:.2f}</li>"
        for c in copies
    )
    copies_html = (
        f'<div class="copies">Syndicated copies ({len(copies)}):<ul>{listed}</ul></div>'
        if copies
        else ""
    )
    return (
        f'<article id="{article.anchor}"><h3><a href="{_e(article.url)}">{_e(article.title)}'
        f'</a></h3><div class="meta">{_e(article.outlet)} · {day} · score '
        f'<span class="score">{article.score:.2f}</span> · {where}</div>'
        f'<div class="why">Why: {_e(article.why or "no reason recorded")}</div>'
        f"<details><summary>Cleaned text ({len(article.text.split())} words)</summary>"
        f"<pre>{_e(article.text)}</pre></details>{copies_html}</article>"
    )


def _near_table(rows: str) -> str:
    if not rows:
        return "<p>None.</p>"
    head = "".join(f"<th>{h}</th>" for h in ("title", "outlet", "date", "why not"))
    return f'<table><tr><th class="num">score</th>{head}</tr>{rows}</table>'


def _runs_table(runs: list[Run]) -> str:
    rows = "".join(
        f"<tr><td>{r.started_at:%Y-%m-%d %H:%M} UTC</td>"
        f"<td>{_e(r.finish_reason or 'running or killed')}</td>"
        f'<td class="num">{r.pages_fetched or 0}</td><td class="num">{r.new_pages or 0}</td>'
        f'<td class="num">{r.changed_pages or 0}</td><td class="num">{r.not_modified or 0}</td>'
        f'<td class="num">{r.new_matches or 0}</td></tr>'
        for r in runs
    )
    head = "".join(
        f'<th class="num">{h}</th>'
        for h in ("pages fetched", "new", "changed", "not modified", "new matches")
    )
    return f"<table><tr><th>run started</th><th>how it ended</th>{head}</tr>{rows}</table>"


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def render_report(report: StoryReport, replay_url: str | None = None) -> str:
    """The report as one HTML document with everything inline."""
    originals = report.originals
    window = " &ndash; ".join(
        _e(report.definition[k]) for k in ("since", "until") if report.definition.get(k)
    )
    outlets = len({a.outlet for a in report.matches})
    seeds = "".join(
        f'<li><a href="{_e(url)}">{_e(url)}</a></li>' for url in report.definition.get("seeds", [])
    )
    articles = "".join(
        _article(a, report.copies.get(a.canonical_url, []), replay_url, report.name)
        for a in originals
    )
    near = "".join(
        f'<tr><td class="num score">{a.score:.2f}</td><td><a href="{_e(a.url)}">'
        f"{_e(a.title)}</a></td><td>{_e(a.outlet)}</td><td>{a.date or ''}</td>"
        f'<td class="why">{_e(a.why)}</td></tr>'
        for a in report.near_misses
    )
    copies = sum(len(c) for c in report.copies.values())
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Story {_e(report.name)}: storycrawl report</title>
<style>{_STYLE}</style></head><body>
<header><div class="small">storycrawl story report · made {made}</div>
<h1>{_e(report.name)}</h1>
<p>{_count(len(originals), "article")} judged same-story on {_count(outlets, "outlet")}{
        f", {_count(copies, 'syndicated copy', 'syndicated copies')}" if copies else ""
    }{f", window {window}" if window else ""}; {_count(len(report.runs), "crawl")}.</p>
<details><summary>Seeds</summary><ul>{seeds}</ul></details></header>
<h2>Timeline</h2>
<p class="small">One mark per matched article at its publication date; a hollow mark is a
syndicated copy. A mark links to its article below.</p>
{timeline_svg(report.matches)}
<h2>Matched articles</h2>
{articles or "<p>No article matched the story yet.</p>"}
<h2>Near misses</h2>
<p class="small">The best-scored articles the judge rejected on their content: worth a look
before lowering the threshold.</p>
{_near_table(near)}
<h2>Crawls</h2>
{_runs_table(report.runs)}
</body></html>
"""

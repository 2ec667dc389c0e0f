"""The ``storycrawl`` command.

Bad input ends in one line on stderr and exit status 2, before anything stored is touched.
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from twisted.python.failure import Failure

from archive.export import ExportFilter, export_records, story_names, story_warc_files
from archive.extract import EXTRACTOR_NAME
from archive.extract import extract as extract_page
from archive.formats import write_csv, write_jsonl, write_parquet, write_txt, write_wacz
from archive.store import (
    CANDIDATE_STATES,
    Store,
    StoreError,
    database_url,
    display_url,
    open_engine,
    upgrade_database,
)
from archive.summary import story_candidates, story_summaries
from archive.verify import check_pages, count_pages
from crawler.config import Config
from crawler.newsweb import NewsWeb
from crawler.reextract import reextract as rerun
from crawler.schedule import load_schedule, next_run, serve
from crawler.spiders.story import StorySpider, story_settings
from crawler.storyfile import (
    DEFAULT_DATA,
    StoryDefinition,
    StoryError,
    build_story,
    load_story_file,
)

EXIT_BAD_INPUT = 2
EXIT_STORY_BUSY = 75


class BadInput(click.ClickException):
    exit_code = EXIT_BAD_INPUT

    def show(self, file: Any = None) -> None:
        click.echo(f"storycrawl: error: {self.format_message()}", err=True)


class StoryBusy(click.ClickException):
    """Another run of the story holds its lock: nothing wrong, try again later (EX_TEMPFAIL),
    which is what cron and the scheduler do."""

    exit_code = EXIT_STORY_BUSY

    def show(self, file: Any = None) -> None:
        click.echo(f"storycrawl: {self.format_message()}", err=True)


def main(args: list[str] | None = None) -> int:
    """Entry point; returns the exit status instead of exiting when ``args`` is given."""
    try:
        status = cli.main(args=args, prog_name="storycrawl", standalone_mode=False)
    except click.exceptions.Exit as exc:  # not raised by click 8.2+, which returns the code
        return exc.exit_code
    except click.UsageError as exc:
        hint = f" (see: storycrawl {exc.ctx.info_name} --help)" if exc.ctx else ""
        click.echo(f"storycrawl: error: {exc.format_message()}{hint}", err=True)
        return EXIT_BAD_INPUT
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        return 130
    return status if isinstance(status, int) else 0


@click.group()
@click.version_option(package_name="storycrawl")
def cli() -> None:
    """Follow one news story across the web, archive it as WARC, export clean corpora."""


def _guarded(action: Callable[[], Any]) -> Any:
    """Run an action, turning the errors a user can fix into a one-line exit-2 error."""
    try:
        return action()
    except (StoryError, StoreError, ValueError) as exc:
        raise BadInput(str(exc)) from None
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        raise BadInput(f"cannot write{where}: {exc.strerror or exc}") from None


# -- crawl --------------------------------------------------------------------------------


def crawl_settings(story: StoryDefinition, overrides: dict[str, Any] | None = None) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    # Scrapy's log goes to a file beside the data: the terminal gets the summary, or the one
    # line that says what to fix. `-s LOG_FILE=` brings it back to stderr.
    settings.set("LOG_FILE", str(story.data / "storycrawl.log"), priority="spider")
    settings.setdict(story_settings(story), priority="spider")
    settings.setdict(overrides or {}, priority="cmdline")
    return settings


def run_crawl(story: StoryDefinition, overrides: dict[str, Any] | None = None) -> dict:
    """Crawl one story to the end in this process; return the crawl's stats."""
    settings = crawl_settings(story, overrides)
    config = _guarded(lambda: Config.from_settings(settings))
    _guarded(config.prepare_storage)
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(StorySpider)
    failures: list[Failure] = []
    process.crawl(crawler, story=story).addErrback(failures.append)
    process.start()
    if failures:
        raise click.ClickException(f"the crawl failed: {failures[0].getErrorMessage()}")
    spider = crawler.spider
    if spider is not None and spider.locked_by:
        raise StoryBusy(f"story {story.name!r} is being crawled already, by {spider.locked_by}")
    if spider is not None and spider.problem:
        raise BadInput(spider.problem)
    return crawler.stats.get_stats()


_CRAWL_OPTIONS = [
    click.option("--name", help="Story name (its key in the database)."),
    click.option("--seed", "seeds", multiple=True, help="Seed article URL (repeatable)."),
    click.option("--site", "sites", multiple=True, help="Outlet to watch (repeatable)."),
    click.option("--feed", "feeds", multiple=True, help="RSS/Atom feed URL (repeatable)."),
    click.option("--sitemap", "sitemaps", multiple=True, help="Sitemap URL (repeatable)."),
    click.option("--keyword", "keywords", multiple=True, help="Extra story term (repeatable)."),
    click.option("--search", multiple=True, help="Search engine to ask: gdelt (repeatable)."),
    click.option("--since", help="Publication window start, YYYY-MM-DD."),
    click.option("--until", help="Publication window end, YYYY-MM-DD."),
    click.option("--max-pages", type=int, help="Fetch at most this many pages."),
    click.option("--max-pages-per-site", type=int, help="Fetch at most this many per site."),
    click.option("--max-depth", type=int, help="Follow links at most this deep."),
    click.option(
        "--threshold",
        type=click.FloatRange(0, 1),
        help="Same-story threshold: higher for precision, lower for recall.",
    ),
    click.option("--data", type=click.Path(path_type=Path), help="Data directory."),
    click.option("--db", envvar="STORYCRAWL_DB", help="SQLAlchemy database URL."),
    click.option("--warc-dir", type=click.Path(path_type=Path), help="WARC directory."),
    click.option("--allow-private", is_flag=True, help="Allow private addresses not named."),
    click.option("--broad", is_flag=True, help="Follow every in-site link."),
    click.option("--no-dedup", is_flag=True, help="Never write revisit records."),
    click.option(
        "--recrawl-after",
        help="Fetch archived articles older than this again "
        "(conditionally): 6h, 2d, 0 for always. Default 1d.",
    ),
]


def _with_crawl_options(command: Callable) -> Callable:
    for option in reversed(_CRAWL_OPTIONS):
        command = option(command)
    return command


@cli.command()
@click.argument("story_file", required=False, type=click.Path(path_type=Path))
@_with_crawl_options
@click.option(
    "-s",
    "--set",
    "scrapy_settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="A Scrapy setting, as with `scrapy crawl -s` (repeatable).",
)
def crawl(story_file: Path | None, scrapy_settings: tuple[str, ...], **options: Any) -> None:
    """Crawl a story given as STORY.toml and/or options."""
    story = _guarded(
        lambda: build_story(load_story_file(story_file) if story_file else {}, options)
    )
    overrides = {}
    for item in scrapy_settings:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise BadInput(f"-s takes NAME=VALUE, not {item!r}")
        overrides[name] = value
    stats = run_crawl(story, overrides)
    _summary(story, stats)


#: The crawl summary's table shows at most this many articles, the best scored.
SUMMARY_ROWS = 50


def _summary(story: StoryDefinition, stats: dict, export_path: Path | None = None) -> None:
    config = Config.from_settings(crawl_settings(story))
    store = Store(open_engine(config.db_url))
    # Streamed: a story of many thousand matches must not be held in memory to be counted.
    matched = 0
    best: list[tuple[float, int, dict]] = []
    for matched, record in enumerate(export_records(store, ExportFilter(story=story.name)), 1):
        shown = {k: record[k] for k in ("title", "sitename", "url", "date", "score")}
        heapq.heappush(best, (record["score"], matched, shown))
        if len(best) > SUMMARY_ROWS:
            heapq.heappop(best)
    records = [row for _, _, row in best]
    console = Console()
    heading = "articles judged same-story"
    if matched > len(records):
        heading += f" (the {len(records)} best of {matched}; `storycrawl show` lists all)"
    table = Table(title=f"Story {story.name!r}: {heading}")
    for column in ("title", "outlet", "date", "score"):
        table.add_column(column)
    for record in sorted(records, key=lambda r: r["date"] or ""):
        outlet = record["sitename"] or record["url"].split("/")[2]
        table.add_row(record["title"] or "", outlet, record["date"] or "", f"{record['score']:.2f}")
    console.print(table)
    warc_files = sorted(p.name for p in config.warc_dir.glob("*.warc.gz"))
    console.print(
        f"pages fetched:  {stats.get('storycrawl/run/fetched', 0)} "
        f"({stats.get('storycrawl/run/new', 0)} new, "
        f"{stats.get('storycrawl/run/changed', 0)} changed, "
        f"{stats.get('storycrawl/run/not_modified', 0)} not modified; "
        f"{stats.get('storycrawl/incremental/not_fetched', 0)} archived recently, not fetched)"
    )
    console.print(f"matches:        {matched} ({stats.get('storycrawl/run/new_matches', 0)} new)")
    if recovered := stats.get("storycrawl/warc/recovered_files"):
        console.print(f"recovered:      {recovered} WARC files an interrupted crawl left open")
    console.print(f"finish reason:  {stats.get('finish_reason', '?')}")
    console.print(f"WARC files:     {len(warc_files)} in {config.warc_dir}")
    console.print(f"database:       {config.db_url}")
    if export_path:
        console.print(f"export:         {export_path}")


# -- export -------------------------------------------------------------------------------


def _open_store(data: Path | None, db: str | None) -> Store:
    url = database_url(data or DEFAULT_DATA, db)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise StoreError(f"no storycrawl database at {url.removeprefix('sqlite:///')!r}")
    return Store(open_engine(url))


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{value!r} is not a date like 2018-01-31") from None


@cli.command()
@click.option("--story", help="Story name; may be left out when the database holds one.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "parquet", "txt", "wacz"]),
    default="jsonl",
    help="txt: a directory of text files and metadata.jsonl; "
    "wacz: the story's WARCs, indexes and pages in one package.",
)
@click.option("--out", default="-", help="Output file, or - for standard output.")
@click.option("--all", "all_", is_flag=True, help="Every document, not only matches.")
@click.option("--include-duplicates", is_flag=True, help="Keep near-duplicates.")
@click.option("--min-score", type=float, help="Only documents scoring at least this.")
@click.option("--since", help="Published on or after YYYY-MM-DD.")
@click.option("--until", help="Published on or before YYYY-MM-DD.")
@click.option("--site", help="Only this outlet (host name).")
@click.option("--language", help="Only this language (ISO 639-1 code, e.g. en).")
@click.option("--data", type=click.Path(path_type=Path), help="Data directory.")
@click.option("--db", envvar="STORYCRAWL_DB", help="SQLAlchemy database URL.")
def export(
    story: str | None,
    fmt: str,
    out: str,
    all_: bool,
    include_duplicates: bool,
    min_score: float | None,
    since: str | None,
    until: str | None,
    site: str | None,
    language: str | None,
    data: Path | None,
    db: str | None,
) -> None:
    """Export a story's corpus: by default its matched, non-duplicate articles."""
    store = _guarded(lambda: _open_store(data, db))
    if story is None:
        names = story_names(store)
        if len(names) != 1:
            raise BadInput(f"name the story with --story (stories: {', '.join(names) or 'none'})")
        story = names[0]
    flt = ExportFilter(
        story=story,
        all=all_,
        include_duplicates=include_duplicates,
        min_score=min_score,
        since=_day(since),
        until=_day(until),
        site=site,
        language=language,
    )
    records = _guarded(lambda: export_records(store, flt))
    first = _guarded(lambda: next(records, None))  # unknown story fails before a file is made

    def chained():
        if first is not None:
            yield first
        yield from records

    count = _guarded(lambda: _export(fmt, chained(), out, store, story, data))
    click.echo(f"exported {count} records of story {story!r}", err=True)


def _export(fmt: str, records, out: str, store: Store, story: str, data: Path | None) -> int:
    if fmt in ("jsonl", "csv"):
        writer = write_jsonl if fmt == "jsonl" else write_csv
        if out == "-":
            count = writer(records, sys.stdout)
            sys.stdout.flush()  # a full disk or closed pipe is reported here, as one line
            return count
        return _atomically(Path(out), lambda path: _write_text_file(path, writer, records))
    if out == "-":
        raise BadInput(f"--format {fmt} writes files: name where with --out")
    if fmt == "parquet":
        return _atomically(Path(out), lambda path: write_parquet(records, path))
    if fmt == "txt":
        return _atomically(Path(out), lambda path: write_txt(records, path))
    warc_dir = (data or DEFAULT_DATA) / "warc"
    files = [warc_dir / name for name in story_warc_files(store, story)]
    return _atomically(Path(out), lambda path: write_wacz(records, files, path))


def _write_text_file(path: Path, writer, records) -> int:
    with open(path, "w", encoding="utf-8", newline="") as stream:
        return writer(records, stream)


def _atomically(path: Path, write: Callable[[Path], int]) -> int:
    """Write under a temporary name, renamed when complete: a reader never sees half an
    export under the final name, and a failed export leaves nothing behind."""
    if path.is_dir() and any(path.iterdir()):
        raise BadInput(f"{str(path)!r} is a directory that is not empty")
    partial = path.with_name(f"{path.stem}.partial{path.suffix}")
    try:
        count = write(partial)
        os.replace(partial, path)
    except BaseException:
        if partial.is_dir():
            shutil.rmtree(partial)
        else:
            partial.unlink(missing_ok=True)
        raise
    return count


# -- schedule -----------------------------------------------------------------------------


@cli.command()
@click.argument("stories", type=click.Path(exists=True, path_type=Path))
@click.option("-s", "--set", "scrapy_settings", multiple=True, metavar="NAME=VALUE",
              help="A Scrapy setting for every run (repeatable).")  # fmt: skip
def schedule(stories: Path, scrapy_settings: tuple[str, ...]) -> None:
    """Run stories on their cron schedules until stopped (SIGTERM, Ctrl-C).

    STORIES is a story file, a file of [[story]] tables, or a folder of story files; each
    story needs schedule = "cron expression". Each run is a `storycrawl crawl` process."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="storycrawl-schedule-") as workdir:
        scheduled = _guarded(lambda: load_schedule(stories, Path(workdir)))
        extra = [arg for item in scrapy_settings for arg in ("-s", item)]
        serve(scheduled, extra)


# -- stories, show -----------------------------------------------------------------------


@cli.command()
@click.option("--data", type=click.Path(path_type=Path), help="Data directory.")
@click.option("--db", envvar="STORYCRAWL_DB", help="SQLAlchemy database URL.")
def stories(data: Path | None, db: str | None) -> None:
    """The stories in the database, with their crawls, pages and matches."""
    store = _guarded(lambda: _open_store(data, db))
    table = Table(title="Stories")
    columns = ("story", "crawls", "pages", "matches", "last run", "how it ended",
               "new matches", "next run")  # fmt: skip
    for column in columns:
        table.add_column(column)
    when = "%Y-%m-%d %H:%M UTC"
    for story in story_summaries(store):
        last = story.last_crawl.strftime(when) if story.last_crawl else "never"
        upcoming = next_run(story.schedule, datetime.now(UTC))
        table.add_row(
            story.name, str(story.crawls), str(story.pages), str(story.matches), last,
            story.last_finish or "", str(story.last_new_matches or 0),
            upcoming.strftime(when) if upcoming else "not scheduled",
        )  # fmt: skip
    Console().print(table)


@cli.command()
@click.argument("name")
@click.option("--state", type=click.Choice(CANDIDATE_STATES), help="Only candidates in this state.")
@click.option("--data", type=click.Path(path_type=Path), help="Data directory.")
@click.option("--db", envvar="STORYCRAWL_DB", help="SQLAlchemy database URL.")
def show(name: str, state: str | None, data: Path | None, db: str | None) -> None:
    """A story's candidate URLs: what became of each (accepted, rejected, duplicate,
    discovered, …), with its score, and why."""
    store = _guarded(lambda: _open_store(data, db))
    candidates = _guarded(lambda: story_candidates(store, name, state))
    counts = Counter(c.state for c in candidates)
    title = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no candidates"
    table = Table(title=f"Story {name!r}: {title}")
    for column in ("state", "score", "date", "title", "url", "why"):
        table.add_column(column, overflow="fold")
    for c in candidates:
        score = "" if c.score is None else f"{c.score:.2f}"
        table.add_row(c.state, score, c.date or "", c.title or "", c.url, c.why)
    Console().print(table)


# -- reextract ----------------------------------------------------------------------------


@cli.command()
@click.option("--story", help="Only this story (default: every story in the database).")
@click.option("--threshold", type=click.FloatRange(0, 1), help="Same-story threshold.")
@click.option("--data", type=click.Path(path_type=Path), help="Data directory.")
@click.option("--db", envvar="STORYCRAWL_DB", help="SQLAlchemy database URL.")
def reextract(story: str | None, threshold: float | None, data: Path | None, db: str | None):
    """Extract and judge the archived pages again, from the WARC files alone."""
    store = _guarded(lambda: _open_store(data, db))
    warc_dir = (data or DEFAULT_DATA) / "warc"
    defaults = Settings()
    defaults.setmodule("crawler.settings")
    threshold = defaults.getfloat("STORYCRAWL_THRESHOLD") if threshold is None else threshold
    for name in [story] if story else story_names(store):
        done = _guarded(
            lambda name=name: rerun(store, warc_dir, name, threshold, os.cpu_count() or 1)
        )
        click.echo(
            f"{name}: {done.pages} pages, {done.documents} documents extracted again "
            f"({EXTRACTOR_NAME}), {done.matches} matches"
        )


# -- verify -------------------------------------------------------------------------------


@cli.command()
@click.option("--data", type=click.Path(path_type=Path), help="Data directory.")
@click.option("--db", envvar="STORYCRAWL_DB", help="SQLAlchemy database URL.")
@click.option("--warc-dir", type=click.Path(path_type=Path), help="WARC directory.")
def verify(data: Path | None, db: str | None, warc_dir: Path | None) -> None:
    """Check that every page row points at its own, intact WARC record."""
    store = _guarded(lambda: _open_store(data, db))
    warc_dir = warc_dir or (data or DEFAULT_DATA) / "warc"
    wrong: set[int] = set()
    for disagreement in check_pages(store, warc_dir):
        click.echo(str(disagreement))
        wrong.add(disagreement.page_id)
    pages = count_pages(store)
    verdict = f"{len(wrong)} of them disagree" if wrong else "no disagreements"
    click.echo(f"checked {pages} pages against {warc_dir}: {verdict}")
    if wrong:
        raise click.exceptions.Exit(1)


# -- db -----------------------------------------------------------------------------------


@cli.group(name="db")
def db_group() -> None:
    """The database's schema: Alembic migrations."""


@db_group.command(name="upgrade")
@click.option("--data", type=click.Path(path_type=Path), help="Data directory.")
@click.option("--db", envvar="STORYCRAWL_DB", help="SQLAlchemy database URL.")
def db_upgrade(data: Path | None, db: str | None) -> None:
    """Migrate the database to the schema this storycrawl needs (a new one is created)."""
    url = database_url(data or DEFAULT_DATA, db)
    before, after = _guarded(lambda: upgrade_database(url))
    if before == after:
        click.echo(f"{display_url(url)} already at {after}")
    else:
        click.echo(f"upgraded {display_url(url)} from {before or 'an empty database'} to {after}")


# -- extract ------------------------------------------------------------------------------


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--url", help="The page's URL (resolves links, helps metadata).")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text")
def extract(files: tuple[Path, ...], url: str | None, fmt: str) -> None:
    """Print what storycrawl keeps of saved pages: cleaned text, or JSON lines with metadata."""
    for path in files:
        try:
            html = path.read_bytes()
        except OSError as exc:
            raise BadInput(f"cannot read {str(path)!r}: {exc.strerror}") from None
        document = extract_page(html, url or path.resolve().as_uri())
        if fmt == "text":
            click.echo(document.text if document else "")
            continue
        found = document.as_dict() if document else {"text": ""}
        record = {"path": str(path), "url": url} | {k: found.get(k) for k in PAGE_FIELDS}
        click.echo(json.dumps(record, ensure_ascii=False))


#: The fields of the export record that a page alone can give.
PAGE_FIELDS = ("canonical_url", "title", "author", "date", "sitename", "language", "text")


# -- demo ---------------------------------------------------------------------------------

#: A fixed port keeps the demo's URLs, and so its archive, the same from run to run.
DEMO_PORT = 8018


@cli.command()
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=DEFAULT_DATA,
    show_default=True,
    help="Data directory for the demo's archive and database.",
)
@click.option(
    "--port",
    type=int,
    default=DEMO_PORT,
    show_default=True,
    help="Port of the news web on each of its loopback addresses (0: any free).",
)
def demo(data: Path, port: int) -> None:
    """Serve the bundled offline news web on loopback and follow its story."""
    web = NewsWeb(port=port)
    try:
        web.start()
    except OSError as exc:
        raise BadInput(
            f"cannot serve the news web on port {port} ({exc.strerror}): pick another with --port"
        ) from None
    try:
        story = demo_story(web, data)
        click.echo(f"news web: {', '.join(web.base_urls.values())}", err=True)
        stats = run_crawl(story, DEMO_SETTINGS)
    finally:
        web.stop()
    store = _guarded(lambda: _open_store(data, None))
    export_path = data / f"{story.name}.jsonl"
    records = export_records(store, ExportFilter(story=story.name))
    _atomically(export_path, lambda path: _write_text_file(path, write_jsonl, records))
    _summary(story, stats, export_path)


#: Loopback serves in microseconds: politeness delays would only slow the demo down.
DEMO_SETTINGS = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "LOG_LEVEL": "WARNING",
}


def demo_story(web, data: Path) -> StoryDefinition:
    """The bundled story: the January report and the March follow-up, six outlets to watch."""
    return build_story(
        {
            "name": "aegis-ashore",
            "seeds": [
                web.url("japan-dismisses-russia-concerns-missile-systems"),
                web.url("japan-missile-defense-poses-no-threat-to-russia-top-diplomat"),
            ],
            "sites": list(web.base_urls.values()),
            "since": "2017-12-01",
            "until": "2018-06-30",
            "data": str(data),
        },
        {},
    )

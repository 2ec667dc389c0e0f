"""`storycrawl crawl`, `demo` and `schedule`: the commands that fetch."""

from __future__ import annotations

import contextlib
import heapq
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from crawler.cli.errors import BadInput, StorageFailed, StoryBusy, guarded
from crawler.cli.storage import SET_OPTION, project_settings, setting_overrides

if TYPE_CHECKING:
    from scrapy.settings import Settings

    from crawler.config import Config
    from crawler.storyfile import StoryDefinition


def crawl_settings(story: StoryDefinition, overrides: dict[str, Any] | None = None) -> Settings:
    """The settings of a story's crawl: the project's, the story file's, then ``-s``."""
    from crawler.spiders.story import story_settings

    settings = project_settings()
    # Scrapy's log goes to a file beside the data: the terminal gets the summary, or the one
    # line that says what to fix. `-s LOG_FILE=` brings it back to stderr.
    settings.set("LOG_FILE", str(story.data / "storycrawl.log"), priority="spider")
    settings.setdict(story_settings(story), priority="spider")
    settings.setdict(overrides or {}, priority="cmdline")
    return settings


def story_config(story: StoryDefinition, overrides: dict[str, Any] | None = None) -> Config:
    """The Config a crawl of the story runs with: where its data and database are."""
    from crawler.config import Config

    return guarded(lambda: Config.from_settings(crawl_settings(story, overrides)))


def run_crawl(
    story: StoryDefinition, overrides: dict[str, Any] | None = None
) -> tuple[dict, Config]:
    """Crawl one story to the end in this process; return the crawl's stats and config."""
    from scrapy.crawler import CrawlerProcess
    from twisted.python.failure import Failure

    from crawler.distributed.shared import SharedCrawl
    from crawler.logs import apply_log_format
    from crawler.spiders.story import StorySpider
    from crawler.storage_failure import ERROR_STAT

    # A full disk fails every log line too: logging would print a traceback for each.
    logging.raiseExceptions = False
    settings = crawl_settings(story, overrides)
    config = story_config(story, overrides)
    shared = guarded(lambda: SharedCrawl.from_settings(settings, story.name))
    # Workers starting together on a new database would each create its tables.
    with shared.one_at_a_time("storage") if shared else contextlib.nullcontext():
        guarded(config.prepare_storage)
    guarded(lambda: apply_log_format(settings))  # before Scrapy logs its first line
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(StorySpider)
    failures: list[Failure] = []
    process.crawl(crawler, story=story).addErrback(failures.append)
    process.start()
    if failures:
        raise click.ClickException(f"the crawl failed: {failures[0].getErrorMessage()}")
    if error := crawler.stats.get_value(ERROR_STAT):
        raise StorageFailed(f"{error}; the crawl stopped, run it again to resume")
    spider = crawler.spider
    if spider is not None and spider.locked_by:
        raise StoryBusy(f"story {story.name!r} is being crawled already, by {spider.locked_by}")
    if spider is not None and spider.problem:
        raise BadInput(spider.problem)
    return crawler.stats.get_stats(), config


_CRAWL_OPTIONS = [
    click.option("--name", help="Story name (its key in the database)."),
    click.option("--seed", "seeds", multiple=True, help="Seed article URL (repeatable)."),
    click.option("--site", "sites", multiple=True, help="Outlet to watch (repeatable)."),
    click.option("--feed", "feeds", multiple=True, help="RSS/Atom feed URL (repeatable)."),
    click.option("--sitemap", "sitemaps", multiple=True, help="Sitemap URL (repeatable)."),
    click.option("--keyword", "keywords", multiple=True, help="Extra story term (repeatable)."),
    click.option("--search", multiple=True, help="Search engine to ask: gdelt (repeatable)."),
    click.option(
        "--archive",
        "archives",
        multiple=True,
        help="Web archive to search and fetch from: wayback, or a CDX server URL (repeatable).",
    ),
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


@click.command()
@click.argument("story_file", required=False, type=click.Path(path_type=Path))
@_with_crawl_options
@click.option(
    "--frontier",
    metavar="redis://HOST:PORT/DB",
    help="Share the crawl with the other workers started with this Redis (and one --db).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    help="The log file's lines: Scrapy's text, or one JSON object a line.",
)
@click.option(
    "--progress",
    type=click.Choice(["auto", "live", "lines", "off"]),
    help="Progress on standard output: redrawn in place (live, on a terminal), "
    "a line every few seconds, or none.",
)
@SET_OPTION
def crawl(
    story_file: Path | None,
    frontier: str | None,
    log_format: str | None,
    progress: str | None,
    scrapy_settings: tuple[str, ...],
    **options: Any,
) -> None:
    """Crawl a story given as STORY.toml and/or options."""
    from crawler.storyfile import build_story, load_story_file

    story = guarded(lambda: build_story(load_story_file(story_file) if story_file else {}, options))
    overrides: dict[str, Any] = setting_overrides(scrapy_settings)
    if log_format:
        overrides["STORYCRAWL_LOG_FORMAT"] = log_format
    if progress:
        overrides["STORYCRAWL_PROGRESS"] = progress
    if frontier:
        overrides["STORYCRAWL_FRONTIER"] = frontier
    stats, config = run_crawl(story, overrides)
    summary(story, stats, config)


#: The crawl summary's table shows at most this many articles, the best scored.
SUMMARY_ROWS = 50


def summary(
    story: StoryDefinition,
    stats: dict,
    config: Config,
    export_path: Path | None = None,
    report_path: Path | None = None,
) -> None:
    from rich.console import Console
    from rich.table import Table

    from archive.export import ExportFilter, export_records
    from archive.report import outlet_name

    store = guarded(config.store)
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
        outlet = outlet_name(record["sitename"], record["url"])
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
    if report_path:
        console.print(f"report:         {report_path} (open it in a browser)")
    steps = next_steps(story, config, exported=bool(export_path), reported=bool(report_path))
    console.print(steps, soft_wrap=True)  # commands to paste: never cut into lines


def next_steps(story: StoryDefinition, config: Config, exported: bool, reported: bool) -> str:
    """The commands a user runs next on what the crawl kept, ready to paste."""
    import shlex

    where = f" --data {shlex.quote(str(config.data_dir))}"
    name = shlex.quote(story.name)
    steps = [
        (f"storycrawl show {name}{where} --limit 20", "every URL met, and why"),
        (f"storycrawl stories{where}", "every story's crawls, matches, next run"),
    ]
    if not exported:
        steps.insert(0, (f"storycrawl export --story {name}{where} --out {name}.jsonl",
                         "the corpus: also csv, parquet, txt, wacz"))  # fmt: skip
    if not reported:
        steps.insert(0, (f"storycrawl report {name}{where}",
                         "an HTML page of the story, with its timeline"))  # fmt: skip
    return "next:\n" + "\n".join(f"  {command}   # {why}" for command, why in steps)


@click.command()
@click.argument("stories", type=click.Path(exists=True, path_type=Path))
@SET_OPTION
def schedule(stories: Path, scrapy_settings: tuple[str, ...]) -> None:
    """Run stories on their cron schedules until stopped (SIGTERM, Ctrl-C).

    STORIES is a story file, a file of [[story]] tables, or a folder of story files; each
    story needs schedule = "cron expression". Each run is a `storycrawl crawl` process."""
    from crawler.schedule import load_schedule, serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="storycrawl-schedule-") as workdir:
        scheduled = guarded(lambda: load_schedule(stories, Path(workdir)))
        overrides = setting_overrides(scrapy_settings)
        stores = {
            item.story.name: guarded(
                lambda item=item: story_config(item.story, overrides).prepare_storage()
            )
            for item in scheduled
        }
        extra = [arg for item in scrapy_settings for arg in ("-s", item)]
        serve(scheduled, extra, stores)


@click.command()
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=Path("storycrawl-data"),
    show_default=True,
    help="Data directory for the demo's archive and database.",
)
@click.option(
    "--port",
    type=int,
    default=0,
    show_default=True,
    help="Port of the news web on each of its loopback addresses (0: any free one).",
)
def demo(data: Path, port: int) -> None:
    """Serve the bundled offline news web on loopback and follow its story."""
    from archive.export import ExportFilter, export_records
    from archive.formats import write_jsonl
    from crawler.cli.corpus import atomically, write_text_file
    from crawler.cli.report import write_report
    from crawler.cli.storage import Storage
    from crawler.demo import NewsWeb
    from crawler.demo.crawl import DEMO_SETTINGS, demo_story

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
        stats, config = run_crawl(story, DEMO_SETTINGS)
    finally:
        web.stop()
    store = guarded(config.store)
    export_path = data / f"{story.name}.jsonl"
    records = export_records(store, ExportFilter(story=story.name))
    atomically(export_path, lambda path: write_text_file(path, write_jsonl, records))
    report_path = write_report(Storage(data), story.name, data / f"{story.name}.html", None)
    summary(story, stats, config, export_path, report_path)

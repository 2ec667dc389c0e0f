"""The ``storycrawl`` command: one module per kind of work, each importing its heavy
packages (Scrapy, SQLAlchemy, trafilatura) only when its command runs, so that `--help`
and a mistyped option answer at once.

Bad input ends in one line on stderr and exit status 2, before anything stored is touched.
"""

from __future__ import annotations

import click

from crawler.cli import corpus, crawl, imports, judge, maintenance, report, stories
from crawler.cli.errors import EXIT_BAD_INPUT


@click.group()
@click.version_option(package_name="storycrawl")
def cli() -> None:
    """Follow one news story across the web, archive it as WARC, export clean corpora."""


for command in (
    crawl.crawl,
    crawl.demo,
    crawl.schedule,
    corpus.export,
    corpus.extract,
    judge.judge,
    stories.stories,
    stories.show,
    report.report,
    imports.import_,
    maintenance.reextract,
    maintenance.verify,
    maintenance.db_group,
):
    cli.add_command(command)


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

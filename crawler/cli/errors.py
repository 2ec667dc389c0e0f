"""How the command ends when something is wrong: one line on stderr and an exit status.

Bad input ends in status 2, before anything stored is touched, and so does a crawl that
cannot store what it fetches (a full disk, a database gone); a story another run is
crawling ends in 75 (EX_TEMPFAIL), which cron and the scheduler take as "try later".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

EXIT_BAD_INPUT = 2
EXIT_STORY_BUSY = 75


class BadInput(click.ClickException):
    exit_code = EXIT_BAD_INPUT

    def show(self, file: Any = None) -> None:
        click.echo(f"storycrawl: error: {self.format_message()}", err=True)


class StorageFailed(BadInput):
    """The crawl stopped because what it fetched could not be stored; what was stored is
    whole, and the next run resumes."""


class StoryBusy(click.ClickException):
    """Another run of the story holds its lock: nothing wrong, try again later."""

    exit_code = EXIT_STORY_BUSY

    def show(self, file: Any = None) -> None:
        click.echo(f"storycrawl: {self.format_message()}", err=True)


def guarded(action: Callable[[], Any]) -> Any:
    """Run an action, turning the errors a user can fix into a one-line exit-2 error."""
    # The errors' classes are imported here, not at the top: `storycrawl --help` must not
    # load SQLAlchemy to print itself.
    from archive.db.engine import StoreError
    from crawler.storyfile import StoryError

    try:
        return action()
    except (StoryError, StoreError, ValueError) as exc:
        raise BadInput(str(exc)) from None
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        raise BadInput(f"cannot write{where}: {exc.strerror or exc}") from None

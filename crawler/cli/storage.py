"""Where a command finds a story's data: the options every command takes, made into the one
Config a crawl would use (crawler.config), so that `--data`, `--db`, `--warc-dir` and `-s`
mean the same to every command."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from crawler.cli.errors import BadInput, guarded

if TYPE_CHECKING:
    from scrapy.settings import Settings

    from archive.db.repository import Store
    from crawler.config import Config


def setting_overrides(items: Iterable[str]) -> dict[str, Any]:
    """``-s NAME=VALUE`` options as a dict of Scrapy settings, each checked by its rule
    (crawler.schema) and converted: a bad one is a one-line error before anything runs."""
    from scrapy.settings import default_settings

    from crawler import settings as project
    from crawler.schema import SchemaError, check_setting

    overrides = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise BadInput(f"-s takes NAME=VALUE, not {item!r}")
        default = getattr(project, name, getattr(default_settings, name, None))
        try:
            overrides[name] = check_setting(name, value, default)
        except SchemaError as exc:
            raise BadInput(str(exc)) from None
    return overrides


def project_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """storycrawl's Scrapy settings with the command line's on top."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.setdict(overrides or {}, priority="cmdline")
    return settings


SET_OPTION = click.option(
    "-s",
    "--set",
    "scrapy_settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="A Scrapy or storycrawl setting, as with `scrapy crawl -s` (repeatable).",
)

_STORAGE_OPTIONS = [
    click.option("--data", type=click.Path(path_type=Path), help="Data directory."),
    click.option("--db", envvar="STORYCRAWL_DB", help="SQLAlchemy database URL."),
    click.option("--warc-dir", type=click.Path(path_type=Path), help="WARC directory."),
    SET_OPTION,
]


def storage_options(function: Callable) -> Callable:
    """--data, --db, --warc-dir and -s, handed to the command as one ``storage``."""

    @functools.wraps(function)
    def with_storage(
        *,
        data: Path | None,
        db: str | None,
        warc_dir: Path | None,
        scrapy_settings: tuple[str, ...],
        **kwargs: Any,
    ) -> Any:
        return function(storage=Storage(data, db, warc_dir, scrapy_settings), **kwargs)

    for option in reversed(_STORAGE_OPTIONS):
        with_storage = option(with_storage)
    return with_storage


class Storage:
    """A command's view of the data: its Config, and the database opened only for reading
    when it exists (a command that only reads must not create an empty database)."""

    def __init__(
        self,
        data: Path | None = None,
        db: str | None = None,
        warc_dir: Path | None = None,
        scrapy_settings: tuple[str, ...] = (),
    ):
        overrides: dict[str, Any] = setting_overrides(scrapy_settings)
        if data is not None:
            overrides["STORYCRAWL_DATA_DIR"] = str(data)
        if db:
            overrides["STORYCRAWL_DB"] = db
        if warc_dir is not None:
            overrides["STORYCRAWL_WARC_DIR"] = str(warc_dir)
        self.overrides = overrides  # what the command line sets, over a story file's
        self.settings = project_settings(overrides)

    @property
    def config(self) -> Config:
        from crawler.config import Config

        return guarded(lambda: Config.from_settings(self.settings))

    def open(self) -> Store:
        """The existing database; a one-line error when there is none."""
        return guarded(self._open)

    def _open(self) -> Store:
        from archive.db.engine import StoreError, open_engine
        from archive.db.repository import Store

        url = self.config.db_url
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
            raise StoreError(f"no storycrawl database at {url.removeprefix('sqlite:///')!r}")
        store = Store(open_engine(url))
        if (context := click.get_current_context(silent=True)) is not None:
            # Closed with the command, not with the process: `main()` may be called again.
            context.call_on_close(store.engine.dispose)
        return store

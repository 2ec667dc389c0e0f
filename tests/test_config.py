"""`Config.from_settings`: storycrawl's settings read once from Scrapy's, with no crawl."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from scrapy.settings import Settings

from crawler.config import Config


def settings(**values: object) -> Settings:
    """The project's settings with these on top, as `-s NAME=VALUE` would put them."""
    chosen = Settings()
    chosen.setmodule("crawler.settings", priority="project")
    chosen.setdict(values, priority="cmdline")
    return chosen


def test_defaults_keep_everything_in_the_data_directory(tmp_path: Path) -> None:
    config = Config.from_settings(settings(STORYCRAWL_DATA_DIR=str(tmp_path)))
    assert config.data_dir == tmp_path
    assert config.warc_dir == tmp_path / "warc"
    assert config.db_url == f"sqlite:///{tmp_path / 'storycrawl.db'}"
    assert config.extract_workers == (os.cpu_count() or 1)  # 0: one per core
    assert (config.extract, config.dedup, config.allow_private) == (True, True, False)
    assert config.named_sites == frozenset()


def test_command_line_values_win_and_are_typed(tmp_path: Path) -> None:
    config = Config.from_settings(
        settings(
            STORYCRAWL_DATA_DIR=str(tmp_path),
            STORYCRAWL_WARC_DIR=str(tmp_path / "elsewhere"),
            STORYCRAWL_DB="postgresql+psycopg://postgres@127.0.0.1:5432/test",
            STORYCRAWL_WARC_MAX_SIZE="200000",
            STORYCRAWL_EXTRACT_WORKERS="3",
            STORYCRAWL_EXTRACT="False",
            STORYCRAWL_NAMED_SITES="127.0.0.5,http://127.0.0.6:8001",
            STORYCRAWL_THRESHOLD="0.5",
        )
    )
    assert config.warc_dir == tmp_path / "elsewhere"
    assert config.db_url == "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert (config.warc_max_size, config.extract_workers, config.extract) == (200_000, 3, False)
    assert config.named_sites == frozenset({"127.0.0.5", "http://127.0.0.6:8001"})
    assert config.threshold == 0.5


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STORYCRAWL_WARC_MAX_SIZE", 0),
        ("STORYCRAWL_DB_BATCH", 0),
        ("STORYCRAWL_EXTRACT_WORKERS", -1),
        ("STORYCRAWL_THRESHOLD", 1.5),
        ("STORYCRAWL_LINK_FLOOR", -0.1),
    ],
)
def test_values_that_cannot_work_are_refused_by_name(name: str, value: object) -> None:
    with pytest.raises(ValueError, match=name):
        Config.from_settings(settings(**{name: value}))


def test_reading_the_settings_touches_no_disk(tmp_path: Path) -> None:
    """Parsed in every component's from_crawler: the directories and the database come
    with prepare_storage, once, where a problem can be reported."""
    data = tmp_path / "not-yet"
    Config.from_settings(settings(STORYCRAWL_DATA_DIR=str(data)))
    assert not data.exists()

"""Story files and options: merged with the command line winning, rejected when wrong."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from crawler.cli.errors import BadInput
from crawler.cli.storage import setting_overrides
from crawler.schema import SETTINGS, STORY_NAME_LENGTH
from crawler.storyfile import StoryError, build_story, story_from_file

SEED = "https://example.com/news/japan-dismisses-russia-concerns"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "story.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_design_example_parses_and_options_win(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
name = "aegis-ashore"
seeds = ["{SEED}"]
sites = ["https://example.com/", "https://other.example/world/"]
feeds = []
sitemaps = []
keywords = []
since = "2017-12-01"
until = 2018-06-30
max_pages = 5000
schedule = "0 */6 * * *"
""",
    )
    story = story_from_file(path, max_pages=20, broad=True, name=None)
    assert story.name == "aegis-ashore"
    assert story.since == date(2017, 12, 1) and story.until == date(2018, 6, 30)
    assert story.max_pages == 20 and story.broad
    assert story.named_sites == {"example.com", "other.example"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "x"\nseeds = ["ftp://example.com/a"]', "is not an http(s) URL"),
        ('name = "x"\nseeds = "https://example.com/a"', "must be a list"),
        ('name = "x"', "at least one seed"),
        (f'seeds = ["{SEED}"]', "needs a name"),
        (f'name = "x"\nseeds = ["{SEED}"]\nmax_page = 3', "unknown story key 'max_page'"),
        (f'name = "x"\nseeds = ["{SEED}"]\nsince = "last week"', "must be a date"),
        (f'name = "x"\nseeds = ["{SEED}"]\nsince = 2018-02-01\nuntil = 2018-01-01', "is after"),
        (f'name = "x"\nseeds = ["{SEED}"]\nmax_pages = 0', "a whole number from 1"),
        (f'name = "x"\nseeds = ["{SEED}"]\nmax_pages_per_site = -1', "a whole number from 1"),
        # Each of these ended in a traceback, or in a crawl that fetched nothing (issue 15).
        (f'name = "x"\nseeds = ["{SEED}"]\ndata = 5', "data must be a path"),
        (f'name = "x"\nseeds = ["{SEED}"]\nwarc_dir = ["a"]', "warc_dir must be a path"),
        (f'name = "x"\nseeds = ["{SEED}"]\nrecrawl_after = "99999999999d"', "longer than"),
        (f'name = "x"\nseeds = ["{SEED}"]\nsince = 2018-01-01T00:00:00', "not a time"),
        (
            f'name = "x"\nseeds = ["{SEED}"]\nsince = 2018-01-01T00:00:00\nuntil = 2018-02-01',
            "not a time",
        ),
        ('name = "x"\nseeds = ["http://example.com:99999/"]', "no valid port"),
        (f'name = "{"x" * 201}"\nseeds = ["{SEED}"]', "201 characters long; at most 200"),
        (f'name = "x"\nseeds = ["{SEED}"]\nmax_depth = 2.5', "a whole number"),
        (f'name = "x"\nseeds = ["{SEED}"]\nbroad = 1', "true or false"),
        (f'name = "x"\nseeds = ["{SEED}"]\nsearch = ["altavista"]', "unknown 'altavista'"),
        (f'name = "x"\nseeds = ["{SEED}"]\nthreshold = 1.5', "from 0 to 1"),
        (f'name = "x"\nseeds = ["{SEED}"]\nthreshold = "high"', "a number from 0 to 1"),
        ('name = "x"\nseeds = [', "not valid TOML"),
    ],
)
def test_bad_story_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(StoryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        story_from_file(write(tmp_path, text))


def test_the_story_name_fits_the_database_column() -> None:
    from archive.db import models

    assert models.Story.name.type.length == STORY_NAME_LENGTH


def test_every_storycrawl_setting_has_a_rule() -> None:
    from crawler import settings

    names = {name for name in dir(settings) if name.startswith("STORYCRAWL_")}
    assert names == set(SETTINGS)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CONCURRENT_REQUESTS", "abc", "-s CONCURRENT_REQUESTS must be a whole number"),
        ("DOWNLOAD_DELAY", "soon", "-s DOWNLOAD_DELAY must be a number"),
        ("ROBOTSTXT_OBEY", "maybe", "-s ROBOTSTXT_OBEY must be true or false"),
        ("STORYCRAWL_THRESHOLD", "2", "-s STORYCRAWL_THRESHOLD must be a number from 0 to 1"),
        ("STORYCRAWL_DB_BATCH", "0", "-s STORYCRAWL_DB_BATCH must be a whole number from 1"),
        ("STORYCRAWL_WARC_PREFIX", "../x", "may hold only letters"),
        ("STORYCRAWL_TRESHOLD", "0.5", "no such storycrawl setting"),
    ],
)
def test_bad_settings_say_what_is_wrong(name: str, value: str, message: str) -> None:
    with pytest.raises(BadInput, match=re.escape(message)):
        setting_overrides([f"{name}={value}"])


def test_good_settings_are_converted() -> None:
    assert setting_overrides(["CONCURRENT_REQUESTS=4", "STORYCRAWL_DEDUP=false"]) == {
        "CONCURRENT_REQUESTS": 4,
        "STORYCRAWL_DEDUP": False,
    }
    assert setting_overrides(["LOG_FILE=", "SOME_PLUGIN_SETTING=x"]) == {
        "LOG_FILE": "",
        "SOME_PLUGIN_SETTING": "x",
    }


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(StoryError, match="not found"):
        story_from_file(tmp_path / "nope.toml")


def test_story_from_options_alone() -> None:
    story = build_story({}, {"name": "s", "seeds": (SEED,), "keywords": ("Aegis",)})
    assert story.seeds == (SEED,) and story.keywords == ("Aegis",)
    assert story.as_json() == {
        "name": "s", "seeds": [SEED], "keywords": ["Aegis"], "max_pages": 5000,
        "max_pages_per_site": 1000, "max_depth": 6, "data": "storycrawl-data",
        "recrawl_after": "1d",
    }  # fmt: skip

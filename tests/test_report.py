"""`storycrawl report`: the story as one HTML page, opened in a real headless Chromium.

The page must open from a USB stick: Chromium loads it from a file, and any request to
anything but that file (a CDN's script, a web font) fails the test, as does any console
message of error level. The screenshot is kept in ``test-artifacts/`` (or
``$STORYCRAWL_TEST_ARTIFACTS``) for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from crawler.cli import main
from tests.conftest import CrawlRun
from tests.test_cli import STORY, one_line_error

ARTIFACTS = Path(os.environ.get("STORYCRAWL_TEST_ARTIFACTS", "test-artifacts"))


@dataclass(frozen=True)
class Opened:
    marks: int
    hollow_marks: int
    mark_titles: list[str]
    text: str
    links: list[str]
    console_errors: list[str]
    foreign_requests: list[str]


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = "Debian's chromium is not installed (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


def open_in_chromium(page_file: Path, screenshot: Path) -> Opened:
    """Load the page as a reader would, and read what the browser made of it. Run in a
    thread of its own: Playwright's sync API refuses a thread with an asyncio loop."""
    from playwright.sync_api import sync_playwright

    executable = chromium()
    url = page_file.resolve().as_uri()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            errors: list[str] = []
            foreign: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda r: foreign.append(r.url) if r.url != url else None)
            page.goto(url, wait_until="load")
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot))
            return Opened(
                marks=page.locator("svg.timeline circle.mark").count(),
                hollow_marks=page.locator("svg.timeline circle.mark.copy").count(),
                mark_titles=page.locator("svg.timeline circle.mark title").all_text_contents(),
                text=page.locator("body").inner_text(),
                links=[a.get_attribute("href") or "" for a in page.locator("a[href]").all()],
                console_errors=errors,
                foreign_requests=foreign,
            )
        finally:
            browser.close()


def in_thread(function, *args):
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result(timeout=120)


@pytest.fixture(scope="module")
def crawled(story_crawl: CrawlRun) -> CrawlRun:
    assert story_crawl.returncode == 0, story_crawl.stderr[-3000:]
    return story_crawl


@pytest.fixture(scope="module")
def matched(crawled: CrawlRun) -> list[dict]:
    """Every matched article, syndicated copies too, as export gives them."""
    return crawled.export("--include-duplicates")


@pytest.fixture(scope="module")
def originals(crawled: CrawlRun) -> list[dict]:
    """The matched articles less the copies: export's default."""
    return crawled.export()


@pytest.fixture(scope="module")
def report_file(crawled: CrawlRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "story.html"
    pattern = "http://localhost:8080/{collection}/{timestamp}/{url}"
    status = main(["report", STORY, "--data", str(crawled.data), "--out", str(out),
                   "--replay-url", pattern])  # fmt: skip
    assert status == 0
    return out


@pytest.fixture(scope="module")
def opened(report_file: Path) -> Opened:
    chromium()
    return in_thread(open_in_chromium, report_file, ARTIFACTS / "report.png")


def test_report_opens_offline_with_no_console_error(opened: Opened) -> None:
    assert opened.console_errors == []
    assert opened.foreign_requests == [], "the report fetched something besides itself"
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


def test_timeline_has_one_mark_per_matched_article(opened: Opened, matched: list[dict]) -> None:
    copies = [row for row in matched if row["duplicate_of"]]
    assert matched and copies, "the demo story has matches and a syndicated copy"
    assert opened.marks == len(matched)
    assert opened.hollow_marks == len(copies)
    for row in matched:
        assert any(title.startswith(row["title"]) for title in opened.mark_titles), row["title"]


def test_every_match_is_listed_with_its_reason_and_archived_capture(
    opened: Opened, originals: list[dict]
) -> None:
    for row in originals:
        assert row["title"] in opened.text
    assert opened.text.count("Why: ") == len(originals)
    assert "no reason recorded" not in opened.text
    replay = [link for link in opened.links if link.startswith("http://localhost:8080/")]
    assert len(replay) == len(originals)
    for link in replay:
        assert re.fullmatch(rf"http://localhost:8080/{STORY}/\d{{14}}/http://127\.0\.0\.\d+:\d+/.+",
                            link), link  # fmt: skip


def test_report_groups_syndicated_copies_and_lists_near_misses(
    opened: Opened, matched: list[dict]
) -> None:
    copies = [row for row in matched if row["duplicate_of"]]
    assert f"Syndicated copies ({len(copies)})" in opened.text
    near = opened.text.split("Near misses", 1)[1].split("Crawls", 1)[0]
    assert "below the threshold" in near
    runs = opened.text.split("Crawls", 1)[1]
    assert "finished" in runs


def test_report_with_a_bad_replay_pattern_is_a_one_line_error(
    crawled: CrawlRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.html"
    status = main(["report", STORY, "--data", str(crawled.data), "--out", str(out),
                   "--replay-url", "http://x/{coll}/{url}"])  # fmt: skip
    one_line_error(status, capsys.readouterr().err, "{coll}")
    assert not out.exists()


def test_report_of_an_unknown_story_is_a_one_line_error(
    crawled: CrawlRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.html"
    status = main(["report", "nope", "--data", str(crawled.data), "--out", str(out)])
    one_line_error(status, capsys.readouterr().err, "nope")
    assert list(tmp_path.iterdir()) == []

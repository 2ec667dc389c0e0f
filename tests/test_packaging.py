"""Packaging as a Scrapy project is used: `scrapy crawl` after `pip install` is tested in
test_cli; here, the egg `scrapyd-deploy` builds for a Scrapyd server."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_scrapyd_deploy_builds_an_egg_scrapyd_can_run(tmp_path: Path) -> None:
    # A copy: scrapyd-deploy writes a setup.py into the project it packages.
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "scrapy.cfg", "README.md"):
        shutil.copy(ROOT / name, project)
    for package in ("crawler", "archive"):
        shutil.copytree(ROOT / package, project / package,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    egg = tmp_path / "storycrawl.egg"
    done = subprocess.run(
        [str(Path(sys.executable).with_name("scrapyd-deploy")), "--build-egg", str(egg)],
        cwd=project, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    with zipfile.ZipFile(egg) as archive:
        names = set(archive.namelist())
        entry_points = archive.read("EGG-INFO/entry_points.txt").decode()
    assert {"crawler/settings.py", "crawler/spiders/story.py", "archive/judge/data/model.json",
            "archive/db/migrations/env.py"} <= names  # fmt: skip
    # Scrapyd reads the settings module from this entry point of the egg.
    assert "[scrapy]\nsettings = crawler.settings" in entry_points

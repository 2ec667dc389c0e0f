"""`scrapy crawl` from any folder: Scrapy's own crawl command, with storycrawl's settings
when no Scrapy project is found.

Scrapy offers `crawl` only inside a project (a scrapy.cfg in the folder or above it, or
SCRAPY_SETTINGS_MODULE), so after `pip install storycrawl` a user elsewhere met "The crawl
command is not available from this location". This command, registered under Scrapy's
`scrapy.commands` entry point, takes its place: inside any project it is Scrapy's, unchanged;
outside one it runs with crawler.settings, as `storycrawl crawl` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.commands.crawl import Command
from scrapy.utils.project import inside_project

if TYPE_CHECKING:
    import argparse


class Crawl(Command):
    requires_project = False

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if not inside_project():
            # Below the command line's -s, as a project's settings module would be.
            self.settings.setmodule("crawler.settings", priority="project")
        super().process_options(args, opts)

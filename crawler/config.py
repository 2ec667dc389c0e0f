"""storycrawl's own settings, read once from Scrapy's and checked together."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Self

from archive.db.engine import StoreError, database_url, open_engine
from archive.db.repository import Store
from crawler import __version__
from crawler.schema import SETTINGS

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings


def user_agent(contact: str = "") -> str:
    """An honest User-Agent: who we are, and how a site owner reaches the operator."""
    reach = f"; +{contact}" if contact else ""
    return f"storycrawl/{__version__} (news story archiving crawler{reach})"


@dataclass(frozen=True)
class Config:
    data_dir: Path
    db_url: str
    warc_dir: Path
    warc_prefix: str
    warc_max_size: int
    db_batch: int
    extract_workers: int
    allow_private: bool
    dedup: bool
    extract: bool
    requisites: bool  # accepted articles archived whole: images, stylesheets, scripts, fonts
    named_sites: frozenset[str]
    link_floor: float
    threshold: float
    operator: str
    gdelt_url: str  # a story's `search = ["gdelt"]` queries it; tests point it at loopback

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        """SchemaError (a ValueError) with a one-line message for a value that breaks its
        rule (crawler.schema.SETTINGS), however it was set: ``-s``, a story, Scrapyd."""
        checked = {name: rule.check(name, settings.get(name)) for name, rule in SETTINGS.items()}
        data_dir = checked["STORYCRAWL_DATA_DIR"]
        return cls(
            data_dir=data_dir,
            db_url=database_url(data_dir, checked["STORYCRAWL_DB"]),
            warc_dir=checked["STORYCRAWL_WARC_DIR"] or data_dir / "warc",
            warc_prefix=checked["STORYCRAWL_WARC_PREFIX"],
            warc_max_size=checked["STORYCRAWL_WARC_MAX_SIZE"],
            db_batch=checked["STORYCRAWL_DB_BATCH"],
            extract_workers=checked["STORYCRAWL_EXTRACT_WORKERS"] or os.cpu_count() or 1,
            allow_private=checked["STORYCRAWL_ALLOW_PRIVATE"],
            dedup=checked["STORYCRAWL_DEDUP"],
            extract=checked["STORYCRAWL_EXTRACT"],
            requisites=checked["STORYCRAWL_REQUISITES"],
            named_sites=frozenset(settings.getlist("STORYCRAWL_NAMED_SITES")),
            link_floor=checked["STORYCRAWL_LINK_FLOOR"],
            threshold=checked["STORYCRAWL_THRESHOLD"],
            operator=checked["STORYCRAWL_CONTACT"] or "",
            gdelt_url=checked["STORYCRAWL_GDELT_URL"],
        )

    def prepare_storage(self) -> Store:
        """Create the data and WARC directories and open the database, or say what is
        wrong (StoreError) before anything is fetched."""
        for directory in (self.data_dir, self.warc_dir):
            directory.mkdir(parents=True, exist_ok=True)
            if not os.access(directory, os.W_OK):
                raise StoreError(f"cannot write to directory {str(directory)!r}")
        return self.store()

    def store(self) -> Store:
        """The database, created at the head revision if new (StoreError if unusable)."""
        return Store(open_engine(self.db_url))

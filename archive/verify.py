"""Do the database and the WARC files agree? Every page row must point at its own record.

A row whose file, offset or digest is wrong loses its capture silently: export would hand
out WARC coordinates that lead nowhere, and replay would show another page.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from warcio.exceptions import ArchiveLoadFailed

from archive.db import models
from archive.db.repository import Store
from archive.warc import OPEN_SUFFIX, payload_digest, read_record


@dataclass(frozen=True)
class Disagreement:
    page_id: int
    url: str
    problem: str

    def __str__(self) -> str:
        return f"page {self.page_id} {self.url}: {self.problem}"


def _problems(page: models.Page, warc_dir: Path) -> Iterator[str]:
    path = warc_dir / page.warc_file
    if not path.exists():
        # Rows name the file as it is once closed; a crawl killed before closing it left
        # the records under the name they were written to.
        path = path.with_name(page.warc_file + OPEN_SUFFIX)
    if not path.exists():
        yield f"WARC file {page.warc_file} is missing"
        return
    try:
        record = read_record(path, page.warc_offset)
    except (ArchiveLoadFailed, EOFError, OSError, zlib.error, ValueError) as exc:
        reason = str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__
        yield f"no readable record at {page.warc_file}:{page.warc_offset} ({reason})"
        return
    expected = {
        "record id": (page.warc_record_id, record.record_id),
        "record type": (page.warc_type, record.rec_type),
        "target URI": (page.url, record.url),
        "length": (page.warc_length, record.length),
        "payload digest": (
            page.payload_digest,
            record.warc_headers.get_header("WARC-Payload-Digest"),
        ),
    }
    for name, (in_db, in_warc) in expected.items():
        if in_db != in_warc:
            yield f"{name} differs (database {in_db!r}, WARC {in_warc!r})"
    if record.rec_type == "response" and payload_digest(record.payload) != page.payload_digest:
        yield "payload does not match its digest (the file was changed or damaged)"


def check_pages(store: Store, warc_dir: Path) -> Iterator[Disagreement]:
    """Every disagreement between the page rows and the WARC files, streamed."""
    with Session(store.engine) as session:
        pages = session.scalars(
            select(models.Page).order_by(models.Page.id).execution_options(yield_per=500)
        )
        for page in pages:
            for problem in _problems(page, warc_dir):
                yield Disagreement(page.id, page.url, problem)


def count_pages(store: Store) -> int:
    with Session(store.engine) as session:
        return session.scalar(select(func.count()).select_from(models.Page)) or 0

"""Batched writes on one background thread: the reactor never waits on the database, and
SQLite sees a single writer. After a batch fails no other is written: batches are written
in order, and a later one may hold the links of a page in the one that failed."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from archive.db.engine import StoreError
from archive.db.items import BatchItem, PageRecord
from archive.db.repository import Store


class BatchWriter:
    """Collects page records and writes them in batches on one background thread."""

    def __init__(
        self,
        store: Store,
        crawl_id: int,
        story_id: int,
        batch_size: int,
        on_failure: Callable[[StoreError], None] | None = None,
    ):
        self.store = store
        self.on_failure = on_failure  # called on the writer's thread, once
        self.failure: StoreError | None = None
        self.crawl_id = crawl_id
        self.story_id = story_id
        self.batch_size = batch_size
        self._pending: list[BatchItem] = []
        self._rows = 0  # that the pending items make: a page's links are rows too
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storycrawl-db")
        self._sent: list[Future] = []

    def add(self, record: BatchItem) -> Future | None:
        """Queue a record; return the write's future when a batch was sent off."""
        self._pending.append(record)
        self._rows += 1 + len(record.links) if isinstance(record, PageRecord) else 1
        if self._rows >= self.batch_size:
            return self.flush()
        return None

    def flush(self) -> Future:
        batch, self._pending, self._rows = self._pending, [], 0
        future = self._thread.submit(self._write, batch)
        self._sent = [f for f in self._sent if not f.done() or f.exception()] + [future]
        return future

    def _write(self, batch: list[BatchItem]) -> None:
        if self.failure:
            raise self.failure
        try:
            self.store.write_batch(self.crawl_id, self.story_id, batch)
        except StoreError as exc:
            self.failure = exc
            if self.on_failure:
                self.on_failure(exc)
            raise

    def close(self) -> None:
        """Write what is left and wait for every batch; raise the first write that failed."""
        if self._pending:
            self.flush()
        self._thread.shutdown(wait=True)
        for future in self._sent:
            future.result()

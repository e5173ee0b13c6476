"""Blob writes that outlive a hard kill of the local stack: a journal in SQLite in front of Azurite.

Azurite acknowledges a write at once but keeps its blob and container metadata in memory, saving it to
disk every 5 seconds (LokiJS autosave, fixed in its code); a SIGKILL of the stack forgets everything it
acknowledged in the seconds before. SQLite (the job store, the embedded queue) keeps what it commits. So
here every blob the service writes, and every client upload the service accepts (`retain`), is first
committed to a journal; `restore` (at start, before any trigger runs) puts back each journaled blob
Azurite lost, and a read that finds a journaled blob missing is answered from the journal. An entry is
dropped once Azurite has certainly saved it (SETTLE_SECONDS after it was last written there).

In Azure, Blob storage is durable once it acknowledges, and bootstrap uses the store without a journal.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from shared.adapters.blob_artifacts import BlobArtifactStore
from shared.adapters.sqlite_db import SqliteDatabase
from shared.domain.errors import DependencyError, InputNotFoundError, InputTooLargeError

logger = logging.getLogger(__name__)

# Azurite saves its metadata every 5 s; an entry written this long ago is on its disk with a wide margin.
SETTLE_SECONDS = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS blobs (
    container TEXT NOT NULL,
    blob TEXT NOT NULL,
    data BLOB NOT NULL,
    content_type TEXT NOT NULL,
    stored_at REAL NOT NULL,
    PRIMARY KEY (container, blob)
);
CREATE INDEX IF NOT EXISTS blobs_stored_at ON blobs (stored_at);
"""


class JournaledArtifactStore:
    """An ArtifactStore: Blob storage (`storage`), with each acknowledged write journaled first."""

    def __init__(self, storage: BlobArtifactStore, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.storage = storage
        self._db = SqliteDatabase(path, _SCHEMA)
        self._clock = clock
        self._pruned_at = 0.0
        self._prune_lock = threading.Lock()

    def ensure_container(self, container: str) -> None:
        self.storage.ensure_container(container)

    def put(self, container: str, blob: str, data: bytes, content_type: str, *, overwrite: bool = True) -> bool:
        verb = "INSERT OR REPLACE" if overwrite else "INSERT OR IGNORE"
        journaled = self._db.run(
            f"{verb} INTO blobs VALUES (?, ?, ?, ?, ?)",
            (container, blob, data, content_type, self._clock()),
        ).rowcount
        written = self.storage.put(container, blob, data, content_type, overwrite=overwrite)
        if not written and journaled:  # the blob was there already: the journal keeps what storage holds
            self._db.run("DELETE FROM blobs WHERE container = ? AND blob = ?", (container, blob))
        self._prune()
        return written

    def retain(self, container: str, blob: str, data: bytes, content_type: str) -> None:
        self._db.run(
            "INSERT OR IGNORE INTO blobs VALUES (?, ?, ?, ?, ?)", (container, blob, data, content_type, self._clock())
        )

    def get(self, container: str, blob: str, *, max_bytes: int) -> bytes:
        try:
            return self.storage.get(container, blob, max_bytes=max_bytes)
        except (InputNotFoundError, DependencyError):  # lost, or half-remembered (see `restore`)
            row = self._db.run(
                "SELECT data, content_type FROM blobs WHERE container = ? AND blob = ?", (container, blob)
            ).fetchone()
            if row is None:
                raise
        data, content_type = bytes(row[0]), str(row[1])
        logger.warning("Blob %s/%s was lost by storage; restored from the journal", container, blob)
        self._store(container, blob, data, content_type)
        if len(data) > max_bytes:
            raise InputTooLargeError(
                f"Blob {container}/{blob} is {len(data)} bytes; the limit is {max_bytes}.", target="inputData"
            )
        return data

    def delete_container(self, container: str) -> None:
        self.storage.delete_container(container)
        self._db.run("DELETE FROM blobs WHERE container = ?", (container,))

    def blob_url(self, container: str, blob: str) -> str:
        return self.storage.blob_url(container, blob)

    def container_url(self, container: str) -> str:
        return self.storage.container_url(container)

    def locate(self, url: str) -> tuple[str, str] | None:
        return self.storage.locate(url)

    def sas_token(self, container: str, blob: str | None, permissions: str, ttl: timedelta) -> str:
        return self.storage.sas_token(container, blob, permissions, ttl)

    def restore(self) -> int:
        """Put back every journaled blob storage does not hold as it was written; returns how many. Run
        before any trigger. Each is read back, not only looked up: Azurite saves its blob and its extent
        metadata apart, so after a kill it may list a blob whose content it can no longer serve (a 500)."""
        rows = self._db.run("SELECT container, blob, data, content_type FROM blobs").fetchall()
        restored = 0
        for container, blob, data, content_type in rows:
            if not self._holds(container, blob, bytes(data)):
                self._store(container, blob, bytes(data), content_type)
                restored += 1
        if restored:
            logger.warning("Restored %d blob(s) that storage lost in a crash (of %d journaled)", restored, len(rows))
        return restored

    def close(self) -> None:
        self._db.close()

    def _holds(self, container: str, blob: str, data: bytes) -> bool:
        try:
            return self.storage.get(container, blob, max_bytes=len(data)) == data
        except (InputNotFoundError, InputTooLargeError, DependencyError):
            return False

    def _store(self, container: str, blob: str, data: bytes, content_type: str) -> None:
        """Write a journaled blob to storage again; it settles anew from now."""
        self.storage.ensure_container(container)
        self.storage.put(container, blob, data, content_type)
        self._db.run(
            "UPDATE blobs SET stored_at = ? WHERE container = ? AND blob = ?", (self._clock(), container, blob)
        )

    def _prune(self) -> None:
        """Drop entries storage has certainly saved; at most once per settle period."""
        now = self._clock()
        with self._prune_lock:
            if now - self._pruned_at < SETTLE_SECONDS:
                return
            self._pruned_at = now
        self._db.run("DELETE FROM blobs WHERE stored_at < ?", (now - SETTLE_SECONDS,))

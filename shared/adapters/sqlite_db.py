"""One SQLite database file shared by threads: a connection per thread, WAL, errors as DependencyError."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from shared.domain.errors import DependencyError


class SqliteDatabase:
    def __init__(self, path: Path, schema: str) -> None:
        self._path = path
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as db:
            db.executescript(schema)

    def connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self._path, timeout=10.0, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def run(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        """Execute one statement; integrity errors pass through for the caller to name, others are transient."""
        try:
            return self.connect().execute(sql, params)
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as error:
            raise DependencyError(f"The local database {self._path.name} failed: {error}.") from error

    def close(self) -> None:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

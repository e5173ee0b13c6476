"""The local session store: a SQLite table beside the jobs, the session document as JSON with indexed columns."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from shared.adapters.sqlite_db import SqliteDatabase
from shared.adapters.sqlite_documents import COLUMNS, SqliteDocuments, detail_columns
from shared.adapters.stamps import stamp
from shared.domain.errors import SessionExistsError, SessionNotFoundError
from shared.domain.query import JobQuery, QueryField
from shared.domain.sessions import Session

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    final INTEGER NOT NULL,
    creation_time TEXT NOT NULL,
    last_activity TEXT NOT NULL,
    etag TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_creation ON sessions (creation_time, id);
CREATE INDEX IF NOT EXISTS sessions_open ON sessions (last_activity) WHERE final = 0;
"""
# Sessions have no job type; they are their own session id.
_COLUMNS = {**COLUMNS, QueryField.ITEM_TYPE: "'Session'", QueryField.JOB_TYPE: "NULL", QueryField.SESSION_ID: "id"}


class SqliteSessionStore:
    def __init__(self, path: Path) -> None:
        self._documents = SqliteDocuments(
            SqliteDatabase(path, _SCHEMA), "sessions", Session, _columns, SessionExistsError, SessionNotFoundError
        )

    def create(self, session: Session) -> Session:
        return self._documents.create(session)

    def get(self, session_id: str) -> Session | None:
        return self._documents.get(session_id)

    def replace(self, session: Session) -> Session:
        return self._documents.replace(session)

    def query(self, query: JobQuery) -> list[Session]:
        return self._documents.page(query, _COLUMNS)

    def idle(self, before: datetime, limit: int) -> list[Session]:
        return self._documents.select(
            "SELECT doc, etag FROM sessions WHERE final = 0 AND last_activity < ? ORDER BY last_activity LIMIT ?",
            (stamp(before), limit),
        )


def _columns(session: Session) -> dict[str, object]:
    return {
        **detail_columns(session.details),
        "final": int(session.is_final),
        "last_activity": stamp(session.last_activity),
    }

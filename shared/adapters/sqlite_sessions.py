"""The local session store: a SQLite table beside the jobs, the session document as JSON with indexed columns."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import datetime
from pathlib import Path

from shared.adapters.sqlite_db import SqliteDatabase
from shared.adapters.sqlite_jobs import compile_filter
from shared.adapters.stamps import stamp
from shared.domain.errors import SessionExistsError, SessionNotFoundError, StaleWriteError
from shared.domain.query import JobQuery, QueryField
from shared.domain.sessions import SESSION_FINAL, Session

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
_COLUMNS = {
    QueryField.NAME: "name",
    QueryField.ITEM_TYPE: "'Session'",
    QueryField.JOB_TYPE: "NULL",
    QueryField.PROVIDER_ID: "provider_id",
    QueryField.TARGET: "target",
    QueryField.STATE: "status",
    QueryField.CREATION_TIME: "creation_time",
    QueryField.SESSION_ID: "id",
}


class SqliteSessionStore:
    def __init__(self, path: Path) -> None:
        self._db = SqliteDatabase(path, _SCHEMA)

    def create(self, session: Session) -> Session:
        etag = uuid.uuid4().hex
        try:
            self._db.run(
                "INSERT INTO sessions (id, name, provider_id, target, status, final, creation_time, last_activity,"
                " etag, doc) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (*self._columns(session), etag, session.model_dump_json()),
            )
        except sqlite3.IntegrityError:
            raise SessionExistsError(f"Session '{session.id}' already exists.", target="sessionId") from None
        return session.model_copy(update={"etag": etag})

    def get(self, session_id: str) -> Session | None:
        row = self._db.run("SELECT doc, etag FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return None if row is None else self._load(row)

    def replace(self, session: Session) -> Session:
        if session.etag is None:
            raise StaleWriteError(f"Session '{session.id}' was not read from this store; read it before writing.")
        etag = uuid.uuid4().hex
        cursor = self._db.run(
            "UPDATE sessions SET name=?, provider_id=?, target=?, status=?, final=?, creation_time=?, last_activity=?,"
            " etag=?, doc=? WHERE id=? AND etag=?",
            (*self._columns(session)[1:], etag, session.model_dump_json(), session.id, session.etag),
        )
        if cursor.rowcount == 0:
            if self.get(session.id) is None:
                raise SessionNotFoundError(f"Session '{session.id}' does not exist.", target="sessionId")
            raise StaleWriteError(f"Session '{session.id}' changed since it was read.")
        return session.model_copy(update={"etag": etag})

    def query(self, query: JobQuery) -> list[Session]:
        params: list[object] = []
        where = f"WHERE {compile_filter(query.filter, params, _COLUMNS)}" if query.filter is not None else ""
        direction = "DESC" if query.orderby.descending else "ASC"
        params.extend((query.top, query.skip))
        rows = self._db.run(
            f"SELECT doc, etag FROM sessions {where} ORDER BY {_COLUMNS[query.orderby.field]} {direction},"  # noqa: S608 - columns come from a fixed table
            f" id {direction} LIMIT ? OFFSET ?",
            params,
        ).fetchall()
        return [self._load(row) for row in rows]

    def idle(self, before: datetime, limit: int) -> list[Session]:
        rows = self._db.run(
            "SELECT doc, etag FROM sessions WHERE final = 0 AND last_activity < ? ORDER BY last_activity LIMIT ?",
            (stamp(before), limit),
        ).fetchall()
        return [self._load(row) for row in rows]

    @staticmethod
    def _load(row: tuple[str, str]) -> Session:
        return Session.model_validate_json(row[0]).model_copy(update={"etag": row[1]})

    @staticmethod
    def _columns(session: Session) -> tuple[object, ...]:
        d = session.details
        return (
            d.id,
            d.name,
            d.provider_id,
            d.target,
            d.status.value,
            int(d.status in SESSION_FINAL),
            stamp(d.creation_time),
            stamp(session.last_activity),
        )

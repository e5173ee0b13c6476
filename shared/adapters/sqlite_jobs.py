"""The local job store: one SQLite table, the job document as JSON beside indexed columns.

Writes are conditional on the etag, as in Cosmos DB, so concurrent or repeated deliveries cannot
move a job backward. Filters from the list API compile to parameterised SQL.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from shared.adapters.sqlite_db import SqliteDatabase
from shared.adapters.stamps import stamp
from shared.domain.errors import JobExistsError, JobNotFoundError, StaleWriteError
from shared.domain.jobs import Job, JobStatus
from shared.domain.query import AllOf, Compare, Expr, JobQuery, Not, Op, QueryField, StartsWith

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    item_type TEXT NOT NULL,
    job_type TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    session_id TEXT,
    creation_time TEXT NOT NULL,
    last_updated_time TEXT NOT NULL,
    etag TEXT NOT NULL,
    doc TEXT NOT NULL,
    events_pending INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_by_creation ON jobs (creation_time, id);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, last_updated_time);
CREATE INDEX IF NOT EXISTS jobs_by_provider ON jobs (provider_id, creation_time);
"""
# Stores made before job events existed lack the outbox column; adding it is the only migration so far.
_OUTBOX_COLUMN = "ALTER TABLE jobs ADD COLUMN events_pending INTEGER NOT NULL DEFAULT 0"
_OUTBOX_INDEX = "CREATE INDEX IF NOT EXISTS jobs_unpublished ON jobs (last_updated_time) WHERE events_pending = 1"
_COLUMNS = {
    QueryField.NAME: "name",
    QueryField.ITEM_TYPE: "item_type",
    QueryField.JOB_TYPE: "job_type",
    QueryField.PROVIDER_ID: "provider_id",
    QueryField.TARGET: "target",
    QueryField.STATE: "status",
    QueryField.CREATION_TIME: "creation_time",
    QueryField.SESSION_ID: "session_id",
}
_OPS = {Op.EQ: "=", Op.NE: "!=", Op.GT: ">", Op.GE: ">=", Op.LT: "<", Op.LE: "<="}


class SqliteJobStore:
    def __init__(self, path: Path) -> None:
        self._db = SqliteDatabase(path, _SCHEMA)
        with self._db.connect() as db:
            if "events_pending" not in {row[1] for row in db.execute("PRAGMA table_info(jobs)")}:
                db.execute(_OUTBOX_COLUMN)
            db.execute(_OUTBOX_INDEX)

    def create(self, job: Job) -> Job:
        etag = uuid.uuid4().hex
        try:
            self._db.run(
                "INSERT INTO jobs (id, name, item_type, job_type, provider_id, target, status, session_id,"
                " creation_time, last_updated_time, events_pending, etag, doc) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (*self._columns(job), etag, job.model_dump_json()),
            )
        except sqlite3.IntegrityError:
            raise JobExistsError(f"Job '{job.id}' already exists.", target="jobId") from None
        return job.model_copy(update={"etag": etag})

    def get(self, job_id: str) -> Job | None:
        row = self._db.run("SELECT doc, etag FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else self._load(row)

    def replace(self, job: Job) -> Job:
        if job.etag is None:
            raise StaleWriteError(f"Job '{job.id}' was not read from this store; read it before writing.")
        etag = uuid.uuid4().hex
        columns = self._columns(job)
        cursor = self._db.run(
            "UPDATE jobs SET name=?, item_type=?, job_type=?, provider_id=?, target=?, status=?, session_id=?,"
            " creation_time=?, last_updated_time=?, events_pending=?, etag=?, doc=? WHERE id=? AND etag=?",
            (*columns[1:], etag, job.model_dump_json(), job.id, job.etag),
        )
        if cursor.rowcount == 0:
            if self.get(job.id) is None:
                raise JobNotFoundError(f"Job '{job.id}' does not exist.", target="jobId")
            raise StaleWriteError(f"Job '{job.id}' changed since it was read.")
        return job.model_copy(update={"etag": etag})

    def delete(self, job_id: str) -> bool:
        return self._db.run("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount > 0

    def query(self, query: JobQuery) -> list[Job]:
        params: list[object] = []
        conditions = ["session_id IS NULL"] if query.top_level else []
        if query.filter is not None:
            conditions.append(compile_filter(query.filter, params, _COLUMNS))
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        direction = "DESC" if query.orderby.descending else "ASC"
        column = _COLUMNS[query.orderby.field]
        params.extend((query.top, query.skip))
        rows = self._db.run(
            f"SELECT doc, etag FROM jobs {where} ORDER BY {column} {direction}, id {direction} LIMIT ? OFFSET ?",  # noqa: S608 - columns come from a fixed table
            params,
        ).fetchall()
        return [self._load(row) for row in rows]

    def older_than(self, status: JobStatus, before: datetime, limit: int) -> list[Job]:
        rows = self._db.run(
            "SELECT doc, etag FROM jobs WHERE status = ? AND last_updated_time < ? ORDER BY last_updated_time LIMIT ?",
            (status.value, stamp(before), limit),
        ).fetchall()
        return [self._load(row) for row in rows]

    def count_created_since(self, provider_id: str, since: datetime) -> int:
        row = self._db.run(
            "SELECT COUNT(*) FROM jobs WHERE provider_id = ? AND creation_time >= ?",
            (provider_id, stamp(since)),
        ).fetchone()
        return int(row[0])

    def unpublished(self, since: datetime, before: datetime, limit: int) -> list[Job]:
        rows = self._db.run(
            "SELECT doc, etag FROM jobs WHERE events_pending = 1 AND last_updated_time >= ?"
            " AND last_updated_time < ? ORDER BY last_updated_time LIMIT ?",
            (stamp(since), stamp(before), limit),
        ).fetchall()
        return [self._load(row) for row in rows]

    def close(self) -> None:
        self._db.close()

    @staticmethod
    def _load(row: tuple[str, str]) -> Job:
        return Job.model_validate_json(row[0]).model_copy(update={"etag": row[1]})

    @staticmethod
    def _columns(job: Job) -> tuple[object, ...]:
        d = job.details
        return (
            d.id,
            d.name,
            d.item_type,
            d.job_type,
            d.provider_id,
            d.target,
            d.status.value,
            d.session_id,
            stamp(d.creation_time),
            stamp(d.last_updated_time),
            int(bool(job.unpublished_changes())),
        )


def compile_filter(expr: Expr, params: list[object], columns: Mapping[QueryField, str]) -> str:
    """A filter as a parameterised SQL condition over `columns`."""
    if isinstance(expr, Compare):
        value = stamp(expr.value) if isinstance(expr.value, datetime) else expr.value
        params.append(value)
        return f"{columns[expr.field]} {_OPS[expr.op]} ?"
    if isinstance(expr, StartsWith):
        params.extend((len(expr.prefix), expr.prefix))
        return f"substr({columns[expr.field]}, 1, ?) = ?"
    if isinstance(expr, Not):
        return f"NOT ({compile_filter(expr.item, params, columns)})"
    joiner = " AND " if isinstance(expr, AllOf) else " OR "
    return "(" + joiner.join(compile_filter(item, params, columns) for item in expr.items) + ")"

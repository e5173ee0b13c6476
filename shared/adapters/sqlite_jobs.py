"""The local job store: one SQLite table, the job document as JSON beside indexed columns.

Writes are conditional on the etag, as in Cosmos DB, so concurrent or repeated deliveries cannot
move a job backward (`SqliteDocuments`). Filters from the list API compile to parameterised SQL.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from shared.adapters.sqlite_db import SqliteDatabase
from shared.adapters.sqlite_documents import COLUMNS, SqliteDocuments, detail_columns
from shared.adapters.stamps import stamp
from shared.domain.errors import JobExistsError, JobNotFoundError
from shared.domain.jobs import Job, JobStatus
from shared.domain.query import JobQuery

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


class SqliteJobStore:
    def __init__(self, path: Path) -> None:
        self._db = SqliteDatabase(path, _SCHEMA)
        with self._db.connect() as db:
            if "events_pending" not in {row[1] for row in db.execute("PRAGMA table_info(jobs)")}:
                db.execute(_OUTBOX_COLUMN)
            db.execute(_OUTBOX_INDEX)
        self._documents = SqliteDocuments(self._db, "jobs", Job, _columns, JobExistsError, JobNotFoundError)

    def create(self, job: Job) -> Job:
        return self._documents.create(job)

    def get(self, job_id: str) -> Job | None:
        return self._documents.get(job_id)

    def replace(self, job: Job) -> Job:
        return self._documents.replace(job)

    def delete(self, job_id: str) -> bool:
        return self._documents.delete(job_id)

    def query(self, query: JobQuery) -> list[Job]:
        return self._documents.page(query, COLUMNS, "session_id IS NULL" if query.top_level else None)

    def older_than(self, status: JobStatus, before: datetime, limit: int) -> list[Job]:
        return self._documents.select(
            "SELECT doc, etag FROM jobs WHERE status = ? AND last_updated_time < ? ORDER BY last_updated_time LIMIT ?",
            (status.value, stamp(before), limit),
        )

    def count_created_since(self, provider_id: str, since: datetime) -> int:
        row = self._db.run(
            "SELECT COUNT(*) FROM jobs WHERE provider_id = ? AND creation_time >= ?",
            (provider_id, stamp(since)),
        ).fetchone()
        return int(row[0])

    def unpublished(self, since: datetime, before: datetime, limit: int) -> list[Job]:
        return self._documents.select(
            "SELECT doc, etag FROM jobs WHERE events_pending = 1 AND last_updated_time >= ?"
            " AND last_updated_time < ? ORDER BY last_updated_time LIMIT ?",
            (stamp(since), stamp(before), limit),
        )

    def close(self) -> None:
        self._db.close()


def _columns(job: Job) -> dict[str, object]:
    d = job.details
    return {
        **detail_columns(d),
        "item_type": d.item_type,
        "job_type": d.job_type,
        "session_id": d.session_id,
        "last_updated_time": stamp(d.last_updated_time),
        "events_pending": int(bool(job.unpublished_changes())),
    }

"""The local job store: one SQLite table, the job document as JSON beside indexed columns.

Writes are conditional on the etag, as in Cosmos DB, so concurrent or repeated deliveries cannot
move a job backward (`SqliteDocuments`). Filters from the list API compile to parameterised SQL.

Costs do not grow with the store: each orderable column has an index on (column, creation time, id), the
list order, so a filter on one column and any order are an index range read only as far as the page, and a
continuation (nextLink) is a range start, not an offset. The quota's job counts per provider and period are
a table that triggers keep in the same transaction as each insert and delete, so submit reads one row.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from shared.adapters.sqlite_db import SqliteDatabase
from shared.adapters.sqlite_documents import COLUMNS, SqliteDocuments, detail_columns
from shared.adapters.stamps import stamp
from shared.domain.catalog import ALL_TIME
from shared.domain.errors import JobExistsError, JobNotFoundError
from shared.domain.jobs import Job, JobStatus
from shared.domain.query import JobQuery, QueryField

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
"""
# A job's quota periods (`quota_periods`): all time, and the UTC month its creation stamp begins with.
_COUNT = (
    f"INSERT INTO job_counts VALUES (new.provider_id, '{ALL_TIME}', 1), (new.provider_id,"  # noqa: S608 - constants
    " substr(new.creation_time, 1, 7), 1) ON CONFLICT DO UPDATE SET jobs = jobs + 1;"
)
_UNCOUNT = (
    "UPDATE job_counts SET jobs = jobs - 1 WHERE provider_id = old.provider_id"  # noqa: S608 - constants
    f" AND period IN ('{ALL_TIME}', substr(old.creation_time, 1, 7));"
)
# Migrations of a store made by an earlier version, each applied once, in order, in one transaction at start;
# PRAGMA user_version counts those applied. A store from before any version number has the jobs table and maybe
# the outbox column (the first migration, which checks), nothing else.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    ("ALTER TABLE jobs ADD COLUMN events_pending INTEGER NOT NULL DEFAULT 0",),
    (
        "CREATE INDEX IF NOT EXISTS jobs_unpublished ON jobs (last_updated_time) WHERE events_pending = 1",
        # The list orders: (column, creation time, id) for each orderable column; jobs outside sessions are
        # the range session_id IS NULL of jobs_list_session_id.
        "DROP INDEX IF EXISTS jobs_by_provider",
        *(
            f"CREATE INDEX IF NOT EXISTS jobs_list_{column} ON jobs ({column}, creation_time, id)"
            for column in ("name", "item_type", "job_type", "provider_id", "target", "status", "session_id")
        ),
        # Jobs created per provider and quota period, counted once from the jobs, then kept by triggers.
        (
            "CREATE TABLE IF NOT EXISTS job_counts (provider_id TEXT NOT NULL, period TEXT NOT NULL,"
            " jobs INTEGER NOT NULL, PRIMARY KEY (provider_id, period)) WITHOUT ROWID"
        ),
        (
            f"INSERT INTO job_counts SELECT provider_id, '{ALL_TIME}', COUNT(*) FROM jobs GROUP BY provider_id"  # noqa: S608 - constants
            " UNION ALL SELECT provider_id, substr(creation_time, 1, 7), COUNT(*) FROM jobs GROUP BY 1, 2"
        ),
        f"CREATE TRIGGER jobs_counted AFTER INSERT ON jobs BEGIN {_COUNT} END",
        f"CREATE TRIGGER jobs_uncounted AFTER DELETE ON jobs BEGIN {_UNCOUNT} END",
        (
            "CREATE TRIGGER jobs_recounted AFTER UPDATE OF provider_id, creation_time ON jobs"
            " WHEN old.provider_id IS NOT new.provider_id OR old.creation_time IS NOT new.creation_time"
            f" BEGIN {_UNCOUNT} {_COUNT} END"
        ),
    ),
)
# A job's session is NULL outside sessions; ordered by SessionId, those come first, as '' would.
_NULLABLE = frozenset({QueryField.SESSION_ID})


class SqliteJobStore:
    def __init__(self, path: Path) -> None:
        self._db = SqliteDatabase(path, _SCHEMA)
        _migrate(self._db.connect())
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
        return self._documents.page(query, COLUMNS, "session_id IS NULL" if query.top_level else None, _NULLABLE)

    def older_than(self, status: JobStatus, before: datetime, limit: int) -> list[Job]:
        return self._documents.select(
            "SELECT doc, etag FROM jobs WHERE status = ? AND last_updated_time < ? ORDER BY last_updated_time LIMIT ?",
            (status.value, stamp(before), limit),
        )

    def count_created(self, provider_id: str, period: str) -> int:
        row = self._db.run(
            "SELECT jobs FROM job_counts WHERE provider_id = ? AND period = ?", (provider_id, period)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def unpublished(self, since: datetime, before: datetime, limit: int) -> list[Job]:
        return self._documents.select(
            "SELECT doc, etag FROM jobs WHERE events_pending = 1 AND last_updated_time >= ?"
            " AND last_updated_time < ? ORDER BY last_updated_time LIMIT ?",
            (stamp(since), stamp(before), limit),
        )

    def close(self) -> None:
        self._db.close()


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a store of an earlier version up to this one, at most once even if processes start together."""
    with db:
        db.execute("BEGIN IMMEDIATE")
        applied = int(db.execute("PRAGMA user_version").fetchone()[0])
        has_outbox = "events_pending" in {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
        for number, statements in enumerate(_MIGRATIONS[applied:], start=applied + 1):
            for statement in statements:
                if not (number == 1 and has_outbox):
                    db.execute(statement)
        db.execute(f"PRAGMA user_version = {len(_MIGRATIONS)}")


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

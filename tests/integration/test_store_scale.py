"""Costs that do not grow with the store, shown by SQLite's query plans rather than by timings (bench/scale.py).

Each list the SDK sends reads an index as far as its page (a continuation starts the range where the last
page ended), the documents are read by row id for that page alone, and the quota's counts are a table the
store keeps in each insert's transaction. A store made by an earlier version is migrated when it is opened.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from shared.adapters.sqlite_jobs import SqliteJobStore
from shared.domain.query import Continuation, JobQuery, SortKey, parse_filter
from tests.factories import new_job
from tests.query_shapes import Shape, sdk_shapes

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SHAPES = sdk_shapes(date(2026, 1, 1), date(2026, 2, 1), "s1")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteJobStore]:
    store = SqliteJobStore(tmp_path / "jobs.sqlite3")
    yield store
    store.close()


def plan(store: SqliteJobStore, query: JobQuery) -> tuple[list[str], list[str]]:
    """The query plan of the store's SQL for `query`: (the page's row ids, reading their documents)."""
    db = store._db.connect()
    statements: list[str] = []
    db.set_trace_callback(statements.append)
    try:
        store.query(query)
    finally:
        db.set_trace_callback(None)
    [sql] = statements  # one statement, its parameters inlined by the trace
    rows = db.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
    pages = {node for node, _, _, detail in rows if detail.startswith("LIST SUBQUERY")}
    inner = [detail for _, parent, _, detail in rows if parent in pages]
    outer = [detail for node, parent, _, detail in rows if parent not in pages and node not in pages]
    return inner, outer


def continued(shape: Shape) -> JobQuery:
    return replace(shape.query(), after=Continuation(100, SortKey("x", T0, "job-0001")))


@pytest.mark.parametrize("name", SHAPES)
def test_each_sdk_list_reads_an_index_as_far_as_its_page(store: SqliteJobStore, name: str) -> None:
    shape = SHAPES[name]
    for query in (shape.query(), continued(shape)):
        page, documents = plan(store, query)
        reads = [step for step in page if step.startswith(("SCAN", "SEARCH"))]
        assert reads and all(" INDEX " in step for step in reads), page  # never SCAN jobs, the whole table
        if shape.ordered_by_index:
            assert not any("TEMP B-TREE" in step for step in page), page  # in order as read: it stops at LIMIT
        assert documents[0] == "SEARCH jobs USING INTEGER PRIMARY KEY (rowid=?)", documents


def test_a_continuation_starts_the_index_range_where_the_last_page_ended(store: SqliteJobStore) -> None:
    page, _ = plan(store, continued(Shape(filter="(State eq 'Failed')", orderby="CreationTime desc")))
    assert page == ["SEARCH jobs USING COVERING INDEX jobs_list_status (status=? AND (creation_time,id)<(?,?))"]


def test_the_quota_count_is_one_row_of_a_table_kept_by_the_insert(store: SqliteJobStore) -> None:
    store.create(new_job("job-1", created=T0))
    db = store._db.connect()
    [step] = [
        row[3]
        for row in db.execute(
            "EXPLAIN QUERY PLAN SELECT jobs FROM job_counts WHERE provider_id = 'ionq' AND period = 'all'"
        )
    ]
    assert step == "SEARCH job_counts USING PRIMARY KEY (provider_id=? AND period=?)"
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO jobs SELECT * FROM jobs")  # a failed insert counts nothing: one transaction
    assert store.count_created("ionq", "all") == 1


# The job table as the version before this one made it (PRAGMA user_version 0), with the outbox column.
EARLIER = """
CREATE TABLE jobs (id TEXT PRIMARY KEY, name TEXT NOT NULL, item_type TEXT NOT NULL, job_type TEXT NOT NULL,
    provider_id TEXT NOT NULL, target TEXT NOT NULL, status TEXT NOT NULL, session_id TEXT,
    creation_time TEXT NOT NULL, last_updated_time TEXT NOT NULL, etag TEXT NOT NULL, doc TEXT NOT NULL,
    events_pending INTEGER NOT NULL DEFAULT 0);
CREATE INDEX jobs_by_creation ON jobs (creation_time, id);
CREATE INDEX jobs_by_status ON jobs (status, last_updated_time);
CREATE INDEX jobs_by_provider ON jobs (provider_id, creation_time);
CREATE INDEX jobs_unpublished ON jobs (last_updated_time) WHERE events_pending = 1;
"""


def test_a_store_of_the_earlier_version_is_migrated_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(EARLIER)
        for n, created in enumerate((T0, T0 + timedelta(days=1), T0 + timedelta(days=31))):
            job = new_job(f"job-{n}", created=created, name=f"old-{n}")
            row = (
                job.id,
                job.details.name,
                "Job",
                "QuantumComputing",
                "ionq",
                "ionq.simulator",
                "Waiting",
                None,
                created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "e",
                job.model_dump_json(),
                0,
            )
            db.execute("INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
    db.close()
    for _ in range(2):  # a second start finds it migrated and changes nothing
        store = SqliteJobStore(path)
        assert [store.count_created("ionq", period) for period in ("all", "2026-03", "2026-04")] == [3, 2, 1]
        assert [j.id for j in store.query(JobQuery(filter=parse_filter("startswith(Name, 'old-')")))] == [
            "job-0",
            "job-1",
            "job-2",
        ]
        store.close()
    store = SqliteJobStore(path)
    store.create(new_job("job-3", created=T0))
    assert store.count_created("ionq", "2026-03") == 3
    indexes = {row[0] for row in store._db.connect().execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "jobs_by_provider" not in indexes and {"jobs_list_name", "jobs_list_status"} <= indexes
    page, _ = plan(store, SHAPES["state"].query())
    assert not any("TEMP B-TREE" in step for step in page), page
    store.close()

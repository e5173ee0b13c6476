"""Store contracts: the SQLite and Cosmos DB stores (on a real Cosmos DB server) pass the same job and session tests."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.cosmos import CosmosClient, DatabaseProxy, PartitionKey

from shared.adapters.cosmos_jobs import PARTITION_KEY_PATH, CosmosJobStore
from shared.adapters.cosmos_sessions import CosmosSessionStore
from shared.adapters.sqlite_jobs import SqliteJobStore
from shared.adapters.sqlite_sessions import SqliteSessionStore
from shared.domain.errors import JobExistsError, SessionExistsError, StaleWriteError
from shared.domain.jobs import Job, JobStatus
from shared.domain.query import JobQuery, OrderBy, QueryField, parse_filter, sort_key
from shared.domain.sessions import Session, SessionDetails, SessionStatus
from shared.ports import JobStore, SessionStore
from tests.factories import new_job
from tests.servers import cosmosdb_server

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),  # the test server's own cert
]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# The containers' indexing policy as infra/ deploys it: the test server refuses an ORDER BY on several paths
# that no composite index of it serves, as Cosmos DB does.
INDEXING_POLICY = json.loads((Path(__file__).parents[2] / "infra/modules/cosmos-indexing.json").read_text())
# The Cosmos DB emulator's published key: the test server accepts any key, but the SDK wants base64.
COSMOS_EMULATOR_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="


def make_job(n: int, *, provider: str = "ionq", name: str | None = None, created: datetime | None = None) -> Job:
    return new_job(
        f"job-{n:04d}",
        created=created or T0 + timedelta(seconds=n),
        name=name or f"job {n:04d}",
        provider_id=provider,
        target="ionq.simulator" if provider == "ionq" else "quantinuum.sim.h2-1e",
    )


@pytest.fixture(scope="session")
def cosmos_database() -> Iterator[DatabaseProxy]:
    with cosmosdb_server() as port:
        client = CosmosClient(f"https://127.0.0.1:{port}", COSMOS_EMULATOR_KEY, connection_verify=False)
        yield client.create_database_if_not_exists("quantum")


@pytest.fixture(params=["sqlite", "cosmos"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> JobStore:
    if request.param == "sqlite":
        return SqliteJobStore(tmp_path / "jobs.sqlite3")
    database: DatabaseProxy = request.getfixturevalue("cosmos_database")
    container = database.create_container(
        f"jobs-{uuid.uuid4().hex[:8]}", PartitionKey(path=PARTITION_KEY_PATH), indexing_policy=INDEXING_POLICY
    )
    return CosmosJobStore(container, workspace="local")


def test_create_then_point_read_returns_the_same_job_with_an_etag(store: JobStore) -> None:
    created = store.create(make_job(1))
    read = store.get("job-0001")
    assert read is not None and read.etag == created.etag and read.etag
    assert read.details == created.details and read.history == created.history
    assert store.get("job-9999") is None


def test_create_of_an_existing_id_is_refused(store: JobStore) -> None:
    store.create(make_job(1))
    with pytest.raises(JobExistsError):
        store.create(make_job(1, name="other"))


def test_a_stale_write_is_refused_and_the_winner_kept(store: JobStore) -> None:
    created = store.create(make_job(1))
    first = store.replace(created.transition_to(JobStatus.EXECUTING, at=T0, cause="a"))
    with pytest.raises(StaleWriteError):
        store.replace(created.transition_to(JobStatus.CANCELLED, at=T0, cause="b"))
    stored = store.get("job-0001")
    assert stored is not None and stored.status is JobStatus.EXECUTING and stored.etag == first.etag


def test_concurrent_writers_each_see_their_write_or_a_stale_error(store: JobStore) -> None:
    store.create(make_job(1))
    outcomes: list[str] = []

    def writer(cause: str) -> None:
        job = store.get("job-0001")
        assert job is not None
        try:
            store.replace(job.note(at=T0, cause=cause))
            outcomes.append("ok")
        except StaleWriteError:
            outcomes.append("stale")

    threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = store.get("job-0001")
    assert stored is not None
    assert len(stored.history) - 1 == outcomes.count("ok") >= 1


def test_query_filters_orders_and_pages(store: JobStore) -> None:
    for n in range(30):
        store.create(
            make_job(n, provider="ionq" if n % 3 else "quantinuum", name=f"{'bell' if n < 10 else 'ghz'}-{n:02d}")
        )
    ionq = store.query(JobQuery(filter=parse_filter("ProviderId eq 'ionq'"), top=100))
    assert len(ionq) == 20 and all(j.details.provider_id == "ionq" for j in ionq)
    oldest_first = store.query(JobQuery(top=5))  # the default order, as Azure lists
    assert [j.id for j in oldest_first] == [f"job-{n:04d}" for n in range(5)]
    newest_first = store.query(JobQuery(orderby=OrderBy(QueryField.CREATION_TIME, descending=True), top=5))
    assert [j.id for j in newest_first] == [f"job-{n:04d}" for n in range(29, 24, -1)]
    pages = [store.query(JobQuery(skip=s, top=7)) for s in range(0, 30, 7)]
    assert [j.id for page in pages for j in page] == [f"job-{n:04d}" for n in range(30)]
    bell = store.query(
        JobQuery(
            filter=parse_filter("startswith(Name, 'bell')"),
            orderby=OrderBy(QueryField.NAME, descending=False),
            top=100,
        )
    )
    assert [j.details.name for j in bell] == [f"bell-{n:02d}" for n in range(10)]
    complex_filter = parse_filter(
        "(ProviderId eq 'quantinuum' or Target eq 'nothing') and not (Name eq 'ghz-12') "
        f"and CreationTime ge {(T0 + timedelta(seconds=10)).isoformat()}"
    )
    assert {j.id for j in store.query(JobQuery(filter=complex_filter, top=100))} == {
        f"job-{n:04d}" for n in range(15, 30, 3)
    }


def test_continuations_page_through_each_kind_of_order_as_one_query_lists_it(store: JobStore) -> None:
    """Keyset paging (nextLink) both ways in each kind of order: on creation time alone, on a field with ties
    (in creation time too), on a field some jobs lack (SessionId): the pages join into the whole list, in
    `sort_key` order. (Every order's index is checked by tests/integration/test_store_scale.py and
    tests/infra/test_bicep.py; the Cosmos DB test server takes a third of a second for each of these queries.)"""
    for n in range(11):
        job = make_job(n, name=f"job-{n % 3}", created=T0 + timedelta(seconds=n // 4))
        store.create(job.with_details(session_id=f"s{n % 2}" if n % 3 else None))
    for field in (QueryField.CREATION_TIME, QueryField.NAME, QueryField.SESSION_ID):
        for descending in (False, True):
            order = OrderBy(field, descending)
            whole = store.query(JobQuery(orderby=order, top=100))
            keys = [sort_key(j.details, field).ordered() for j in whole]
            assert len(whole) == 11 and keys == sorted(keys, reverse=descending), order
            query = JobQuery(orderby=order, top=5)
            pages = page = store.query(query)
            while len(page) == query.top:
                query = replace(query, after=query.continuation([j.details for j in page]))
                page = store.query(query)
                pages = pages + page
            assert [j.id for j in pages] == [j.id for j in whole], order
            assert query.after is not None and query.after.position == 10


def test_startswith_is_case_sensitive_and_literal(store: JobStore) -> None:
    store.create(make_job(1, name="Bell_%"))
    store.create(make_job(2, name="bell_x"))
    store.create(make_job(3, name="Bell_&"))
    store.create(make_job(4, name="Bell_%\U0010ffff\u00e9"))
    store.create(make_job(5, name="Bell\ud7ff"))
    store.create(make_job(6, name="Bell\ue000"))
    assert [j.id for j in store.query(JobQuery(filter=parse_filter("startswith(Name, 'Bell_%')")))] == [
        "job-0001",
        "job-0004",
    ]
    assert [j.id for j in store.query(JobQuery(filter=parse_filter("startswith(Name, 'Bell\ud7ff')")))] == ["job-0005"]


def test_stuck_jobs_are_found_by_status_and_last_update(store: JobStore) -> None:
    old = store.create(make_job(1))
    store.create(make_job(2, created=T0 + timedelta(hours=1)))
    found = store.older_than(JobStatus.WAITING, T0 + timedelta(minutes=5), 10)
    assert [j.id for j in found] == [old.id]
    assert store.older_than(JobStatus.EXECUTING, T0 + timedelta(days=1), 10) == []


def test_delete_and_count(store: JobStore) -> None:
    store.create(make_job(1))
    store.create(make_job(2, provider="quantinuum"))
    store.create(make_job(3, created=datetime(2026, 4, 30, 23, 59, tzinfo=UTC)))
    assert [store.count_created("ionq", period) for period in ("all", "2026-03", "2026-04", "2026-05")] == [2, 1, 1, 0]
    assert store.count_created("quantinuum", "2026-03") == 1
    stored = store.get("job-0003")
    assert stored is not None
    store.replace(stored.transition_to(JobStatus.EXECUTING, at=T0, cause="run"))  # a write is not a new job
    assert store.delete("job-0001") is True
    assert store.delete("job-0001") is False
    assert store.get("job-0001") is None
    assert [store.count_created("ionq", period) for period in ("all", "2026-03", "2026-04")] == [1, 0, 1]


def test_jobs_with_unpublished_changes_are_found_until_marked(store: JobStore) -> None:
    new = store.create(make_job(1))
    published = store.create(make_job(2).mark_published())
    store.create(make_job(3, created=T0 + timedelta(hours=2)))
    window = (T0 - timedelta(minutes=1), T0 + timedelta(hours=1))
    assert [j.id for j in store.unpublished(*window, 10)] == [new.id]
    moved = store.replace(published.transition_to(JobStatus.EXECUTING, at=T0 + timedelta(minutes=1), cause="run"))
    assert [j.id for j in store.unpublished(*window, 10)] == [new.id, moved.id]
    store.replace(new.mark_published())
    assert [j.id for j in store.unpublished(*window, 10)] == [moved.id]
    assert [j.unpublished_changes()[0][0] for j in store.unpublished(*window, 10)] == [1]


def test_top_level_queries_leave_out_jobs_in_sessions(store: JobStore) -> None:
    store.create(make_job(1))
    store.create(make_job(2).with_details(session_id="s1"))
    store.create(make_job(3))
    assert [j.id for j in store.query(JobQuery(top_level=True))] == ["job-0001", "job-0003"]
    in_session = store.query(JobQuery(filter=parse_filter("SessionId eq 's1'")))
    assert [j.id for j in in_session] == ["job-0002"]


@pytest.fixture(params=["sqlite", "cosmos"])
def session_store(request: pytest.FixtureRequest, tmp_path: Path) -> SessionStore:
    if request.param == "sqlite":
        return SqliteSessionStore(tmp_path / "jobs.sqlite3")
    database: DatabaseProxy = request.getfixturevalue("cosmos_database")
    container = database.create_container(
        f"sessions-{uuid.uuid4().hex[:8]}", PartitionKey(path=PARTITION_KEY_PATH), indexing_policy=INDEXING_POLICY
    )
    return CosmosSessionStore(container, workspace="local")


def make_session(n: int, *, target: str = "ionq.simulator", created: datetime | None = None) -> Session:
    at = created or T0 + timedelta(seconds=n)
    details = SessionDetails(
        id=f"session-{n:04d}", name=f"session {n}", provider_id=target.split(".")[0], target=target, creation_time=at
    )
    return Session(details=details, fingerprint="fp", last_activity=at)


def test_sessions_are_created_once_read_back_and_written_only_from_their_latest_version(
    session_store: SessionStore,
) -> None:
    created = session_store.create(make_session(1))
    assert created.etag and session_store.get("session-0001") == created
    with pytest.raises(SessionExistsError):
        session_store.create(make_session(1))
    closed = session_store.replace(created.closed(T0 + timedelta(minutes=1)))
    assert closed.etag != created.etag and session_store.get("session-0001") == closed
    with pytest.raises(StaleWriteError):
        session_store.replace(created.touched(T0 + timedelta(minutes=2)))
    assert session_store.get("nope") is None


def test_sessions_are_listed_filtered_and_paged_and_idle_ones_found(session_store: SessionStore) -> None:
    for n in range(12):
        session_store.create(make_session(n, target="quantinuum.sim.h2-1e" if n % 3 == 0 else "ionq.simulator"))
    assert [s.id for s in session_store.query(JobQuery(top=3))] == [f"session-{n:04d}" for n in (0, 1, 2)]
    newest = session_store.query(JobQuery(orderby=OrderBy(QueryField.CREATION_TIME, descending=True), top=3))
    assert [s.id for s in newest] == [f"session-{n:04d}" for n in (11, 10, 9)]
    pages = [session_store.query(JobQuery(skip=s, top=5)) for s in range(0, 12, 5)]
    assert [s.id for page in pages for s in page] == [f"session-{n:04d}" for n in range(12)]
    quantinuum = session_store.query(JobQuery(filter=parse_filter("ProviderId eq 'quantinuum'")))
    assert sorted(s.id for s in quantinuum) == [f"session-{n:04d}" for n in (0, 3, 6, 9)]
    sessions_only = session_store.query(JobQuery(filter=parse_filter("ItemType eq 'Session'"), top=100))
    assert len(sessions_only) == 12
    idle = session_store.idle(T0 + timedelta(seconds=2), 10)
    assert [s.id for s in idle] == ["session-0000", "session-0001"]
    final = session_store.get("session-0000")
    assert final is not None
    ended = final.details.model_copy(update={"status": SessionStatus.TIMED_OUT})
    session_store.replace(final.model_copy(update={"details": ended}))
    assert [s.id for s in session_store.idle(T0 + timedelta(seconds=2), 10)] == ["session-0001"]

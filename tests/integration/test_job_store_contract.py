"""The job store contract: the SQLite store and the Cosmos DB store (on a real Cosmos DB server) pass the same tests."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.cosmos import CosmosClient, DatabaseProxy, PartitionKey

from shared.adapters.cosmos_jobs import PARTITION_KEY_PATH, CosmosJobStore
from shared.adapters.sqlite_jobs import SqliteJobStore
from shared.domain.errors import JobExistsError, StaleWriteError
from shared.domain.jobs import Job, JobStatus
from shared.domain.query import JobQuery, OrderBy, QueryField, parse_filter
from shared.ports import JobStore
from tests.factories import new_job
from tests.servers import cosmosdb_server

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),  # the test server's own cert
]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
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
    container = database.create_container(f"jobs-{uuid.uuid4().hex[:8]}", PartitionKey(path=PARTITION_KEY_PATH))
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
    newest_first = store.query(JobQuery(top=5))
    assert [j.id for j in newest_first] == [f"job-{n:04d}" for n in range(29, 24, -1)]
    pages = [store.query(JobQuery(skip=s, top=7)) for s in range(0, 30, 7)]
    assert [j.id for page in pages for j in page] == [f"job-{n:04d}" for n in range(29, -1, -1)]
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


def test_startswith_is_case_sensitive_and_literal(store: JobStore) -> None:
    store.create(make_job(1, name="Bell_%"))
    store.create(make_job(2, name="bell_x"))
    assert [j.id for j in store.query(JobQuery(filter=parse_filter("startswith(Name, 'Bell_%')")))] == ["job-0001"]


def test_stuck_jobs_are_found_by_status_and_last_update(store: JobStore) -> None:
    old = store.create(make_job(1))
    store.create(make_job(2, created=T0 + timedelta(hours=1)))
    found = store.older_than(JobStatus.WAITING, T0 + timedelta(minutes=5), 10)
    assert [j.id for j in found] == [old.id]
    assert store.older_than(JobStatus.EXECUTING, T0 + timedelta(days=1), 10) == []


def test_delete_and_count(store: JobStore) -> None:
    store.create(make_job(1))
    store.create(make_job(2, provider="quantinuum"))
    assert store.count_created_since("ionq", T0 - timedelta(days=1)) == 1
    assert store.delete("job-0001") is True
    assert store.delete("job-0001") is False
    assert store.get("job-0001") is None


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

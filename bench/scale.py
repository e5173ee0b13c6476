"""Scale benchmark (not a test): list and submit timings with N jobs in the local job store.

Builds a SQLite job store of N jobs under /tmp (through the store adapter, not HTTP: jobs over about a year,
three targets, mostly Succeeded, one in a hundred in a session of ten, names from five words), then times, at
that size:

- each list query the azure-quantum SDK sends (tests/query_shapes.py: name prefix, state, provider, target,
  created range, session, top-level items, every orderby both ways), through the service layer the HTTP
  handlers call (`manage.list_jobs`, `sessions.top_level_items`), 100 jobs a page, p50 and p99 over --repeats;
- a page deep in the list, reached as the SDK reaches it (following nextLink: a continuation) and, for
  comparison, by `skip` (an offset the store counts off);
- submit (`submit.submit_job`, quota check included) of a small IonQ circuit, beside the same submit into an
  empty store: its cost should not depend on the number of stored jobs;
- with --http, each list once more over HTTP, through a local host (`python -m shared.localhost`) on the same
  state folder, with Azurite (p50/p99 over fewer repeats).

    .venv/bin/python bench/scale.py [--jobs 100000] [--repeats 30] [--http] [--keep]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.adapters.local import SystemClock
from shared.adapters.sqlite_jobs import SqliteJobStore
from shared.adapters.sqlite_sessions import SqliteSessionStore
from shared.domain.jobs import Job, JobDetails, JobStatus, Transition
from shared.domain.query import JobQuery
from shared.domain.sessions import Session, SessionDetails
from shared.domain.storage import INPUT_BLOB, job_container
from shared.services import manage, sessions
from shared.services.pipeline import Pipeline
from shared.services.submit import JobSubmission, submit_job
from tests.fakes import make_pipeline
from tests.query_shapes import Shape, sdk_shapes
from tests.servers import API_KEY, LocalHostProcess, azurite

TARGETS = [("ionq", "ionq.simulator"), ("quantinuum", "quantinuum.sim.h2-1e"), ("quantinuum", "quantinuum.sim.h2-1sc")]
STATUSES = [JobStatus.SUCCEEDED] * 15 + [JobStatus.FAILED] * 2 + [JobStatus.CANCELLED, JobStatus.WAITING]
WORDS = ["bell", "ghz", "vqe", "qaoa", "teleport"]
SESSION_SIZE = 10
SESSION_EVERY = 100  # one job in this many is in a session
SPAN = timedelta(days=360)
STORAGE = "http://127.0.0.1:10000/devstoreaccount1"
CIRCUIT = json.dumps({"qubits": 2, "circuit": [{"gate": "h", "targets": [0]}]}).encode()


def seed(state: Path, count: int, now: datetime) -> None:
    """`count` jobs created over SPAN up to `now`, and their sessions, written through the stores."""
    rng = random.Random(7)
    jobs, session_store = SqliteJobStore(state / "jobs.sqlite3"), SqliteSessionStore(state / "jobs.sqlite3")
    step = SPAN / count
    for n in range(count):
        job_id = f"{rng.getrandbits(64):016x}-{n:07d}"
        provider, target = TARGETS[n % len(TARGETS)]
        created = now - SPAN + step * n
        status = rng.choice(STATUSES)
        session_id = None
        if n % SESSION_EVERY < SESSION_SIZE and n // SESSION_EVERY % 10 == 0:
            session_id = f"session-{n // SESSION_EVERY:05d}"
            if n % SESSION_EVERY == 0:
                opened = SessionDetails(
                    id=session_id, name=session_id, provider_id=provider, target=target, creation_time=created
                )
                session_store.create(Session(details=opened, fingerprint=session_id, last_activity=created))
            provider, target = TARGETS[(n // SESSION_EVERY * SESSION_EVERY) % len(TARGETS)]
        history = [Transition(status=JobStatus.WAITING, time=created, cause="Seeded")]
        if status is not JobStatus.WAITING:
            history.append(Transition(status=status, time=created + timedelta(seconds=2), cause="Seeded"))
        details = JobDetails(
            id=job_id,
            name=f"{rng.choice(WORDS)}-{n:07d}",
            provider_id=provider,
            target=target,
            session_id=session_id,
            container_uri=f"{STORAGE}/job-{job_id}",
            input_data_uri=f"{STORAGE}/job-{job_id}/inputData",
            input_data_format="ionq.circuit.v1",
            input_params={"shots": 100},
            output_data_uri=f"{STORAGE}/job-{job_id}/rawOutputData",
            output_data_format="ionq.quantum-results.v1",
            status=status,
            creation_time=created,
            last_updated_time=history[-1].time,
        )
        jobs.create(Job(details=details, history=tuple(history), fingerprint=job_id).mark_published())
    jobs.close()


def timed(call: Callable[[], object], repeats: int) -> tuple[float, float]:
    """p50 and p99 in milliseconds of `repeats` calls, after one untimed call."""
    call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]


def listing(p: Pipeline, shape: Shape, query: JobQuery) -> Callable[[], int]:
    """A call of the service the shape's HTTP handler calls, returning how many items the page has."""
    if shape.top_level:
        return lambda: len(sessions.top_level_items(p, query).items)
    if shape.session is not None:
        return lambda: len(manage.list_jobs(p, sessions.session_jobs(p, str(shape.session), query)).jobs)
    return lambda: len(manage.list_jobs(p, query).jobs)


def pipeline(state: Path) -> Pipeline:
    """The services on the SQLite stores in `state`, with in-memory blobs and queue (they are not measured)."""
    jobs = SqliteJobStore(state / "jobs.sqlite3")
    return replace(make_pipeline(), jobs=jobs, sessions=SqliteSessionStore(state / "jobs.sqlite3"), clock=SystemClock())


def submitting(p: Pipeline, prefix: str) -> Callable[[], object]:
    """A call that submits a new small IonQ job each time (its input uploaded beforehand, untimed)."""
    numbers = iter(range(10**6))
    submission = JobSubmission(
        name="scale", provider_id="ionq", target="ionq.simulator", input_data_format="ionq.circuit.v1"
    )

    def submit() -> object:
        job_id = f"{prefix}-{next(numbers):06d}"
        p.artifacts.put(job_container(job_id), INPUT_BLOB, CIRCUIT, "application/json")
        return submit_job(p, job_id, submission, cause="bench")

    return submit


def row(name: str, times: tuple[float, float], note: str = "") -> None:
    print(f"  {name:<34} {times[0]:8.2f} {times[1]:8.2f}  {note}")


def table(title: str) -> None:
    print(f"\n{title}\n  {'query':<34} {'p50 ms':>8} {'p99 ms':>8}  items")


def service_timings(state: Path, shapes: dict[str, Shape], count: int, repeats: int) -> None:
    p = pipeline(state)
    table(f"lists through the service layer, {count:,} jobs, 100 a page")
    for name, shape in shapes.items():
        call = listing(p, shape, shape.query())
        row(name, timed(call, repeats), str(call()))
    deep = count // 2
    first = manage.list_jobs(p, JobQuery(skip=deep - 100, top=100))
    assert first.next is not None
    table(f"a page {deep:,} jobs deep, oldest first")
    row(
        "following nextLink (continuation)",
        timed(lambda: manage.list_jobs(p, replace(JobQuery(), after=first.next)), repeats),
    )
    row("skip (offset, for comparison)", timed(lambda: manage.list_jobs(p, JobQuery(skip=deep)), repeats))
    table("submit (quota check, store write, route), one new job each call")
    row(f"into the store of {count:,} jobs", timed(submitting(p, "scale"), repeats))
    with tempfile.TemporaryDirectory(dir="/tmp") as empty:
        row("into an empty store", timed(submitting(pipeline(Path(empty)), "empty"), repeats))


@contextmanager
def local_host(state: Path) -> Iterator[LocalHostProcess]:
    with azurite() as blob_port:
        host = LocalHostProcess(state_dir=state, blob_port=blob_port)
        host.start()
        try:
            yield host
        finally:
            host.stop()


def http_timings(state: Path, shapes: dict[str, Shape], count: int, repeats: int) -> None:
    with local_host(state) as host, requests.Session() as session:
        session.headers["x-ms-quantum-api-key"] = API_KEY
        table(f"lists over HTTP (local host, Azurite), {count:,} jobs, 100 a page")
        for name, shape in shapes.items():
            url = f"{host.workspace_url}/{'topLevelItems' if shape.top_level else 'jobs'}"
            if shape.session is not None:
                url = f"{host.workspace_url}/sessions/{shape.session}/jobs"
            params = {"api-version": "2026-01-15-preview", **shape.params()}

            def get(url: str = url, params: dict[str, str] = params) -> int:
                response = session.get(url, params=params, timeout=30)
                response.raise_for_status()
                return len(response.json()["value"])

            row(name, timed(get, repeats), str(get()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--http", action="store_true", help="also time each list over HTTP through a local host")
    parser.add_argument("--keep", action="store_true", help="keep the store's folder under /tmp")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="scale-", dir="/tmp"))
    state = folder / "state"
    try:
        now = datetime.now(UTC)
        started = time.perf_counter()
        seed(state, args.jobs, now)
        size = (state / "jobs.sqlite3").stat().st_size / 2**20
        print(f"seeded {args.jobs:,} jobs in {time.perf_counter() - started:.1f} s ({size:.0f} MiB) in {state}")
        since = (now - SPAN / 2).date()
        shapes = sdk_shapes(
            since, since + timedelta(days=7), f"session-{args.jobs // SESSION_EVERY // 2 // 10 * 10:05d}"
        )
        service_timings(state, shapes, args.jobs, args.repeats)
        if args.http:
            http_timings(state, shapes, args.jobs, max(5, args.repeats // 3))
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Job management page benchmark (not a test): time from navigation to the first screen of the job list.

Seeds a workspace with 10,000 jobs, written straight into the job store in the host's state folder
before the host starts; starts Azurite and a local host; opens /api/portal/ in headless Chromium (the
flags the browser tests use) and signs in once; then loads the page again and again, each time reading
the `list-rendered` mark the page sets when its first list is in the DOM (milliseconds from the start
of the navigation). Prints the median and the maximum per scenario; the first load (empty cache) is
printed on its own. Aim: under 1 s.

    .venv/bin/python bench/portal.py [--jobs 10000] [--runs 10]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from shared.adapters.sqlite_jobs import SqliteJobStore
from shared.domain.jobs import CostEstimate, ErrorData, Job, JobDetails, JobStatus, Transition
from tests.browser import start_chromium
from tests.servers import API_KEY, LocalHostProcess, azurite

TARGETS = [("ionq", "ionq.simulator"), ("quantinuum", "quantinuum.sim.h2-1e"), ("quantinuum", "quantinuum.sim.h2-1sc")]
STATUSES = [JobStatus.SUCCEEDED] * 16 + [JobStatus.FAILED] * 2 + [JobStatus.CANCELLED, JobStatus.WAITING]
SCENARIOS = {
    "newest first, no filter": "#/jobs",
    "status + provider filter": "#/jobs?status=Succeeded,Failed&provider=ionq",
    "name prefix filter": "#/jobs?name=vqe-",
    "last page (skip 9950)": "#/jobs?skip=9950",
}


def seed(store: SqliteJobStore, count: int, blob_port: int) -> None:
    rng = random.Random(7)
    now = datetime.now(UTC)
    storage = f"http://127.0.0.1:{blob_port}/devstoreaccount1"
    for n in range(count):
        job_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        provider, target = rng.choice(TARGETS)
        created = now - timedelta(seconds=(count - n) * 40)
        status = rng.choice(STATUSES) if n < count - 20 else JobStatus.WAITING
        history = [Transition(status=JobStatus.WAITING, time=created, cause="Submitted through the API")]
        began = ended = None
        if status in {JobStatus.SUCCEEDED, JobStatus.FAILED}:
            began, ended = created + timedelta(seconds=1), created + timedelta(seconds=3)
            history.append(Transition(status=JobStatus.EXECUTING, time=began, cause=f"Started on {target}"))
        if status is not JobStatus.WAITING:
            history.append(Transition(status=status, time=ended or created + timedelta(seconds=2), cause="Seeded"))
        details = JobDetails(
            id=job_id,
            name=f"{rng.choice(['bell', 'ghz', 'vqe', 'qaoa', 'teleport'])}-{n:05d}",
            provider_id=provider,
            target=target,
            container_uri=f"{storage}/job-{job_id}",
            input_data_uri=f"{storage}/job-{job_id}/inputData",
            input_data_format="ionq.circuit.v1" if provider == "ionq" else "honeywell.openqasm.v1",
            input_params={"shots": 100},
            output_data_uri=f"{storage}/job-{job_id}/rawOutputData",
            output_data_format="ionq.quantum-results.v1" if provider == "ionq" else "honeywell.quantum-results.v1",
            status=status,
            creation_time=created,
            begin_execution_time=began,
            end_execution_time=ended,
            cancellation_time=history[-1].time if status is JobStatus.CANCELLED else None,
            last_updated_time=history[-1].time,
            cost_estimate=CostEstimate(estimated_total=round(rng.random() * 3, 2)),
            error_data=ErrorData(code="Seeded", message="A seeded failure.") if status is JobStatus.FAILED else None,
        )
        store.create(Job(details=details, history=tuple(history), fingerprint=job_id))


MARK_JS = "const m = performance.getEntriesByName('list-rendered'); return m.length ? m[0].startTime : null"


def list_rendered(driver: webdriver.Chrome) -> float:
    """The page's list-rendered mark: milliseconds from the start of the navigation to the list in the DOM."""
    mark: float = WebDriverWait(driver, 30, poll_frequency=0.02).until(lambda d: d.execute_script(MARK_JS))
    return mark


PARTS_JS = """
const nav = performance.getEntriesByType('navigation')[0];
const list = performance.getEntriesByType('resource').filter((e) => e.name.includes('/jobs?'))[0];
return [nav ? nav.domContentLoadedEventEnd : 0, list ? list.duration : 0];
"""


def time_to_list(driver: webdriver.Chrome, url: str) -> tuple[float, float, float]:
    """(list rendered, DOMContentLoaded, the list request's duration), in ms, for one full navigation."""
    driver.get("about:blank")  # a full navigation each time, not a same-document hash change
    driver.get(url)
    rendered = list_rendered(driver)
    loaded, request = driver.execute_script(PARTS_JS)
    return rendered, float(loaded), float(request)


def shown_rows(driver: webdriver.Chrome) -> int:
    return int(driver.execute_script("return document.querySelectorAll('#jobs-body tr').length"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    with azurite() as blob_port, tempfile.TemporaryDirectory() as folder:
        state = Path(folder) / "state"
        started = time.perf_counter()
        store = SqliteJobStore(state / "jobs.sqlite3")
        seed(store, args.jobs, blob_port)
        store.close()
        print(f"seeded {args.jobs:,} jobs in {time.perf_counter() - started:.1f} s")

        host = LocalHostProcess(
            state_dir=state,
            blob_port=blob_port,
            settings={"LOCAL_DISABLED_FUNCTIONS": "sweep_stuck_jobs"},  # the seeded Waiting jobs stay as they are
        )
        host.start()
        driver = start_chromium(Path(folder) / "chromium")
        try:
            return run(driver, f"{host.endpoint}portal/", args.runs)
        finally:
            driver.quit()
            host.stop()


def run(driver: webdriver.Chrome, page: str, runs: int) -> int:
    driver.get(page)
    key = WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "api-key"))
    key.send_keys(API_KEY, Keys.ENTER)
    cold = list_rendered(driver)
    print(f"first list after signing in (empty cache, typing the key included): {cold:.0f} ms")
    assert shown_rows(driver) == 50, f"the first screen shows {shown_rows(driver)} jobs, not 50"

    print(f"{'scenario':<28} {'runs':>4} {'median ms':>10} {'max ms':>8}   medians of: page loaded, list request")
    worst = 0.0
    for name, fragment in SCENARIOS.items():
        samples = [time_to_list(driver, page + fragment) for _ in range(runs)]
        assert shown_rows(driver) > 0, f"{name}: nothing listed"
        times = [s[0] for s in samples]
        worst = max(worst, *times)
        loaded = statistics.median(s[1] for s in samples)
        request = statistics.median(s[2] for s in samples)
        print(
            f"{name:<28} {runs:>4} {statistics.median(times):>10.0f} {max(times):>8.0f}"
            f"   {loaded:>6.0f} ms, {request:>4.0f} ms"
        )
    print(f"aim: under 1000 ms from navigation to the first screen of jobs; worst seen {worst:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Cancel, the sweeper and crash recovery, each on a host of its own started for the test."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from azure.quantum.target import IonQ
from azure.storage.blob import BlobServiceClient

from shared.config import Settings
from tests.e2e.helpers import Api, ionq_job_body, sdk_workspace
from tests.servers import LocalHostProcess

pytestmark = pytest.mark.integration

BELL = {
    "qubits": 2,
    "circuit": [{"gate": "h", "targets": [0]}, {"gate": "x", "targets": [1], "controls": [0]}],
}


@pytest.fixture
def start_host(azurite_port: int, tmp_path: Path) -> Iterator[type[LocalHostProcess]]:
    started: list[LocalHostProcess] = []

    def start(**settings: str) -> LocalHostProcess:
        host = LocalHostProcess(state_dir=tmp_path / "state", blob_port=azurite_port, settings=settings)
        host.start()
        started.append(host)
        return host

    yield start  # type: ignore[misc]  # a factory stands in for the class
    for host in started:
        host.stop()


def blobs(azurite_port: int, container: str) -> set[str]:
    client = BlobServiceClient.from_connection_string(
        Settings(azurite_blob_port=azurite_port, storage_connection=None).blob_connection_string
    )
    return {b.name for b in client.get_container_client(container).list_blobs()}


def test_a_waiting_job_is_cancelled_at_once_and_never_runs(start_host, azurite_port: int) -> None:  # type: ignore[no-untyped-def]
    paused = start_host(LOCAL_DISABLED_FUNCTIONS="translate_ionq")
    workspace = sdk_workspace(paused)
    job = IonQ(workspace=workspace, name="ionq.simulator").submit(BELL, name="to-cancel", shots=10)
    assert workspace.get_job(job.id).details.status == "Waiting"
    workspace.cancel_job(job)
    cancelled = workspace.get_job(job.id).details
    assert cancelled.status == "Cancelled"
    assert cancelled.cancellation_time is not None and cancelled.begin_execution_time is None
    paused.stop()

    running = start_host()  # same state: the cancelled job's message is still queued
    api = Api(running)
    later = str(uuid.uuid4())
    assert api.put_job(later, ionq_job_body(api.upload_program(json.dumps(BELL).encode()), "after")).ok
    assert api.wait_final([later])[later]["status"] == "Succeeded"
    assert api.get_job(job.id).json()["status"] == "Cancelled"
    assert "rawOutputData" not in blobs(azurite_port, f"job-{job.id}")
    history = api.session.get(f"{api.base}/jobs/{job.id}/history").json()["value"]
    assert [h["status"] for h in history] == ["Waiting", "Cancelled"]


def test_a_job_stuck_in_waiting_is_redriven_then_failed_with_a_reason(start_host) -> None:  # type: ignore[no-untyped-def]
    host = start_host(
        LOCAL_DISABLED_FUNCTIONS="translate_ionq",
        WAITING_DEADLINE_SECONDS="1",
        MAX_REDRIVES="1",
        SWEEP_SCHEDULE="* * * * * *",
    )
    api = Api(host)
    job_id = str(uuid.uuid4())
    assert api.put_job(job_id, ionq_job_body(api.upload_program(json.dumps(BELL).encode()), "stuck")).ok
    job = api.wait_final([job_id], timeout=30)[job_id]
    assert job["status"] == "Failed"
    assert job["errorData"]["code"] == "JobTimedOut"
    assert "no progress" in job["errorData"]["message"]
    causes = [h["cause"] for h in api.session.get(f"{api.base}/jobs/{job_id}/history").json()["value"]]
    assert any(c.startswith("Re-driven") for c in causes)


def test_killing_the_host_mid_pipeline_loses_no_job_and_no_output(start_host, azurite_port: int) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL while jobs are being submitted and run; after a restart every accepted job finishes."""
    host = start_host()
    api = Api(host)
    program = api.upload_program(json.dumps(BELL).encode())
    ids = [str(uuid.uuid4()) for _ in range(200)]
    accepted: list[str] = []

    def submit(job_id: str) -> None:
        with contextlib.suppress(requests.ConnectionError):
            if Api(host).put_job(job_id, ionq_job_body(program, "crash")).status_code == 201:
                accepted.append(job_id)

    with ThreadPoolExecutor(max_workers=4) as pool:
        for job_id in ids:
            pool.submit(submit, job_id)
        while len(accepted) < 40:
            time.sleep(0.005)
        host.kill()

    with sqlite3.connect(host.state_dir / "jobs.sqlite3") as db:
        at_kill = Counter(status for (status,) in db.execute("SELECT status FROM jobs"))
    assert at_kill["Waiting"] + at_kill["Executing"] > 0, f"nothing was in flight at the kill: {at_kill}"

    restarted = Api(start_host())
    done = restarted.wait_final(accepted, timeout=90)
    assert Counter(j["status"] for j in done.values()) == {"Succeeded": len(accepted)}
    assert all("rawOutputData" in blobs(azurite_port, f"job-{i}") for i in accepted[::5])
    # A request cut by the kill is retried by the client (the SDK retries PUT): that completes it.
    retried = [i for i in ids if i not in accepted]
    for job_id in retried:
        assert restarted.put_job(job_id, ionq_job_body(program, "crash")).status_code in {200, 201}
    finished = restarted.wait_final(retried, timeout=90)
    assert Counter(j["status"] for j in finished.values()) == {"Succeeded": len(retried)}

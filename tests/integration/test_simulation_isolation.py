"""Simulations run apart from the API: a local host answers while a long run is under way, and a run
past the time limit ends its job Failed, saying the limit."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import FINAL, Api, ionq_job_body
from tests.servers import LocalHostProcess

pytestmark = pytest.mark.integration

LONG_SHOTS = 40  # about 0.5 s a shot for this program on the noisy H2-1 emulation: a run of 20-30 s here
BELL = b'{"qubits": 2, "circuit": [{"gate": "h", "targets": [0]}, {"gate": "x", "controls": [0], "targets": [1]}]}'


def long_program(qubits: int = 12, gates: int = 20_000) -> bytes:
    """A wide non-Clifford circuit: the noisy emulation simulates its state vector once per shot."""
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{qubits}];", f"creg c[{qubits}];"]
    for i in range(gates):
        a, b = i % qubits, (i + 5) % qubits
        lines.append((f"t q[{a}];", f"h q[{a}];", f"cx q[{a}],q[{b}];")[i % 3])
    lines.append("measure q -> c;")
    return "\n".join(lines).encode()


def submit_long(api: Api) -> str:
    job_id = str(uuid.uuid4())
    body: dict[str, Any] = {
        "name": "long-run",
        "providerId": "quantinuum",
        "target": "quantinuum.sim.h2-1e",
        "inputDataUri": api.upload_program(long_program()),
        "inputDataFormat": "honeywell.openqasm.v1",
        "inputParams": {"shots": LONG_SHOTS},
        "outputDataFormat": "honeywell.quantum-results.v1",
    }
    assert api.put_job(job_id, body).status_code == 201
    return job_id


def status(api: Api, job_id: str) -> str:
    return str(api.get_job(job_id).json()["status"])


def wait_for(api: Api, job_id: str, wanted: str) -> None:
    for _ in range(3000):
        current = status(api, job_id)
        if current == wanted:
            return
        assert current not in FINAL, f"job {job_id} became {current} before it was {wanted}"
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never became {wanted}")


@pytest.fixture
def start_host(azurite_port: int, tmp_path: Path) -> Iterator[Callable[..., LocalHostProcess]]:
    started: list[LocalHostProcess] = []

    def start(**settings: str) -> LocalHostProcess:
        host = LocalHostProcess(state_dir=tmp_path / f"host{len(started)}", blob_port=azurite_port, settings=settings)
        host.start()
        started.append(host)
        return host

    yield start
    for host in started:
        host.stop()


def test_the_api_answers_while_a_simulation_runs(start_host: Callable[..., LocalHostProcess]) -> None:
    api = Api(start_host(SIMULATION_TIMEOUT_SECONDS="900"))
    job_id = submit_long(api)
    wait_for(api, job_id, "Executing")
    seen = []
    for _ in range(3):  # each round: the calls return, then the job is asked whether it is still running
        providers = api.session.get(f"{api.base}/providerStatus")
        jobs = api.session.get(f"{api.base}/jobs")
        assert providers.status_code == 200
        assert jobs.status_code == 200
        listed = {job["id"]: job["status"] for job in jobs.json()["value"]}
        seen.append((listed[job_id], status(api, job_id)))
    assert seen == [("Executing", "Executing")] * 3, "the API answered while the simulation ran"
    final = api.wait_final([job_id], timeout=900)[job_id]
    assert final["status"] == "Succeeded"
    output = api.session.get(f"{api.base}/jobs/{job_id}/output")
    assert len(output.json()["c"]) == LONG_SHOTS


def test_a_run_past_the_time_limit_fails_its_job_and_the_host_runs_the_next(
    start_host: Callable[..., LocalHostProcess],
) -> None:
    host = start_host(SIMULATION_TIMEOUT_SECONDS="2")
    api = Api(host)
    job_id = submit_long(api)
    failed = api.wait_final([job_id], timeout=300)[job_id]
    assert failed["status"] == "Failed"
    assert failed["errorData"]["code"] == "RunTimeLimitExceeded"
    assert "time limit of 2 s" in failed["errorData"]["message"]
    bell_id = str(uuid.uuid4())
    assert api.put_job(bell_id, ionq_job_body(api.upload_program(BELL), "after-the-limit")).status_code == 201
    assert api.wait_final([bell_id], timeout=120)[bell_id]["status"] == "Succeeded"

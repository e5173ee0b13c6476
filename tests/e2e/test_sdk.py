"""The unmodified, pinned azure-quantum SDK against the local host: what a user of the service does."""

from __future__ import annotations

import math
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError
from azure.quantum import Workspace
from azure.quantum.target import IonQ, Quantinuum

from tests.servers import API_KEY, SUBSCRIPTION, LocalHostProcess

pytestmark = pytest.mark.integration

BELL_IONQ = {
    "qubits": 2,
    "circuit": [{"gate": "h", "targets": [0]}, {"gate": "x", "targets": [1], "controls": [0]}],
}
BELL_QASM2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n'
BELL_QASM3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\nh q[0];\ncx q[0], q[1];\nc = measure q;\n'
GHZ_QASM2 = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\nh q[0];\ncx q[0], q[1];\ncx q[1], q[2];\n'
    "measure q -> c;\n"
)
TIMEOUT = 60
# The noisy targets put a few Bell or GHZ-3 shots outside the ideal outcomes: at most these rates
# (predicted 0.4-0.6 % and 1.0-1.8 %, see tests/unit/test_noise.py); ideal targets put none there.
LEAK_RATES = {"quantinuum.sim.h2-1e": 0.007, "ionq.qpu.aria-1": 0.02}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def five_sigma(shots: int, p: float = 0.5) -> float:
    """Half-width of a 5-sigma band for a binomial count: a correct sampler falls outside ~1 in 3.5 million."""
    return 5 * math.sqrt(shots * p * (1 - p))


def leak_bound(shots: int, target: str) -> float:
    """The most shots outside the ideal outcomes a target gives, bar ~1 run in 3.5 million."""
    rate = LEAK_RATES.get(target, 0.0)
    return shots * rate + five_sigma(shots, rate)


def assert_bell_probabilities(results: dict[str, Any]) -> None:
    histogram = results["histogram"]
    assert set(histogram) == {"0", "3"}
    assert histogram["0"] == pytest.approx(0.5, abs=1e-9)
    assert histogram["3"] == pytest.approx(0.5, abs=1e-9)


def test_ionq_json_circuit_runs_and_returns_exact_probabilities(workspace: Workspace) -> None:
    target = IonQ(workspace=workspace, name="ionq.simulator")
    job = target.submit(BELL_IONQ, name=unique("bell-json"), shots=100)
    job.wait_until_completed(timeout_secs=TIMEOUT)
    assert job.details.status == "Succeeded"
    assert_bell_probabilities(job.get_results())
    assert job.details.begin_execution_time is not None
    assert job.details.end_execution_time >= job.details.begin_execution_time


@pytest.mark.parametrize(
    ("source", "input_format"),
    [
        pytest.param(BELL_QASM2, "openqasm.v2", id="qasm2"),
        pytest.param(BELL_QASM3, "openqasm.v3", id="qasm3"),
    ],
)
def test_openqasm_is_translated_for_ionq(workspace: Workspace, source: str, input_format: str) -> None:
    target = IonQ(workspace=workspace, name="ionq.simulator")
    job = target.submit(
        source,
        name=unique("bell-qasm"),
        shots=100,
        input_data_format=input_format,
        content_type="application/qasm",
    )
    job.wait_until_completed(timeout_secs=TIMEOUT)
    assert job.details.status == "Succeeded", job.details.error_data
    assert_bell_probabilities(job.get_results())


def test_quantinuum_ghz_gives_all_zeros_or_all_ones_near_half_each(workspace: Workspace) -> None:
    shots = 1000
    target = Quantinuum(workspace=workspace, name="quantinuum.sim.h2-1e")
    job = target.submit(GHZ_QASM2, name=unique("ghz"), shots=shots)
    job.wait_until_completed(timeout_secs=TIMEOUT)
    assert job.details.status == "Succeeded", job.details.error_data
    results = job.get_results()
    counts = Counter(results["c"])
    assert shots - counts["000"] - counts["111"] <= leak_bound(shots, "quantinuum.sim.h2-1e")
    assert sum(counts.values()) == shots
    assert abs(counts["000"] - shots / 2) <= five_sigma(shots)


def test_quantinuum_bell_pair_is_near_fifty_fifty(workspace: Workspace) -> None:
    shots = 2000
    target = Quantinuum(workspace=workspace, name="quantinuum.sim.h2-1e")
    job = target.submit(BELL_QASM2, name=unique("bell-h2"), shots=shots)
    job.wait_until_completed(timeout_secs=TIMEOUT)
    counts = Counter(job.get_results()["c"])
    assert shots - counts["00"] - counts["11"] <= leak_bound(shots, "quantinuum.sim.h2-1e")
    assert abs(counts["00"] - shots / 2) <= five_sigma(shots)


def test_aria_1_is_a_noisy_emulation_returning_measured_frequencies(workspace: Workspace) -> None:
    shots = 1000
    job = IonQ(workspace=workspace, name="ionq.qpu.aria-1").submit(BELL_IONQ, name=unique("aria"), shots=shots)
    job.wait_until_completed(timeout_secs=TIMEOUT)
    assert job.details.status == "Succeeded", job.details.error_data
    histogram = job.get_results()["histogram"]
    counts = {key: round(p * shots) for key, p in histogram.items()}
    assert all(math.isclose(counts[key], p * shots) for key, p in histogram.items())
    assert sum(counts.values()) == shots
    assert shots - counts.get("0", 0) - counts.get("3", 0) <= leak_bound(shots, "ionq.qpu.aria-1")
    assert abs(counts.get("0", 0) - shots / 2) <= five_sigma(shots)


def test_get_targets_lists_the_catalog(workspace: Workspace) -> None:
    target = workspace.get_targets("ionq.simulator")
    assert target is not None and target.name == "ionq.simulator"
    assert workspace.get_targets("quantinuum.sim.h2-1e").name == "quantinuum.sim.h2-1e"


def test_provider_status_says_which_targets_are_noisy_emulations_and_what_they_take(
    workspace: Workspace, host: LocalHostProcess
) -> None:
    status = requests.get(
        f"{host.workspace_url}/providerStatus", headers={"x-ms-quantum-api-key": API_KEY}, timeout=10
    ).json()
    metadata = {t["id"]: t["metadata"] for p in status["value"] for t in p["targets"]}
    aria = metadata["ionq.qpu.aria-1"]
    assert aria["emulation"] == "local noisy emulation from published error rates"
    assert aria["noise"]["twoQubitGateError"] == 0.004 and "IonQ" in aria["noise"]["source"]
    assert "emulation" not in metadata["ionq.simulator"]
    assert metadata["quantinuum.sim.h2-1e"]["qirProfiles"] == ["adaptive", "base"]
    assert metadata["microsoft.estimator"]["inputParams"][:2] == ["constraints", "distillationUnitSpecifications"]


def test_get_job_of_an_unknown_id_raises_not_found(workspace: Workspace) -> None:
    with pytest.raises(ResourceNotFoundError):
        workspace.get_job(str(uuid.uuid4()))


def test_a_wrong_key_raises_client_authentication_error(host: LocalHostProcess) -> None:
    wrong = Workspace(
        subscription_id=SUBSCRIPTION,
        resource_group="local",
        name="local",
        location="eastus",
        credential=AzureKeyCredential("not-the-key"),
        _quantum_endpoint=host.endpoint,
    )
    with pytest.raises(ClientAuthenticationError):
        wrong.get_job(str(uuid.uuid4()))
    with pytest.raises(ClientAuthenticationError):
        list(wrong.list_jobs())


def test_list_jobs_filters_by_name_status_provider_target_and_date(workspace: Workspace) -> None:
    prefix = unique("filters")
    ionq = IonQ(workspace=workspace, name="ionq.simulator")
    h2 = Quantinuum(workspace=workspace, name="quantinuum.sim.h2-1e")
    jobs = [ionq.submit(BELL_IONQ, name=f"{prefix}-ionq-{i}", shots=10) for i in range(3)]
    jobs.append(h2.submit(GHZ_QASM2, name=f"{prefix}-h2", shots=10))
    for job in jobs:
        job.wait_until_completed(timeout_secs=TIMEOUT)

    def names(**filters: Any) -> set[str]:
        return {j.details.name for j in workspace.list_jobs(name_match=prefix, **filters)}

    assert names() == {j.details.name for j in jobs}
    assert names(provider=["ionq"]) == {f"{prefix}-ionq-{i}" for i in range(3)}
    assert names(target=["quantinuum.sim.h2-1e"]) == {f"{prefix}-h2"}
    assert names(status=["Succeeded"]) == {j.details.name for j in jobs}
    assert names(status=["Failed", "Cancelled"]) == set()
    yesterday = datetime.now(UTC) - timedelta(days=1)
    assert names(created_after=yesterday) == {j.details.name for j in jobs}
    assert names(created_after=datetime.now(UTC) + timedelta(days=2)) == set()
    ordered = list(workspace.list_jobs(name_match=prefix, orderby_property="Name", is_asc=True))
    assert [j.details.name for j in ordered] == sorted(j.details.name for j in jobs)


def test_list_jobs_pages_over_more_than_a_hundred_jobs(workspace: Workspace, host: LocalHostProcess) -> None:
    prefix = unique("paging")
    session = requests.Session()
    session.headers["x-ms-quantum-api-key"] = API_KEY
    shared_input = f"job-{prefix}-in"  # one program, in a job container of its own, for all 130 jobs
    container = session.post(f"{host.workspace_url}/storage/sasUri", json={"containerName": shared_input}).json()
    input_url = container["sasUri"].split("?")[0] + "/inputData"
    upload = requests.put(
        container["sasUri"].replace(f"{shared_input}?", f"{shared_input}/inputData?"),
        data=b'{"qubits":1,"circuit":[]}',
        headers={"x-ms-blob-type": "BlockBlob"},
        timeout=10,
    )
    assert upload.status_code == 201
    ids = [str(uuid.uuid4()) for _ in range(130)]
    for n, job_id in enumerate(ids):
        response = session.put(
            f"{host.workspace_url}/jobs/{job_id}",
            json={
                "name": f"{prefix}-{n:03d}",
                "providerId": "ionq",
                "target": "ionq.simulator",
                "inputDataUri": input_url,
                "inputDataFormat": "ionq.circuit.v1",
                "inputParams": {"shots": 1},
            },
        )
        assert response.status_code == 201, response.text
    listed = [j.id for j in workspace.list_jobs(name_match=prefix)]
    assert sorted(listed) == sorted(ids)
    first_page = session.get(f"{host.workspace_url}/jobs", params={"filter": f"startswith(Name, '{prefix}')"}).json()
    assert len(first_page["value"]) == 100
    assert first_page["nextLink"].startswith(host.endpoint)


def test_update_job_renames_and_tags(workspace: Workspace) -> None:
    job = IonQ(workspace=workspace, name="ionq.simulator").submit(BELL_IONQ, name=unique("rename"), shots=10)
    new_name = unique("renamed")
    workspace.update_job(job, name=new_name, tags=["a", "b"], priority="High")
    fresh = workspace.get_job(job.id)
    assert (fresh.details.name, fresh.details.tags, fresh.details.priority) == (new_name, ["a", "b"], "High")


def test_cancelling_a_finished_job_is_refused_and_leaves_it_alone(workspace: Workspace) -> None:
    job = IonQ(workspace=workspace, name="ionq.simulator").submit(BELL_IONQ, name=unique("done"), shots=10)
    job.wait_until_completed(timeout_secs=TIMEOUT)
    with pytest.raises(Exception, match="already Succeeded"):
        workspace.cancel_job(job)
    assert workspace.get_job(job.id).details.status == "Succeeded"


def test_delete_removes_a_finished_job(workspace: Workspace) -> None:
    job = IonQ(workspace=workspace, name="ionq.simulator").submit(BELL_IONQ, name=unique("delete"), shots=10)
    job.wait_until_completed(timeout_secs=TIMEOUT)
    workspace.delete_job(job)
    with pytest.raises(ResourceNotFoundError):
        workspace.get_job(job.id)


def test_input_and_output_are_readable_through_the_api(workspace: Workspace, host: LocalHostProcess) -> None:
    job = IonQ(workspace=workspace, name="ionq.simulator").submit(BELL_IONQ, name=unique("data"), shots=10)
    job.wait_until_completed(timeout_secs=TIMEOUT)
    session = requests.Session()
    session.headers["x-ms-quantum-api-key"] = API_KEY
    base = f"{host.workspace_url}/jobs/{job.id}"
    output = session.get(f"{base}/output")
    assert output.headers["x-ms-data-format"] == "ionq.quantum-results.v1"
    assert output.json() == job.get_results()
    program = session.get(f"{base}/input")
    assert program.json() == BELL_IONQ
    assert session.get(f"{base}/elsewhere").status_code == 405


def test_the_syntax_checker_validates_and_returns_all_zeros(workspace: Workspace) -> None:
    target = Quantinuum(workspace=workspace, name="quantinuum.sim.h2-1sc")
    job = target.submit(GHZ_QASM2, name=unique("syntax"), shots=25)
    job.wait_until_completed(timeout_secs=TIMEOUT)
    assert job.get_results() == {"c": ["000"] * 25}


SAMPLERS = ["ionq.simulator", "ionq.qpu.aria-1", "quantinuum.sim.h2-1e", "rigetti.sim.qvm"]


@pytest.mark.parametrize("target", SAMPLERS)
def test_qiskit_circuits_run_through_the_sdks_qir_path(workspace: Workspace, target: str) -> None:
    from azure.quantum.qiskit import AzureQuantumProvider
    from qiskit import QuantumCircuit

    circuit = QuantumCircuit(2, 2, name=unique("qiskit-bell"))
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    shots = 1000
    job = AzureQuantumProvider(workspace).get_backend(target).run(circuit, shots=shots)
    counts = job.result().get_counts()
    assert workspace.get_job(job.id()).details.input_data_format == "qir.v1"
    assert shots - counts.get("00", 0) - counts.get("11", 0) <= leak_bound(shots, target)
    assert abs(counts.get("00", 0) - shots / 2) <= five_sigma(shots)


def test_rigetti_quil_runs_on_the_qvm_and_reads_as_the_sdk_expects(workspace: Workspace) -> None:
    from azure.quantum.target.rigetti import Result, Rigetti

    shots = 1000
    program = "DECLARE ro BIT[2]\nH 0\nCNOT 0 1\nMEASURE 0 ro[0]\nMEASURE 1 ro[1]\n"
    job = Rigetti(workspace=workspace, name="rigetti.sim.qvm").submit(program, name=unique("quil"), shots=shots)
    job.wait_until_completed(timeout_secs=TIMEOUT)
    assert job.details.status == "Succeeded", job.details.error_data
    readout = Result(job)["ro"]
    counts = Counter(tuple(shot) for shot in readout)
    assert len(readout) == shots
    assert set(counts) <= {(0, 0), (1, 1)}
    assert abs(counts[(0, 0)] - shots / 2) <= five_sigma(shots)


@pytest.mark.parametrize("target", SAMPLERS)
def test_a_qsharp_program_compiled_with_qdk_runs_as_qir(workspace: Workspace, target: str) -> None:
    import qsharp  # type: ignore[import-untyped]

    qsharp.init(target_profile=qsharp.TargetProfile.Base)
    qsharp.eval(
        "operation Bell() : (Result, Result) { use (a, b) = (Qubit(), Qubit()); H(a); CNOT(a, b);"
        " let r = (M(a), M(b)); ResetAll([a, b]); r }"
    )
    shots = 1000
    job = workspace.get_targets(target).submit(qsharp.compile("Bell()"), name=unique("qsharp"), shots=shots)
    job.wait_until_completed(timeout_secs=TIMEOUT)
    assert job.details.status == "Succeeded", job.details.error_data
    results = job.get_results()
    leaked = 1 - results.get("(0, 0)", 0) - results.get("(1, 1)", 0)
    assert leaked * shots <= leak_bound(shots, target) + 1e-6
    assert abs(results.get("(0, 0)", 0) * shots - shots / 2) <= five_sigma(shots)
    shots_list = job.get_results_shots()
    assert len(shots_list) == shots
    assert sum(shot not in {(0, 0), (1, 1)} for shot in shots_list) <= leak_bound(shots, target)
    histogram = workspace.get_job(job.id).get_results_histogram()
    assert sum(entry["count"] for entry in histogram.values()) == shots
    assert histogram["(0, 0)"]["outcome"] == (0, 0) and histogram["(1, 1)"]["outcome"] == (1, 1)

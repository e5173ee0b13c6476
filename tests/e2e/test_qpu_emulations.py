"""The QPU targets the azure-quantum SDK names, run here as labelled noisy emulations (and H2-2's syntax checker),
through every path the unmodified SDK offers for each: its target class, Qiskit, Cirq and Q#.

Each path runs a Bell pair on every new target; the counts are tested against the exact distribution of the
documented noise model (`tests.unit.test_noise.documented_distribution`, from the target's catalog noise) with
Pearson's chi-square, so a correct emulation fails a case about once in a million runs.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from functools import cache

import cirq
import pytest
import requests
from azure.quantum import Job, Workspace
from azure.quantum.cirq import AzureQuantumService
from azure.quantum.qiskit import AzureQuantumProvider
from azure.quantum.target import IonQ, Quantinuum
from azure.quantum.target.rigetti import Result, Rigetti
from qiskit import QuantumCircuit

from shared.domain.catalog import load_catalog
from tests.e2e.test_sdk import BELL_IONQ, BELL_QASM2, TIMEOUT, unique
from tests.servers import API_KEY, LocalHostProcess
from tests.unit.test_noise import ALPHA, bell, chi_square_p_value, documented_distribution

pytestmark = pytest.mark.integration

SHOTS = 400
BELL_QUIL = "DECLARE ro BIT[2]\nH 0\nCNOT 0 1\nMEASURE 0 ro[0]\nMEASURE 1 ro[1]\n"
CATALOG = load_catalog()
DEVICE_QUBITS = {
    "ionq.qpu.forte-1": 36,
    "ionq.qpu.forte-enterprise-1": 36,
    "quantinuum.qpu.h2-1": 56,
    "quantinuum.qpu.h2-2": 56,
    "quantinuum.qpu.helios-1": 98,
    "rigetti.qpu.cepheus-1-108q": 108,
}

# Each path submits a Bell pair and returns what collects its counts, keyed "q1q0" (qubit 0 rightmost): every target's
# job is submitted before any is waited for, so they run side by side.
Collect = Callable[[], Counter[str]]
Path = Callable[[Workspace, str], Collect]


def finished(job: Job) -> Job:
    job.wait_until_completed(timeout_secs=TIMEOUT)
    assert job.details.status == "Succeeded", (job.details.target, job.details.error_data)
    return job


def ionq_class(workspace: Workspace, target: str) -> Collect:
    job = IonQ(workspace=workspace, name=target).submit(BELL_IONQ, name=unique("ionq-class"), shots=SHOTS)

    def collect() -> Counter[str]:
        histogram = finished(job).get_results()["histogram"]  # measured frequencies, by basis-state index
        return Counter({format(int(index), "02b"): round(p * SHOTS) for index, p in histogram.items()})

    return collect


def quantinuum_class(workspace: Workspace, target: str) -> Collect:
    job = Quantinuum(workspace=workspace, name=target).submit(BELL_QASM2, name=unique("h-class"), shots=SHOTS)
    return lambda: Counter(finished(job).get_results()["c"])


def rigetti_class(workspace: Workspace, target: str) -> Collect:
    job = Rigetti(workspace=workspace, name=target).submit(BELL_QUIL, name=unique("quil"), shots=SHOTS)
    return lambda: Counter(f"{q1}{q0}" for q0, q1 in Result(finished(job))["ro"])


def target_class(workspace: Workspace, target: str) -> Collect:
    """The SDK's own class for the target's provider, in its native format (IonQ JSON, OpenQASM 2, Quil)."""
    by_provider = {"ionq": ionq_class, "quantinuum": quantinuum_class, "rigetti": rigetti_class}
    return by_provider[CATALOG.provider_of(target).id](workspace, target)


def qiskit(workspace: Workspace, target: str) -> Collect:
    circuit = QuantumCircuit(2, 2, name=unique("qiskit"))
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    job = AzureQuantumProvider(workspace).get_backend(target).run(circuit, shots=SHOTS)
    assert workspace.get_job(job.id()).details.input_data_format == "qir.v1"
    return lambda: Counter(job.result().get_counts())  # keys "c1c0"


def cirq_service(workspace: Workspace, target: str) -> Collect:
    first, second = cirq.LineQubit.range(2)
    circuit = cirq.Circuit(cirq.H(first), cirq.CNOT(first, second), cirq.measure(first, second, key="m"))
    service = AzureQuantumService(workspace=workspace)
    result = service.run(circuit, repetitions=SHOTS, target=target, name=unique("cirq"), timeout_seconds=TIMEOUT)
    # Cirq's histogram is big-endian over the measured qubits: qubit 0 is the high bit.
    counts = Counter({format(value, "02b")[::-1]: count for value, count in result.histogram(key="m").items()})
    return lambda: counts


@cache
def compiled_bell() -> object:
    import qsharp  # type: ignore[import-untyped]

    qsharp.init(target_profile=qsharp.TargetProfile.Base)
    qsharp.eval(
        "operation Bell() : (Result, Result) { use (a, b) = (Qubit(), Qubit()); H(a); CNOT(a, b);"
        " let r = (M(a), M(b)); ResetAll([a, b]); r }"
    )
    return qsharp.compile("Bell()")


def qsharp_program(workspace: Workspace, target: str) -> Collect:
    job = workspace.get_targets(target).submit(compiled_bell(), name=unique("qsharp"), shots=SHOTS)

    def collect() -> Counter[str]:
        shots = finished(job).get_results_shots()  # (M(a), M(b)) per shot
        return Counter(f"{q1}{q0}" for q0, q1 in shots)

    return collect


NEW_TARGETS = [
    "ionq.qpu.forte-1",
    "ionq.qpu.forte-enterprise-1",
    "quantinuum.sim.h2-2sc",
    "quantinuum.sim.h2-2e",
    "quantinuum.qpu.h2-1",
    "quantinuum.qpu.h2-2",
    "quantinuum.qpu.helios-1",
    "rigetti.qpu.cepheus-1-108q",
]
PATHS = [
    pytest.param(target_class, id="target-class"),
    pytest.param(qiskit, id="qiskit"),
    pytest.param(cirq_service, id="cirq"),
    pytest.param(qsharp_program, id="qsharp"),
]


@pytest.mark.parametrize("path", PATHS)
def test_a_bell_pair_on_each_new_target_through_each_sdk_path_fits_its_exact_distribution(
    workspace: Workspace, path: Path
) -> None:
    collects = {target: path(workspace, target) for target in NEW_TARGETS}
    for target_id, collect in collects.items():
        counted = collect()
        assert sum(counted.values()) == SHOTS, target_id
        spec = CATALOG.target(CATALOG.provider_of(target_id).id, target_id)
        if spec.noise is None:  # the syntax checker: all zeros, as the real one returns
            assert counted == Counter({"00": SHOTS}), target_id
        else:
            p_value = chi_square_p_value(counted, documented_distribution(bell(), spec.noise))
            assert p_value > ALPHA, f"{target_id}: {dict(counted)} (p = {p_value:.2g})"


def test_the_qpu_targets_advertise_the_devices_qubits_and_say_they_are_emulations(host: LocalHostProcess) -> None:
    status = requests.get(
        f"{host.workspace_url}/providerStatus", headers={"x-ms-quantum-api-key": API_KEY}, timeout=10
    ).json()
    targets = {t["id"]: t for p in status["value"] for t in p["targets"]}
    assert {target: targets[target]["numQubits"] for target in DEVICE_QUBITS} == DEVICE_QUBITS
    for target in DEVICE_QUBITS:
        metadata = targets[target]["metadata"]
        assert metadata["emulation"] == "local noisy emulation from published error rates"
        assert "run locally as a noisy emulation" in metadata["description"] and metadata["noise"]["source"]
    assert "emulation" not in targets["echo-output"]["metadata"]


def test_a_wide_clifford_program_runs_at_the_devices_width_and_a_wide_other_one_fails_naming_the_limit(
    workspace: Workspace,
) -> None:
    """Cepheus-1-108Q: 108 X gates run on the stabilizer method, each bit reading 0 only through a gate error or
    a readout flip (five sigma of the exact rate); 13 rotated qubits are past what a statevector per shot allows."""
    target = Rigetti(workspace=workspace, name="rigetti.qpu.cepheus-1-108q")
    every_qubit = "DECLARE ro BIT[108]\n" + "".join(f"X {q}\nMEASURE {q} ro[{q}]\n" for q in range(108))
    shots = 50
    job = target.submit(every_qubit, name=unique("wide"), shots=shots)
    job.wait_until_completed(timeout_secs=TIMEOUT)
    assert job.details.status == "Succeeded", job.details.error_data
    readout = Result(job)["ro"]
    assert len(readout) == shots and all(len(shot) == 108 for shot in readout)
    noise = CATALOG.target("rigetti", "rigetti.qpu.cepheus-1-108q").noise
    assert noise is not None
    wrong = noise.one_qubit_gate_error  # a depolarized X reads 0 with half its strength: the average infidelity
    p_zero = wrong * (1 - noise.readout_error) + (1 - wrong) * noise.readout_error
    bits = shots * 108
    zeros = sum(shot.count(0) for shot in readout)
    assert abs(zeros - bits * p_zero) <= 5 * math.sqrt(bits * p_zero * (1 - p_zero))

    rotated = "DECLARE ro BIT[13]\n" + "".join(f"RX(0.3) {q}\nMEASURE {q} ro[{q}]\n" for q in range(13))
    refused = target.submit(rotated, name=unique("too-wide"), shots=10)
    refused.wait_until_completed(timeout_secs=TIMEOUT)
    assert refused.details.status == "Failed"
    assert refused.details.error_data.code == "UnsupportedProgram"
    message = refused.details.error_data.message
    assert "13 qubits and non-Clifford gates" in message and "up to 12 qubits" in message, message


def test_qpu_emulations_cost_what_their_providers_publish(workspace: Workspace) -> None:
    """Forte: gate-shots at $0.0001645 and $0.001121 under a $25.79 minimum; Cepheus: $0.02 per 10 ms of
    execution, 1 ms a shot; Quantinuum's QPUs count HQCs, whose price is not published, at 0."""
    forte = IonQ(workspace=workspace, name="ionq.qpu.forte-1").submit(BELL_IONQ, name=unique("forte$"), shots=1000)
    estimate = forte.details.cost_estimate
    assert {e.dimension_id: (e.amount_billed, e.unit_price) for e in estimate.events} == {
        "gs1q": (1000, 0.0001645),
        "gs2q": (1000, 0.001121),
    }
    assert estimate.estimated_total == 25.79, "1000 shots of a Bell pair cost less than the job minimum"
    cepheus = Rigetti(workspace=workspace, name="rigetti.qpu.cepheus-1-108q")
    timed = cepheus.submit(BELL_QUIL, name=unique("cepheus$"), shots=1000)
    timed.wait_until_completed(timeout_secs=TIMEOUT)
    (event,) = timed.details.cost_estimate.events
    assert (event.dimension_id, event.amount_billed, event.unit_price) == ("qpu-time", 100, 0.02)
    assert timed.details.cost_estimate.estimated_total == 2.0
    h2 = Quantinuum(workspace=workspace, name="quantinuum.qpu.h2-1").submit(BELL_QASM2, name=unique("h2$"), shots=100)
    (hqc,) = h2.details.cost_estimate.events
    assert (hqc.dimension_id, hqc.unit_price) == ("hqc", 0) and hqc.amount_consumed > 5
    forte.wait_until_completed(timeout_secs=TIMEOUT)
    h2.wait_until_completed(timeout_secs=TIMEOUT)

"""The unmodified azure-quantum SDK's Cirq path (`azure.quantum.cirq.AzureQuantumService`) against the local host.

cirq-ionq writes every CNOT as IonQ documents it, `{"gate": "cnot", "control": c, "target": t}`; Quantinuum
targets get the circuit as OpenQASM 2.0 (`cirq.Circuit.to_qasm`). Results are read back with the SDK's own calls.
"""

from __future__ import annotations

from collections import Counter

import cirq
import pytest
from azure.quantum import Workspace
from azure.quantum.cirq import AzureQuantumService

from tests.e2e.test_sdk import five_sigma, leak_bound, unique

pytestmark = pytest.mark.integration

TIMEOUT = 60


def bell() -> cirq.Circuit:
    first, second = cirq.LineQubit.range(2)
    return cirq.Circuit(cirq.H(first), cirq.CNOT(first, second), cirq.measure(first, second, key="m"))


def test_a_cirq_bell_circuit_on_the_ionq_simulator_gives_exact_probabilities(workspace: Workspace) -> None:
    service = AzureQuantumService(workspace=workspace)
    job = service.create_job(bell(), repetitions=100, target="ionq.simulator", name=unique("cirq-bell"))
    (result,) = job.results(timeout_seconds=TIMEOUT, polling_seconds=0.2)  # cirq-ionq's SimulatorResult
    # Keys are big-endian basis states over the measured qubits, values the simulator's exact probabilities.
    assert result.probabilities() == {0: 0.5, 3: 0.5}
    sampled = result.to_cirq_result(seed=7).histogram(key="m")
    assert set(sampled) <= {0, 3}
    assert sum(sampled.values()) == 100


def test_a_cirq_bell_circuit_runs_on_a_quantinuum_target(workspace: Workspace) -> None:
    shots = 500
    target = "quantinuum.sim.h2-1e"
    service = AzureQuantumService(workspace=workspace)
    result = service.run(bell(), repetitions=shots, target=target, name=unique("cirq-h2"), timeout_seconds=TIMEOUT)
    counts = Counter(result.histogram(key="m"))
    assert sum(counts.values()) == shots
    assert shots - counts[0] - counts[3] <= leak_bound(shots, target)
    assert abs(counts[0] - shots / 2) <= five_sigma(shots)

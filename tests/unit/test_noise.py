"""Noisy targets and every sampling target's measured distribution, tested against exact probabilities.

Ideal targets are compared with qiskit's Statevector probabilities. Noisy targets are compared with the
exact distribution of the model `shared.adapters.noise` documents, computed here independently of
qiskit-aer with density matrices: after every gate but Z rotations and the identity, a depolarizing
channel of strength λ = error · d / (d - 1) on its qubits; then each measured bit flips with the
readout error. Runs through `LocalSimulators` are not seeded, so every bound is a statistical one:
a correct sampler fails any single test here about once in a million runs (ALPHA, or five sigma).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from functools import cache

import numpy as np
import pytest
from qdk import TargetProfile  # tests/conftest.py has switched qdk telemetry off
from qdk.openqasm import compile as compile_qasm
from qiskit import QuantumCircuit, qasm2, qasm3
from qiskit.quantum_info import DensityMatrix, Kraus, Operator, Statevector, pauli_basis, state_fidelity
from qiskit_aer import AerSimulator as AerBackend
from qiskit_aer.noise import NoiseModel
from scipy.stats import chi2  # type: ignore[import-untyped]  # scipy ships no type information

from shared.adapters.aer_simulator import AerSimulator
from shared.adapters.local import LocalSimulators
from shared.adapters.noise import ERROR_FREE_GATES, noise_model, noisy_backend
from shared.domain.catalog import NoiseSpec, TargetSpec, load_catalog
from shared.programs.ionq_json import circuit_to_ionq, dump_ionq
from shared.programs.translate import load_circuit

ALPHA = 1e-6
SHOTS = 4000
LEAKAGE_SHOTS = 10_000
MIN_EXPECTED = 5  # Pearson's chi-square wants at least this many expected counts per bin
CATALOG = load_catalog()
NOISY = [t for p in CATALOG.providers for t in p.targets if t.engine == "noisy"]
IDEAL = [t for p in CATALOG.providers for t in p.targets if t.engine == "ideal"]
SIMULATOR = AerSimulator()


def target(target_id: str) -> TargetSpec:
    return CATALOG.target(CATALOG.provider_of(target_id).id, target_id)


def bell() -> QuantumCircuit:
    circuit = QuantumCircuit(2, 2, name="bell")
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    return circuit


def ghz3() -> QuantumCircuit:
    circuit = QuantumCircuit(3, 3, name="ghz3")
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.measure([0, 1, 2], [0, 1, 2])
    return circuit


def rotations() -> QuantumCircuit:
    """Unequal amplitudes on all eight outcomes, with a non-Clifford gate on every qubit."""
    circuit = QuantumCircuit(3, 3, name="rotations")
    circuit.ry(0.3, 0)
    circuit.ry(1.1, 1)
    circuit.cx(0, 1)
    circuit.ry(2.2, 2)
    circuit.cx(1, 2)
    circuit.measure([0, 1, 2], [0, 1, 2])
    return circuit


CIRCUITS = [bell, ghz3, rotations]


# Programs in each provider format: every qubit i is measured into bit i of one register.


def to_quil(circuit: QuantumCircuit) -> bytes:
    names = {"h": "H", "cx": "CNOT", "ry": "RY"}
    lines = [f"DECLARE ro BIT[{circuit.num_clbits}]"]
    for item in circuit.data:
        qubits = " ".join(str(circuit.find_bit(q).index) for q in item.qubits)
        name = item.operation.name
        if name == "measure":
            lines.append(f"MEASURE {qubits} ro[{circuit.find_bit(item.clbits[0]).index}]")
        else:
            params = f"({float(item.operation.params[0])!r})" if item.operation.params else ""
            lines.append(f"{names[name]}{params} {qubits}")
    return "\n".join(lines).encode() + b"\n"


ENCODERS: dict[str, Callable[[QuantumCircuit], bytes]] = {
    "ionq.circuit.v1": lambda c: dump_ionq(circuit_to_ionq(c.remove_final_measurements(inplace=False))),
    "honeywell.openqasm.v1": lambda c: qasm2.dumps(c).encode(),
    "rigetti.quil.v1": to_quil,
    "qir.v1": lambda c: str(compile_qasm(qasm3.dumps(c), target_profile=TargetProfile.Base)).encode(),
}


# Outputs read back as counts of bitstrings, bit 0 rightmost.


def counts_of(output_format: str, data: bytes, width: int, shots: int) -> Counter[str]:
    output = json.loads(data)
    if output_format == "ionq.quantum-results.v1":
        return Counter({format(int(k), f"0{width}b"): round(p * shots) for k, p in output["histogram"].items()})
    if output_format == "honeywell.quantum-results.v1":
        return Counter(output["c"])
    if output_format == "rigetti.quil-results.v1":
        return Counter("".join(map(str, reversed(shot))) for shot in output["ro"])
    histogram = output["Results"][0]["Histogram"]
    return Counter({"".join(map(str, reversed(h["Outcome"]))): h["Count"] for h in histogram})


@cache
def program(input_format: str, make: Callable[[], QuantumCircuit]) -> bytes:
    return ENCODERS[input_format](make())


def run(spec: TargetSpec, input_format: str, make: Callable[[], QuantumCircuit], shots: int = SHOTS) -> Counter[str]:
    circuit = make()
    route = spec.route_for(input_format)
    output = LocalSimulators(SIMULATOR).run(spec, route, program(input_format, make), shots, {})
    counts = counts_of(route.output_format, output.data, circuit.num_clbits, shots)
    assert sum(counts.values()) == shots
    return counts


# Exact distributions.


def ideal_distribution(circuit: QuantumCircuit) -> dict[str, float]:
    probabilities: dict[str, float] = Statevector(circuit.remove_final_measurements(inplace=False)).probabilities_dict()
    return probabilities


def depolarizing(strength: float, num_qubits: int) -> Kraus:
    """The state goes to (1 - λ) state + λ I/d: every Pauli with weight λ/d², the identity the rest."""
    paulis = pauli_basis(num_qubits)
    weights = [strength / len(paulis)] * len(paulis)
    weights[0] += 1 - strength  # pauli_basis starts with the identity
    return Kraus([math.sqrt(w) * p.to_matrix() for w, p in zip(weights, paulis, strict=True)])


def documented_distribution(circuit: QuantumCircuit, noise: NoiseSpec) -> dict[str, float]:
    """Exact outcome probabilities under the documented noise model (final measurement of qubit i into bit i)."""
    width = circuit.num_qubits
    state = DensityMatrix.from_int(0, 2**width)
    for item in circuit.data:
        qubits = [circuit.find_bit(q).index for q in item.qubits]
        name = item.operation.name
        if name == "measure":
            assert qubits == [circuit.find_bit(item.clbits[0]).index]
            continue
        if name == "barrier":
            continue
        state = state.evolve(Operator(item.operation), qubits)
        if name not in ERROR_FREE_GATES:
            gate_error = noise.one_qubit_gate_error if len(qubits) == 1 else noise.two_qubit_gate_error
            dimension = 2 ** len(qubits)
            state = state.evolve(depolarizing(gate_error * dimension / (dimension - 1), len(qubits)), qubits)
    probabilities = np.real(np.diag(state.data))
    index = np.arange(2**width)
    for bit in range(width):
        probabilities = (1 - noise.readout_error) * probabilities + noise.readout_error * probabilities[
            index ^ 1 << bit
        ]
    return {format(i, f"0{width}b"): float(p) for i, p in enumerate(probabilities)}


def exact_distribution(spec: TargetSpec, input_format: str, make: Callable[[], QuantumCircuit]) -> dict[str, float]:
    """What the target should sample: computed on the program as the provider parses it."""
    as_run = load_circuit(program(input_format, make), spec.route_for(input_format).provider_format)
    return ideal_distribution(as_run) if spec.noise is None else documented_distribution(as_run, spec.noise)


# The statistical test.


def chi_square_p_value(counts: Counter[str], probabilities: dict[str, float]) -> float:
    """Pearson's chi-square goodness of fit; outcomes expected fewer than MIN_EXPECTED times share one bin.

    An outcome of probability 0 that was observed fails outright (p = 0).
    """
    shots = sum(counts.values())
    if any(probabilities.get(outcome, 0.0) < 1e-12 for outcome in counts):
        return 0.0
    bins: list[tuple[float, int]] = []
    pooled_expected, pooled_observed = 0.0, 0
    for outcome, p in probabilities.items():
        if shots * p >= MIN_EXPECTED:
            bins.append((shots * p, counts[outcome]))
        else:
            pooled_expected += shots * p
            pooled_observed += counts[outcome]
    if pooled_expected > 0:
        bins.append((pooled_expected, pooled_observed))
    if len(bins) < 2:
        return 1.0
    statistic = sum((observed - expected) ** 2 / expected for expected, observed in bins)
    return float(chi2.sf(statistic, len(bins) - 1))


def test_the_chi_square_test_rejects_a_wrong_distribution() -> None:
    fair = Counter({"0": 2000, "1": 2000})
    assert chi_square_p_value(fair, {"0": 0.5, "1": 0.5}) == pytest.approx(1.0)
    assert chi_square_p_value(Counter({"0": 2200, "1": 1800}), {"0": 0.5, "1": 0.5}) < ALPHA
    assert chi_square_p_value(fair, {"0": 1.0}) == 0.0


# The noise model has the published errors.


def average_gate_infidelity(model: NoiseModel, gate: QuantumCircuit) -> float:
    """1 - average gate fidelity of the noisy gate against the ideal one, from its Choi state in Aer."""
    n = int(gate.num_qubits)
    dimension = 1 << n
    pairs = Statevector(np.eye(dimension).reshape(-1) / math.sqrt(dimension))  # system qubits first
    circuit = QuantumCircuit(2 * n)
    circuit.set_density_matrix(DensityMatrix(pairs))
    circuit.compose(gate, range(n), inplace=True)
    circuit.save_density_matrix()
    noisy = AerBackend(method="density_matrix", noise_model=model).run(circuit).result().data()["density_matrix"]
    ideal = pairs.evolve(gate, list(range(n)))
    process_fidelity = float(state_fidelity(ideal, noisy))
    return 1 - (dimension * process_fidelity + 1) / (dimension + 1)


def one_gate(name: str, num_qubits: int, *params: float) -> QuantumCircuit:
    circuit = QuantumCircuit(num_qubits)
    getattr(circuit, name)(*params, *range(num_qubits))
    return circuit


@pytest.mark.parametrize("spec", NOISY, ids=lambda t: t.id)
@pytest.mark.parametrize(
    ("gate", "error"),
    [
        pytest.param(one_gate("h", 1), "one", id="h"),
        pytest.param(one_gate("sx", 1), "one", id="sx"),
        pytest.param(one_gate("ry", 1, 0.7), "one", id="ry"),
        pytest.param(one_gate("cx", 2), "two", id="cx"),
        pytest.param(one_gate("rzz", 2, 0.4), "two", id="rzz"),
        pytest.param(one_gate("rz", 1, 0.7), "none", id="rz"),
        pytest.param(one_gate("s", 1), "none", id="s"),
    ],
)
def test_each_gate_has_the_published_average_infidelity(spec: TargetSpec, gate: QuantumCircuit, error: str) -> None:
    assert spec.noise is not None
    published = {"one": spec.noise.one_qubit_gate_error, "two": spec.noise.two_qubit_gate_error, "none": 0.0}
    assert average_gate_infidelity(noise_model(spec.noise), gate) == pytest.approx(published[error], abs=1e-9)


@pytest.mark.parametrize("spec", NOISY, ids=lambda t: t.id)
def test_measurements_flip_with_the_published_spam_error(spec: TargetSpec) -> None:
    assert spec.noise is not None
    flip = spec.noise.readout_error
    readout = [e for e in noise_model(spec.noise).to_dict()["errors"] if e["type"] == "roerror"]
    assert [e["operations"] for e in readout] == [["measure"]]
    assert np.allclose(readout[0]["probabilities"], [[1 - flip, flip], [flip, 1 - flip]])


def test_noisy_targets_say_so_and_cite_their_source() -> None:
    assert {t.id for t in NOISY} == {
        "ionq.qpu.aria-1",
        "ionq.qpu.forte-1",
        "ionq.qpu.forte-enterprise-1",
        "quantinuum.sim.h2-1e",
        "quantinuum.sim.h2-2e",
        "quantinuum.qpu.h2-1",
        "quantinuum.qpu.h2-2",
        "quantinuum.qpu.helios-1",
        "rigetti.qpu.cepheus-1-108q",
    }
    for spec in NOISY:
        assert "noisy emulation" in spec.description and "published" in spec.description
        assert spec.noise is not None and spec.noise.source
    assert all(t.noise is None for t in IDEAL)


def test_a_noisy_target_without_noise_or_an_ideal_one_with_it_is_refused() -> None:
    spec = target("ionq.qpu.aria-1").model_dump(by_alias=True)
    with pytest.raises(ValueError, match="noisy target needs"):
        TargetSpec.model_validate({**spec, "noise": None})
    with pytest.raises(ValueError, match="only a noisy target"):
        TargetSpec.model_validate({**spec, "engine": "ideal"})


# Every sampling target, through each of its routes, against exact probabilities.

SAMPLING_ROUTES = [
    pytest.param("ionq.simulator", "qir.v1", id="ionq.simulator-qir"),
    pytest.param("ionq.qpu.aria-1", "ionq.circuit.v1", id="aria-1-ionq"),
    pytest.param("ionq.qpu.aria-1", "qir.v1", id="aria-1-qir"),
    pytest.param("quantinuum.sim.h2-1e", "honeywell.openqasm.v1", id="h2-1e-qasm"),
    pytest.param("quantinuum.sim.h2-1e", "qir.v1", id="h2-1e-qir"),
    pytest.param("rigetti.sim.qvm", "rigetti.quil.v1", id="qvm-quil"),
    pytest.param("rigetti.sim.qvm", "qir.v1", id="qvm-qir"),
    pytest.param("ionq.qpu.forte-1", "ionq.circuit.v1", id="forte-1-ionq"),
    pytest.param("ionq.qpu.forte-enterprise-1", "qir.v1", id="forte-enterprise-1-qir"),
    pytest.param("quantinuum.sim.h2-2e", "honeywell.openqasm.v1", id="h2-2e-qasm"),
    pytest.param("quantinuum.qpu.h2-1", "qir.v1", id="qpu-h2-1-qir"),
    pytest.param("quantinuum.qpu.h2-2", "honeywell.openqasm.v1", id="qpu-h2-2-qasm"),
    pytest.param("quantinuum.qpu.helios-1", "honeywell.openqasm.v1", id="helios-1-qasm"),
    pytest.param("rigetti.qpu.cepheus-1-108q", "rigetti.quil.v1", id="cepheus-quil"),
    pytest.param("rigetti.qpu.cepheus-1-108q", "qir.v1", id="cepheus-qir"),
]


@pytest.mark.parametrize(("target_id", "input_format"), SAMPLING_ROUTES)
@pytest.mark.parametrize("make", CIRCUITS, ids=lambda m: m.__name__)
def test_sampled_distribution_fits_the_exact_one(
    target_id: str, input_format: str, make: Callable[[], QuantumCircuit]
) -> None:
    spec = target(target_id)
    counts = run(spec, input_format, make)
    assert chi_square_p_value(counts, exact_distribution(spec, input_format, make)) > ALPHA


@pytest.mark.parametrize(("target_id", "input_format"), [SAMPLING_ROUTES[1], SAMPLING_ROUTES[3]])
@pytest.mark.parametrize("make", [bell, ghz3], ids=lambda m: m.__name__)
def test_noisy_samples_do_not_fit_the_ideal_distribution(
    target_id: str, input_format: str, make: Callable[[], QuantumCircuit]
) -> None:
    counts = run(target(target_id), input_format, make)
    assert chi_square_p_value(counts, ideal_distribution(make())) == 0.0  # outcomes the ideal circuit never gives


@pytest.mark.parametrize("make", CIRCUITS, ids=lambda m: m.__name__)
def test_the_ideal_ionq_simulator_returns_the_exact_probabilities(make: Callable[[], QuantumCircuit]) -> None:
    spec = target("ionq.simulator")
    circuit = make()
    route = spec.route_for("ionq.circuit.v1")
    output = LocalSimulators(SIMULATOR).run(spec, route, program("ionq.circuit.v1", make), SHOTS, {})
    histogram = json.loads(output.data)["histogram"]
    exact = ideal_distribution(circuit)
    assert {format(int(k), f"0{circuit.num_qubits}b"): p for k, p in histogram.items()} == pytest.approx(
        {k: p for k, p in exact.items() if p > 1e-12}, abs=1e-9
    )


# Leakage out of the ideal outcomes: at the rate the published errors predict on noisy targets, none on ideal ones.


@pytest.mark.parametrize(
    ("target_id", "input_format"),
    [
        pytest.param("ionq.qpu.aria-1", "ionq.circuit.v1", id="aria-1"),
        pytest.param("quantinuum.sim.h2-1e", "honeywell.openqasm.v1", id="h2-1e"),
        pytest.param("rigetti.qpu.cepheus-1-108q", "rigetti.quil.v1", id="cepheus-1-108q"),
    ],
)
@pytest.mark.parametrize("make", [bell, ghz3], ids=lambda m: m.__name__)
def test_noisy_targets_leak_at_the_predicted_rate(
    target_id: str, input_format: str, make: Callable[[], QuantumCircuit]
) -> None:
    """Five sigma of the binomial leak count around its prediction; the band excludes zero."""
    spec = target(target_id)
    ideal = {outcome for outcome, p in ideal_distribution(make()).items() if p > 1e-12}
    predicted = sum(p for outcome, p in exact_distribution(spec, input_format, make).items() if outcome not in ideal)
    counts = run(spec, input_format, make, LEAKAGE_SHOTS)
    leaked = LEAKAGE_SHOTS - sum(counts[outcome] for outcome in ideal)
    mean, sigma = LEAKAGE_SHOTS * predicted, math.sqrt(LEAKAGE_SHOTS * predicted * (1 - predicted))
    assert mean - 5 * sigma > 0
    assert abs(leaked - mean) <= 5 * sigma, f"{leaked} leaked, {mean:.1f} ± {sigma:.1f} predicted"


@pytest.mark.parametrize(
    ("target_id", "input_format"), [("rigetti.sim.qvm", "rigetti.quil.v1"), ("ionq.simulator", "qir.v1")]
)
@pytest.mark.parametrize("make", [bell, ghz3], ids=lambda m: m.__name__)
def test_ideal_targets_never_leak(target_id: str, input_format: str, make: Callable[[], QuantumCircuit]) -> None:
    width = make().num_qubits
    counts = run(target(target_id), input_format, make, LEAKAGE_SHOTS)
    assert set(counts) <= {"0" * width, "1" * width}


# Seeded runs of the adapter itself repeat, noise included.


@pytest.mark.parametrize("spec", NOISY, ids=lambda t: t.id)
def test_seeded_noisy_runs_repeat(spec: TargetSpec) -> None:
    qasm = program("honeywell.openqasm.v1", rotations)
    first = SIMULATOR.honeywell_shots(qasm, 500, seed=5, noise=spec.noise)
    assert first == SIMULATOR.honeywell_shots(qasm, 500, seed=5, noise=spec.noise)
    ionq = program("ionq.circuit.v1", ghz3)
    assert SIMULATOR.ionq_frequencies(ionq, 500, seed=5, noise=spec.noise) == SIMULATOR.ionq_frequencies(
        ionq, 500, seed=5, noise=spec.noise
    )


def test_a_noisy_clifford_program_runs_on_the_stabilizer_method() -> None:
    """Pauli noise keeps a Clifford program on Aer's stabilizer method, whatever its width (a 20-qubit GHZ)."""
    circuit = QuantumCircuit(20, 20)
    circuit.h(0)
    for qubit in range(19):
        circuit.cx(qubit, qubit + 1)
    circuit.measure(range(20), range(20))
    noise = target("quantinuum.sim.h2-1e").noise
    assert noise is not None
    result = noisy_backend(noise).run(circuit, shots=100, seed_simulator=3).result()
    assert result.results[0].metadata["method"] == "stabilizer"

"""IonQ's JSON dialect whole: IonQ's documented circuits, and whatever cirq-ionq and qiskit-ionq serialize.

IonQ documents single `target`/`control` keys next to the `targets`/`controls` lists, `cnot` and `not`, a Toffoli
as a cnot with two controls, and controlled and multi-controlled forms of every gate but swap. Each documented
example runs through inspect, translate and the ionq.simulator with exact expected probabilities; each gate the
two serializers emit is round-tripped from random circuits and compared with the original's unitary up to global
phase; controlled gates are compared exactly with their textbook matrices.
"""

from __future__ import annotations

import cmath
import json
import math
from collections.abc import Callable
from typing import Any

import cirq
import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Gate
from qiskit.circuit.library import (
    PauliEvolutionGate,
    RXGate,
    RYGate,
    RZGate,
)
from qiskit.providers import Options
from qiskit.quantum_info import Operator, SparsePauliOp
from qiskit_ionq.helpers import qiskit_to_ionq
from qiskit_ionq.ionq_gates import GPI2Gate, GPIGate, MSGate, ZZGate

from shared.adapters.aer_simulator import AerSimulator
from shared.domain.errors import InvalidProgramError
from shared.ports import ProgramInfo
from shared.programs.translate import inspect_program, load_circuit, translate_program

IONQ = "ionq.circuit.v1"
HONEYWELL = "honeywell.openqasm.v1"
GateJson = dict[str, Any]

cirq_ionq = pytest.importorskip("cirq_ionq")  # untyped
SIMULATOR = AerSimulator()


def program(qubits: int, *gates: GateJson, **top: str) -> bytes:
    return json.dumps({**top, "qubits": qubits, "circuit": list(gates)}).encode()


def unitary(data: bytes) -> Operator:
    """The program's unitary as the service loads it (its final measurements removed)."""
    return Operator(load_circuit(data, IONQ).remove_final_measurements(inplace=False))


# --- IonQ's documented examples ("Writing quantum programs", "Native gates") ----------------------------------

BELL = program(
    2,
    {"gate": "h", "target": 0},
    {"gate": "cnot", "target": 1, "control": 0},
    format="ionq.circuit.v0",
    gateset="qis",
)
GHZ = program(
    4,
    {"gate": "h", "target": 0},
    {"gate": "cnot", "control": 0, "target": 1},
    {"gate": "cnot", "control": 0, "target": 2},
    {"gate": "cnot", "control": 0, "target": 3},
)
TOFFOLI: GateJson = {"gate": "cnot", "target": 0, "controls": [1, 2]}


def test_documented_bell_state_is_exactly_half_00_half_11() -> None:
    assert inspect_program(BELL, IONQ) == ProgramInfo(num_qubits=2, num_clbits=2, gate_count=2)
    assert translate_program(BELL, IONQ, IONQ) == (
        b'{"gateset":"qis","qubits":2,"circuit":[{"gate":"h","targets":[0]},{"gate":"x","targets":[1],"controls":[0]}]}'
    )
    assert SIMULATOR.ionq_histogram(BELL) == {"0": 0.5, "3": 0.5}


def test_documented_ghz_state_is_exactly_half_0000_half_1111() -> None:
    assert inspect_program(GHZ, IONQ).gate_count == 4
    assert SIMULATOR.ionq_histogram(GHZ) == {"0": 0.5, "15": 0.5}


@pytest.mark.parametrize("inputs", range(8), ids=lambda i: f"{i:03b}")
def test_documented_toffoli_follows_its_truth_table(inputs: int) -> None:
    """Qubits 1 and 2 control qubit 0: the target flips exactly when both controls are 1."""
    prepare = [{"gate": "not", "target": qubit} for qubit in range(3) if inputs >> qubit & 1]
    data = program(3, *prepare, TOFFOLI)
    flipped = inputs ^ 1 if inputs & 0b110 == 0b110 else inputs
    assert SIMULATOR.ionq_histogram(data) == {str(flipped): 1.0}
    assert json.loads(translate_program(data, IONQ, IONQ))["circuit"][-1] == {
        "gate": "x",
        "targets": [0],
        "controls": [1, 2],
    }


def test_documented_single_gate_examples_are_accepted() -> None:
    data = program(
        3,
        {"gate": "h", "target": 0},
        {"gate": "cnot", "target": 1, "control": 0},
        TOFFOLI,
        {"gate": "rx", "target": 0, "rotation": 1.5708},
        {"gate": "swap", "targets": [0, 1]},
    )
    assert inspect_program(data, IONQ).gate_count == 5


def test_rotations_take_radians() -> None:
    # rx(π/3) then ry(π/2) on another qubit: P(q0 = 1) = sin²(π/6) = 1/4, P(q1 = 1) = 1/2.
    data = program(
        2, {"gate": "rx", "target": 0, "rotation": math.pi / 3}, {"gate": "ry", "targets": [1], "rotation": math.pi / 2}
    )
    histogram = SIMULATOR.ionq_histogram(data)
    assert histogram.keys() == {"0", "1", "2", "3"}
    for key, expected in {"0": 3 / 8, "1": 1 / 8, "2": 3 / 8, "3": 1 / 8}.items():
        assert histogram[key] == pytest.approx(expected, abs=1e-12)


def test_documented_native_gates_take_phases_and_angles_in_turns() -> None:
    # gpi2(0) then gpi2(0.5) undo each other (gpi2(φ + ½) is gpi2(φ)'s inverse); a fully entangling ms, and a
    # zz(0.25) between gpi2(0) and gpi2(0.5) on both qubits, each give a Bell pair.
    undo = program(
        1, {"gate": "gpi2", "target": 0, "phase": 0}, {"gate": "gpi2", "target": 0, "phase": 0.5}, gateset="native"
    )
    assert SIMULATOR.ionq_histogram(undo) == {"0": pytest.approx(1.0, abs=1e-12)}
    ms = program(2, {"gate": "ms", "targets": [0, 1], "phases": [0, 0], "angle": 0.25}, gateset="native")
    around = [{"gate": "gpi2", "target": qubit, "phase": 0} for qubit in (0, 1)]
    back = [{"gate": "gpi2", "target": qubit, "phase": 0.5} for qubit in (0, 1)]
    zz = program(2, *around, {"gate": "zz", "targets": [0, 1], "angle": 0.25}, *back, gateset="native")
    for bell in (ms, zz):
        histogram = SIMULATOR.ionq_histogram(bell)
        assert histogram.keys() == {"0", "3"}
        assert histogram["0"] == pytest.approx(0.5, abs=1e-12)
        assert histogram["3"] == pytest.approx(0.5, abs=1e-12)


# --- every way IonQ writes a gate's qubits reads the same --------------------------------------------------------

CNOT_FORMS = [
    pytest.param({"gate": "cnot", "target": 1, "control": 0}, id="cnot-target-control"),
    pytest.param({"gate": "cnot", "targets": [1], "controls": [0]}, id="cnot-targets-controls"),
    pytest.param({"gate": "cnot", "target": 1, "controls": [0]}, id="cnot-target-controls"),
    pytest.param({"gate": "cnot", "targets": [1], "control": 0}, id="cnot-targets-control"),
    pytest.param({"gate": "x", "target": 1, "control": 0}, id="x-target-control"),
    pytest.param({"gate": "not", "targets": [1], "controls": [0]}, id="not-targets-controls"),
]


@pytest.mark.parametrize("cnot", CNOT_FORMS)
def test_every_documented_cnot_form_is_one_canonical_cnot(cnot: GateJson) -> None:
    data = program(2, {"gate": "h", "target": 0}, cnot, format="ionq.circuit.v1")
    assert translate_program(data, IONQ, IONQ) == translate_program(BELL, IONQ, IONQ)
    assert SIMULATOR.ionq_histogram(data) == {"0": 0.5, "3": 0.5}


def test_not_is_x() -> None:
    assert unitary(program(1, {"gate": "not", "target": 0})) == unitary(program(1, {"gate": "x", "targets": [0]}))


# Textbook matrices, the first target most significant; rotations in radians.
I2 = np.eye(2)
X = np.array([[0, 1], [1, 0]])
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1, -1])


def rotation(pauli: np.ndarray, angle: float) -> np.ndarray:
    """exp(-i angle/2 P) for a Pauli product P (P² = 1)."""
    return math.cos(angle / 2) * np.eye(len(pauli)) - 1j * math.sin(angle / 2) * pauli


def sqrt_x(sign: int) -> np.ndarray:
    return np.array([[1 + sign * 1j, 1 - sign * 1j], [1 - sign * 1j, 1 + sign * 1j]]) / 2


THETA = 0.731
MATRICES: dict[str, np.ndarray] = {
    "x": X,
    "not": X,
    "y": Y,
    "z": Z,
    "h": np.array([[1, 1], [1, -1]]) / math.sqrt(2),
    "s": np.diag([1, 1j]),
    "si": np.diag([1, -1j]),
    "t": np.diag([1, cmath.exp(1j * math.pi / 4)]),
    "ti": np.diag([1, cmath.exp(-1j * math.pi / 4)]),
    "v": sqrt_x(1),
    "vi": sqrt_x(-1),
    "rx": rotation(X, THETA),
    "ry": rotation(Y, THETA),
    "rz": rotation(Z, THETA),
    "z+rotation": np.diag([1, cmath.exp(1j * THETA)]),  # qiskit-ionq's p / cp / mcphase
    "xx": rotation(np.kron(X, X), THETA),
    "yy": rotation(np.kron(Y, Y), THETA),
    "zz": rotation(np.kron(Z, Z), THETA),
}


def controlled(matrix: np.ndarray, controls: int) -> np.ndarray:
    """The gate applied when every control (the most significant qubits) is 1."""
    full = np.eye(len(matrix) << controls, dtype=complex)
    full[-len(matrix) :, -len(matrix) :] = matrix
    return full


@pytest.mark.parametrize("controls", [0, 1, 2], ids=["plain", "controlled", "multi-controlled"])
@pytest.mark.parametrize("name", MATRICES)
def test_every_qis_gate_and_its_controlled_forms_have_the_textbook_matrix(name: str, controls: int) -> None:
    matrix = MATRICES[name]
    width = int(math.log2(len(matrix)))
    gate: GateJson = {"gate": name.removesuffix("+rotation"), "targets": list(range(controls, controls + width))}
    if name in {"rx", "ry", "rz", "xx", "yy", "zz", "z+rotation"}:
        gate["rotation"] = THETA
    if controls == 1:
        gate["control"] = 0
    elif controls:
        gate["controls"] = list(range(controls))
    circuit_unitary = unitary(program(controls + width, gate)).reverse_qargs()  # qubit 0 most significant
    assert np.allclose(circuit_unitary.data, controlled(matrix, controls))  # exactly, phases included


# --- what cirq-ionq's Serializer writes ----------------------------------------------------------------------------

Cirq = Callable[[np.random.Generator, list[cirq.LineQubit]], cirq.Operation]


def _two(rng: np.random.Generator, qubits: list[cirq.LineQubit]) -> tuple[cirq.LineQubit, cirq.LineQubit]:
    first, second = rng.choice(len(qubits), 2, replace=False)
    return qubits[first], qubits[second]


def _one(rng: np.random.Generator, qubits: list[cirq.LineQubit]) -> cirq.LineQubit:
    return qubits[int(rng.integers(len(qubits)))]


def _pauli_phasor(rng: np.random.Generator, qubits: list[cirq.LineQubit]) -> cirq.Operation:
    first, second = _two(rng, qubits)
    letters = "".join(rng.choice(list("XYZ"), 2))
    low, high = sorted(rng.uniform(-1, 1, 2))  # cirq-ionq refuses a negative time, π(neg - pos)/2
    return cirq.PauliStringPhasor(cirq.DensePauliString(letters).on(first, second), exponent_neg=high, exponent_pos=low)


# Each cirq gate cirq-ionq serializes, with the IonQ gate it becomes.
CIRQ_QIS: dict[str, tuple[str, Cirq]] = {
    "X": ("x", lambda rng, q: cirq.X(_one(rng, q))),
    "X**0.5": ("v", lambda rng, q: (cirq.X**0.5).on(_one(rng, q))),
    "X**-0.5": ("vi", lambda rng, q: (cirq.X**-0.5).on(_one(rng, q))),
    "rx": ("rx", lambda rng, q: cirq.rx(rng.uniform(-4, 4)).on(_one(rng, q))),
    "XPowGate": ("rx", lambda rng, q: (cirq.X ** rng.uniform(-2, 2)).on(_one(rng, q))),
    "Y": ("y", lambda rng, q: cirq.Y(_one(rng, q))),
    "ry": ("ry", lambda rng, q: cirq.ry(rng.uniform(-4, 4)).on(_one(rng, q))),
    "Z": ("z", lambda rng, q: cirq.Z(_one(rng, q))),
    "S": ("s", lambda rng, q: cirq.S(_one(rng, q))),
    "S**-1": ("si", lambda rng, q: (cirq.S**-1).on(_one(rng, q))),
    "T": ("t", lambda rng, q: cirq.T(_one(rng, q))),
    "T**-1": ("ti", lambda rng, q: (cirq.T**-1).on(_one(rng, q))),
    "rz": ("rz", lambda rng, q: cirq.rz(rng.uniform(-4, 4)).on(_one(rng, q))),
    "H": ("h", lambda rng, q: cirq.H(_one(rng, q))),
    "SWAP": ("swap", lambda rng, q: cirq.SWAP(*_two(rng, q))),
    "CNOT": ("cnot", lambda rng, q: cirq.CNOT(*_two(rng, q))),
    "XX": ("xx", lambda rng, q: (cirq.XX ** rng.uniform(-2, 2)).on(*_two(rng, q))),
    "YY": ("yy", lambda rng, q: (cirq.YY ** rng.uniform(-2, 2)).on(*_two(rng, q))),
    "ZZ": ("zz", lambda rng, q: (cirq.ZZ ** rng.uniform(-2, 2)).on(*_two(rng, q))),
    "PauliStringPhasor": ("pauliexp", _pauli_phasor),
}
CIRQ_NATIVE: dict[str, tuple[str, Cirq]] = {
    "GPIGate": ("gpi", lambda rng, q: cirq_ionq.GPIGate(phi=rng.uniform(-1, 1)).on(_one(rng, q))),
    "GPI2Gate": ("gpi2", lambda rng, q: cirq_ionq.GPI2Gate(phi=rng.uniform(-1, 1)).on(_one(rng, q))),
    "MSGate": (
        "ms",
        lambda rng, q: cirq_ionq.MSGate(
            phi0=rng.uniform(-1, 1), phi1=rng.uniform(-1, 1), theta=rng.uniform(0, 0.25)
        ).on(*_two(rng, q)),
    ),
    "ZZGate": ("zz", lambda rng, q: cirq_ionq.ZZGate(theta=rng.uniform(-1, 1)).on(*_two(rng, q))),
}
CIRQ_QIS_LAYER = [CIRQ_QIS["rx"][1], CIRQ_QIS["ry"][1], CIRQ_QIS["rz"][1]]
CIRQ_NATIVE_LAYER = [CIRQ_NATIVE["GPIGate"][1], CIRQ_NATIVE["GPI2Gate"][1]]


def random_cirq_circuit(
    seed: int, gates: list[Cirq], layer: list[Cirq], width: int = 4, depth: int = 12
) -> cirq.Circuit:
    """A random circuit of `gates` between single-qubit `layer` gates, on every qubit (measured at the end)."""
    rng = np.random.default_rng(seed)
    qubits = cirq.LineQubit.range(width)
    operations = [layer[0](rng, [qubit]) for qubit in qubits]
    for _ in range(depth):
        operations.append(gates[int(rng.integers(len(gates)))](rng, qubits))
        operations.append(layer[int(rng.integers(len(layer)))](rng, qubits))
    return cirq.Circuit([*operations, cirq.measure(*qubits, key="m")])


def assert_cirq_round_trip(circuit: cirq.Circuit) -> set[str]:
    """The serialized program means the circuit (up to global phase) through inspect, translate and load."""
    body = cirq_ionq.Serializer().serialize_single_circuit(circuit).body
    data = json.dumps(body).encode()
    inspect_program(data, IONQ)
    expected = Operator(cirq.unitary(cirq.drop_terminal_measurements(circuit)))  # qubit 0 most significant
    assert unitary(data).reverse_qargs().equiv(expected)
    assert unitary(translate_program(data, IONQ, IONQ)).reverse_qargs().equiv(expected)
    return {str(gate["gate"]) for gate in body["circuit"]}


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("name", CIRQ_QIS)
def test_every_qis_gate_cirq_ionq_writes_round_trips(name: str, seed: int) -> None:
    ionq_name, make = CIRQ_QIS[name]
    circuit = random_cirq_circuit(seed, [make], CIRQ_QIS_LAYER, depth=4)
    assert ionq_name in assert_cirq_round_trip(circuit)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("name", CIRQ_NATIVE)
def test_every_native_gate_cirq_ionq_writes_round_trips(name: str, seed: int) -> None:
    ionq_name, make = CIRQ_NATIVE[name]
    circuit = random_cirq_circuit(seed, [make], CIRQ_NATIVE_LAYER, depth=4)
    assert ionq_name in assert_cirq_round_trip(circuit)


@pytest.mark.parametrize("seed", range(4))
def test_random_cirq_circuits_of_all_its_gates_round_trip(seed: int) -> None:
    assert_cirq_round_trip(random_cirq_circuit(seed, [make for _, make in CIRQ_QIS.values()], CIRQ_QIS_LAYER))
    native = [make for _, make in CIRQ_NATIVE.values()]
    assert_cirq_round_trip(random_cirq_circuit(seed, native, CIRQ_NATIVE_LAYER))


# --- what qiskit-ionq's qiskit_to_ionq writes ------------------------------------------------------------------------


class IonQBackendStub:
    """What qiskit_to_ionq reads of an IonQ backend."""

    name = "ionq_simulator"
    options = Options(noise_model="ideal", sampler_seed=None, error_mitigation=None)

    def __init__(self, gateset: str) -> None:
        self._gateset = gateset

    def gateset(self) -> str:
        return self._gateset


Qiskit = Callable[[np.random.Generator], tuple[Gate, int]]  # a gate and how many qubits it takes


def _angle(rng: np.random.Generator) -> float:
    return float(rng.uniform(-4, 4))


def _pauli_evolution(rng: np.random.Generator) -> tuple[Gate, int]:
    # Commuting terms (each pair anticommutes on an even number of positions), as qiskit-ionq requires by default.
    terms = ["XZ", "ZX", "YY"][: int(rng.integers(1, 4))]
    return PauliEvolutionGate(SparsePauliOp(terms, rng.uniform(-1, 1, len(terms))), time=float(rng.uniform(0, 2))), 2


def _library(name: str, qubits: int, angles: int = 0) -> Qiskit:
    """A qiskit library gate by its QuantumCircuit method name, with random angles."""

    def make(rng: np.random.Generator) -> tuple[Gate, int]:
        circuit = QuantumCircuit(qubits)
        getattr(circuit, name)(*[_angle(rng) for _ in range(angles)], *range(qubits))
        return circuit.data[0].operation, qubits

    return make


def _multi(name: str, controls: int, angles: int = 0) -> Qiskit:
    def make(rng: np.random.Generator) -> tuple[Gate, int]:
        circuit = QuantumCircuit(controls + 1)
        getattr(circuit, name)(*[_angle(rng) for _ in range(angles)], list(range(controls)), controls)
        return circuit.data[0].operation, controls + 1

    return make


# Each qiskit gate qiskit-ionq serializes (its qis basis), with the IonQ gate it becomes.
QISKIT_QIS: dict[str, tuple[str, Qiskit]] = {
    "x": ("x", _library("x", 1)),
    "y": ("y", _library("y", 1)),
    "z": ("z", _library("z", 1)),
    "h": ("h", _library("h", 1)),
    "s": ("s", _library("s", 1)),
    "sdg": ("si", _library("sdg", 1)),
    "t": ("t", _library("t", 1)),
    "tdg": ("ti", _library("tdg", 1)),
    "sx": ("v", _library("sx", 1)),
    "sxdg": ("vi", _library("sxdg", 1)),
    "rx": ("rx", _library("rx", 1, 1)),
    "ry": ("ry", _library("ry", 1, 1)),
    "rz": ("rz", _library("rz", 1, 1)),
    "p": ("z", _library("p", 1, 1)),
    "swap": ("swap", _library("swap", 2)),
    "rxx": ("xx", _library("rxx", 2, 1)),
    "ryy": ("yy", _library("ryy", 2, 1)),
    "rzz": ("zz", _library("rzz", 2, 1)),
    "cx": ("x", _library("cx", 2)),
    "cy": ("y", _library("cy", 2)),
    "cz": ("z", _library("cz", 2)),
    "ch": ("h", _library("ch", 2)),
    "csx": ("v", _library("csx", 2)),
    "crx": ("rx", _library("crx", 2, 1)),
    "cry": ("ry", _library("cry", 2, 1)),
    "crz": ("rz", _library("crz", 2, 1)),
    "cp": ("z", _library("cp", 2, 1)),
    "ccx": ("x", _library("ccx", 3)),
    "mcx": ("x", _multi("mcx", 3)),
    "mcphase": ("z", _multi("mcp", 2, 1)),
    "PauliEvolution": ("pauliexp", _pauli_evolution),
}


def _turns(rng: np.random.Generator, low: float = -1, high: float = 1) -> float:
    return float(rng.uniform(low, high))


QISKIT_NATIVE: dict[str, tuple[str, Qiskit]] = {
    "gpi": ("gpi", lambda rng: (GPIGate(_turns(rng)), 1)),
    "gpi2": ("gpi2", lambda rng: (GPI2Gate(_turns(rng)), 1)),
    "ms": ("ms", lambda rng: (MSGate(_turns(rng), _turns(rng), _turns(rng, 0, 0.25)), 2)),
    "zz": ("zz", lambda rng: (ZZGate(_turns(rng)), 2)),
}
QISKIT_QIS_LAYER: list[Qiskit] = [
    lambda rng: (RXGate(_angle(rng)), 1),
    lambda rng: (RYGate(_angle(rng)), 1),
    lambda rng: (RZGate(_angle(rng)), 1),
]
QISKIT_NATIVE_LAYER = [QISKIT_NATIVE["gpi"][1], QISKIT_NATIVE["gpi2"][1]]


def random_qiskit_circuit(
    seed: int, gates: list[Qiskit], layer: list[Qiskit], width: int = 4, depth: int = 12
) -> QuantumCircuit:
    """A random circuit of `gates` between single-qubit `layer` gates, on every qubit, measured at the end."""
    rng = np.random.default_rng(seed)
    circuit = QuantumCircuit(width, width)
    for qubit in range(width):
        circuit.append(layer[0](rng)[0], [qubit])
    for _ in range(depth):
        for choices in (gates, layer):
            gate, qubits = choices[int(rng.integers(len(choices)))](rng)
            circuit.append(gate, rng.choice(width, qubits, replace=False).tolist())
    circuit.measure(range(width), range(width))
    return circuit


def assert_qiskit_round_trip(circuit: QuantumCircuit, gateset: str) -> set[str]:
    """qiskit-ionq's program (the `input` of its IonQ job) means the circuit (up to global phase)."""
    body = json.loads(qiskit_to_ionq(circuit, IonQBackendStub(gateset), {"shots": 100}))["input"]
    data = json.dumps(body).encode()
    inspect_program(data, IONQ)
    expected = Operator(circuit.remove_final_measurements(inplace=False))
    assert unitary(data).equiv(expected)
    assert unitary(translate_program(data, IONQ, IONQ)).equiv(expected)
    return {str(gate["gate"]) for gate in body["circuit"]}


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("name", QISKIT_QIS)
def test_every_qis_gate_qiskit_ionq_writes_round_trips(name: str, seed: int) -> None:
    ionq_name, make = QISKIT_QIS[name]
    circuit = random_qiskit_circuit(seed, [make], QISKIT_QIS_LAYER, depth=3)
    assert ionq_name in assert_qiskit_round_trip(circuit, "qis")


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("name", QISKIT_NATIVE)
def test_every_native_gate_qiskit_ionq_writes_round_trips(name: str, seed: int) -> None:
    ionq_name, make = QISKIT_NATIVE[name]
    circuit = random_qiskit_circuit(seed, [make], QISKIT_NATIVE_LAYER, depth=3)
    assert ionq_name in assert_qiskit_round_trip(circuit, "native")


@pytest.mark.parametrize("seed", range(4))
def test_random_qiskit_circuits_of_all_its_gates_round_trip(seed: int) -> None:
    assert_qiskit_round_trip(random_qiskit_circuit(seed, [m for _, m in QISKIT_QIS.values()], QISKIT_QIS_LAYER), "qis")
    native = [make for _, make in QISKIT_NATIVE.values()]
    assert_qiskit_round_trip(random_qiskit_circuit(seed, native, QISKIT_NATIVE_LAYER), "native")


def test_pauliexp_translates_to_openqasm2_with_the_same_unitary() -> None:
    data = program(
        3,
        {"gate": "pauliexp", "targets": [2, 0], "terms": ["XY", "ZZ"], "coefficients": [0.4, -0.3], "time": 0.9},
    )
    expected = QuantumCircuit(3)
    expected.append(PauliEvolutionGate(SparsePauliOp(["XY", "ZZ"], [0.4, -0.3]), time=0.9), [2, 0])
    qasm = translate_program(data, IONQ, HONEYWELL)
    loaded = load_circuit(qasm, HONEYWELL).remove_final_measurements(inplace=False)
    assert Operator(loaded).equiv(Operator(expected))


# --- what is wrong is named by its JSON path ------------------------------------------------------------------------

DEFECTS = [
    pytest.param({"gate": "cnot", "target": 1}, "circuit[0].gate", "needs a control", id="cnot-without-control"),
    pytest.param(
        {"gate": "cnot", "target": 1, "control": 0, "controls": [0]},
        "circuit[0].control",
        "one of control and controls",
        id="control-and-controls",
    ),
    pytest.param(
        {"gate": "x", "target": 1, "targets": [1]}, "circuit[0].target", "one of target and targets", id="both-targets"
    ),
    pytest.param({"gate": "x", "control": 0}, "circuit[0]", "needs a target", id="no-target"),
    pytest.param({"gate": "swap", "targets": [0, 1], "control": 2}, "circuit[0].control", "no controls", id="cswap"),
    pytest.param({"gate": "h", "target": 5}, "circuit[0].target", "out of range", id="target-range"),
    pytest.param({"gate": "h", "target": 0, "control": 0}, "circuit[0].control", "used twice", id="control-is-target"),
    pytest.param({"gate": "rx", "target": 0, "rotation": None}, "circuit[0]", "needs 'rotation'", id="null-rotation"),
    pytest.param({"gate": "h", "target": 0, "rotation": 1.0}, "circuit[0].rotation", "takes no", id="h-rotation"),
    pytest.param(
        {"gate": "pauliexp", "targets": [0, 1], "terms": ["XA"], "coefficients": [1.0], "time": 1.0},
        "circuit[0].terms[0]",
        "not a Pauli string",
        id="pauli-letter",
    ),
    pytest.param(
        {"gate": "pauliexp", "targets": [0, 1], "terms": ["XYZ"], "coefficients": [1.0], "time": 1.0},
        "circuit[0].terms[0]",
        "3 letters for 2 target(s)",
        id="pauli-length",
    ),
    pytest.param(
        {"gate": "pauliexp", "targets": [0, 1], "terms": ["XX", "ZZ"], "coefficients": [1.0], "time": 1.0},
        "circuit[0].coefficients",
        "one coefficient per term",
        id="pauli-coefficients",
    ),
    pytest.param(
        {"gate": "pauliexp", "targets": [0, 1], "terms": ["XI", "ZZ"], "coefficients": [1.0, 0.5], "time": 1.0},
        "circuit[0].terms",
        "do not all commute",
        id="pauli-non-commuting",
    ),
    pytest.param(
        {"gate": "pauliexp", "targets": [0, 1], "terms": ["XX"], "coefficients": [1.0]},
        "circuit[0]",
        "needs 'time'",
        id="pauli-time",
    ),
    pytest.param(
        {"gate": "pauliexp", "targets": [0], "terms": ["X"], "coefficients": [1.0], "time": 1.0, "control": 1},
        "circuit[0].control",
        "no controls",
        id="controlled-pauliexp",
    ),
    pytest.param({"gate": "x", "target": 0, "terms": ["X"]}, "circuit[0].terms", "takes no 'terms'", id="x-terms"),
]


@pytest.mark.parametrize(("gate", "path", "fragment"), DEFECTS)
def test_bad_qis_gates_name_the_json_path(gate: GateJson, path: str, fragment: str) -> None:
    with pytest.raises(InvalidProgramError) as caught:
        inspect_program(program(3, gate), IONQ)
    assert [d.path for d in caught.value.diagnostics] == [path]
    assert fragment in caught.value.diagnostics[0].message


@pytest.mark.parametrize(
    ("gate", "path", "fragment"),
    [
        pytest.param({"gate": "gpi", "target": 0, "phase": None}, "circuit[0]", "needs 'phase'", id="null-phase"),
        pytest.param(
            {"gate": "zz", "targets": [0, 1], "angle": 0.1, "phase": 0.1}, "circuit[0].phase", "not both", id="zz-twice"
        ),
        pytest.param({"gate": "gpi", "target": 0, "phase": 0, "control": 1}, "circuit[0].control", "no", id="control"),
        pytest.param({"gate": "cnot", "target": 0, "control": 1}, "circuit[0].gate", "qis gate", id="cnot-in-native"),
    ],
)
def test_bad_native_gates_name_the_json_path(gate: GateJson, path: str, fragment: str) -> None:
    with pytest.raises(InvalidProgramError) as caught:
        inspect_program(program(2, gate, gateset="native"), IONQ)
    assert [d.path for d in caught.value.diagnostics] == [path]
    assert fragment in caught.value.diagnostics[0].message


def test_an_unknown_format_is_named() -> None:
    with pytest.raises(InvalidProgramError) as caught:
        inspect_program(program(1, {"gate": "h", "target": 0}, format="ionq.circuit.v9"), IONQ)
    assert [d.path for d in caught.value.diagnostics] == ["format"]


def test_cirq_ionqs_native_zz_phase_is_its_angle() -> None:
    as_cirq_writes = program(2, {"gate": "zz", "targets": [0, 1], "phase": 0.15}, gateset="native")
    as_documented = program(2, {"gate": "zz", "targets": [0, 1], "angle": 0.15}, gateset="native")
    assert translate_program(as_cirq_writes, IONQ, IONQ) == translate_program(as_documented, IONQ, IONQ)
    assert unitary(as_cirq_writes) == unitary(as_documented)


def commute(first: str, second: str) -> bool:
    """Pauli strings commute when they anticommute on an even number of positions."""
    return sum(a != b and "I" not in (a, b) for a, b in zip(first, second, strict=True)) % 2 == 0


@pytest.mark.parametrize("seed", range(40))
def test_pauliexp_is_refused_exactly_when_two_of_its_terms_do_not_commute(seed: int) -> None:
    rng = np.random.default_rng(seed)
    width, count = int(rng.integers(1, 4)), int(rng.integers(1, 7))
    terms = ["".join(rng.choice(list("IXYZ"), width)) for _ in range(count)]
    gate = {
        "gate": "pauliexp",
        "targets": list(range(width)),
        "terms": terms,
        "coefficients": [0.5] * count,
        "time": 1.0,
    }
    commuting = all(commute(a, b) for a in terms for b in terms)
    if commuting:
        assert inspect_program(program(width, gate), IONQ).gate_count == 1
    else:
        with pytest.raises(InvalidProgramError, match="do not all commute"):
            inspect_program(program(width, gate), IONQ)

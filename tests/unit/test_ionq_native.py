"""IonQ's native gateset in `ionq.circuit.v1`: gate matrices, validation, translation and simulation."""

from __future__ import annotations

import cmath
import json
import math
from typing import Any

import numpy as np
import pytest
import qiskit.qasm2
from qiskit import QuantumCircuit
from qiskit.circuit import Gate
from qiskit.circuit.library import UnitaryGate
from qiskit.quantum_info import Operator

from shared.adapters.aer_simulator import AerSimulator
from shared.domain.errors import InvalidProgramError
from shared.ports import ProgramInfo
from shared.programs.ionq_json import ionq_to_circuit, parse_ionq
from shared.programs.translate import inspect_program, load_circuit, translate_program

IONQ = "ionq.circuit.v1"
HONEYWELL = "honeywell.openqasm.v1"
TURN = 2 * math.pi

GateJson = dict[str, Any]

# IonQ's definitions, angles in turns. Two-qubit matrices are written in the usual textbook order:
# targets[0] is the first (most significant) tensor factor, and MS's phases[0] belongs to targets[0].


def gpi(phi: float) -> np.ndarray:
    return np.array([[0, cmath.exp(-1j * TURN * phi)], [cmath.exp(1j * TURN * phi), 0]])


def gpi2(phi: float) -> np.ndarray:
    return np.array([[1, -1j * cmath.exp(-1j * TURN * phi)], [-1j * cmath.exp(1j * TURN * phi), 1]]) / math.sqrt(2)


def ms(phi0: float, phi1: float, theta: float = 0.25) -> np.ndarray:
    c, s = math.cos(math.pi * theta), math.sin(math.pi * theta)
    plus, minus = cmath.exp(1j * TURN * (phi0 + phi1)), cmath.exp(1j * TURN * (phi0 - phi1))
    return np.array(
        [
            [c, 0, 0, -1j * s / plus],
            [0, c, -1j * s / minus, 0],
            [0, -1j * s * minus, c, 0],
            [-1j * s * plus, 0, 0, c],
        ]
    )


def zz(theta: float) -> np.ndarray:
    return np.diag([cmath.exp(-1j * math.pi * theta * z) for z in (1, -1, -1, 1)])


def native(qubits: int, *gates: GateJson) -> bytes:
    return json.dumps({"gateset": "native", "qubits": qubits, "circuit": list(gates)}).encode()


def reference(qubits: int, *gates: GateJson) -> QuantumCircuit:
    """The program built from the formulas above, independently of the service's decompositions."""
    circuit = QuantumCircuit(qubits)
    for gate in gates:
        targets = gate["targets"] if "targets" in gate else [gate["target"]]
        name = gate["gate"]
        if name == "gpi":
            matrix = gpi(gate["phase"])
        elif name == "gpi2":
            matrix = gpi2(gate["phase"])
        elif name == "ms":
            matrix = ms(gate["phases"][0], gate["phases"][1], gate.get("angle", 0.25))
        else:
            matrix = zz(gate["angle"])
        # qiskit reads a matrix little-endian (its first qubit least significant): reverse the targets.
        circuit.append(UnitaryGate(matrix), targets[::-1])
    return circuit


# --- each gate's matrix, in the documented qubit order ----------------------------------------------------


@pytest.mark.parametrize("phase", [0.0, 0.1, 0.25, -0.37, 1.0])
def test_gpi_and_gpi2_have_ionqs_matrices(phase: float) -> None:
    for name, formula in (("gpi", gpi), ("gpi2", gpi2)):
        circuit = ionq_to_circuit(parse_ionq(native(1, {"gate": name, "target": 0, "phase": phase})))
        assert np.allclose(Operator(circuit).data, formula(phase)), name  # exactly, not only up to global phase


@pytest.mark.parametrize(
    ("phases", "angle"),
    [
        pytest.param([0, 0], None, id="default-angle"),
        pytest.param([0.1, 0.35], None, id="unequal-phases"),
        pytest.param([-0.2, 0.45], 0.1, id="partial-angle"),
        pytest.param([0.75, 0], 0.25, id="explicit-full-angle"),
    ],
)
def test_ms_has_ionqs_matrix_with_phases0_on_the_first_target(phases: list[float], angle: float | None) -> None:
    gate: GateJson = {"gate": "ms", "targets": [1, 0], "phases": phases}
    if angle is not None:
        gate["angle"] = angle
    expected = ms(phases[0], phases[1], 0.25 if angle is None else angle)
    # targets [1, 0]: targets[0] is qiskit's qubit 1, the most significant, as in the formula.
    assert np.allclose(Operator(ionq_to_circuit(parse_ionq(native(2, gate)))).data, expected)
    # targets [0, 1]: the same gate seen from qiskit's side, with its qubits in the other order.
    gate["targets"] = [0, 1]
    assert np.allclose(Operator(ionq_to_circuit(parse_ionq(native(2, gate)))).reverse_qargs().data, expected)


def test_unequal_ms_phases_are_not_symmetric() -> None:
    """Guards the test above: swapping the targets must change the gate when the phases differ."""
    assert not np.allclose(ms(0.1, 0.35), Operator(UnitaryGate(ms(0.1, 0.35))).reverse_qargs().data)


@pytest.mark.parametrize("angle", [0.0, 0.125, -0.3, 0.25])
def test_zz_has_ionqs_matrix(angle: float) -> None:
    circuit = ionq_to_circuit(parse_ionq(native(2, {"gate": "zz", "targets": [0, 1], "angle": angle})))
    assert np.allclose(Operator(circuit).data, zz(angle))


def test_single_qubit_gates_take_a_one_element_targets_list_too() -> None:
    written = [{"gate": "gpi2", "targets": [1], "phase": 0.2}, {"gate": "gpi", "targets": [0], "phase": 0.7}]
    as_documented = [{"gate": "gpi2", "target": 1, "phase": 0.2}, {"gate": "gpi", "target": 0, "phase": 0.7}]
    assert Operator(ionq_to_circuit(parse_ionq(native(2, *written)))) == Operator(
        ionq_to_circuit(parse_ionq(native(2, *as_documented)))
    )


# --- what the azure-quantum SDK sends -----------------------------------------------------------------------


def sdk_native_program(circuit: QuantumCircuit) -> bytes:
    """The input data of the SDK's IonQ native backends (`IonQBackend._translate_input` with gateset native)."""
    helpers = pytest.importorskip("azure.quantum.qiskit.backends._qiskit_ionq")
    gates, _, _ = helpers.qiskit_circ_to_ionq_circ(circuit, gateset="native")
    return json.dumps({"gateset": "native", "qubits": circuit.num_qubits, "circuit": gates}).encode()


def test_the_sdks_native_program_is_accepted_kept_native_and_means_the_same() -> None:
    circuit = QuantumCircuit(3, 3)
    circuit.append(Gate("gpi2", 1, [0.25]), [0])
    circuit.append(Gate("gpi", 1, [0.1]), [2])
    circuit.append(Gate("ms", 2, [0.1, 0.3, 0.2]), [0, 2])
    circuit.append(Gate("zz", 2, [0.125]), [2, 1])
    circuit.measure([0, 1, 2], [0, 1, 2])
    data = sdk_native_program(circuit)
    sent = json.loads(data)["circuit"]
    assert sent == [
        {"gate": "gpi2", "target": 0, "phase": 0.25},
        {"gate": "gpi", "target": 2, "phase": 0.1},
        {"gate": "ms", "targets": [0, 2], "phases": [0.1, 0.3], "angle": 0.2},
        {"gate": "zz", "targets": [2, 1], "angle": 0.125},
    ]
    assert inspect_program(data, IONQ) == ProgramInfo(num_qubits=3, num_clbits=3, gate_count=4)
    assert json.loads(translate_program(data, IONQ, IONQ)) == {"gateset": "native", "qubits": 3, "circuit": sent}
    assert Operator(ionq_to_circuit(parse_ionq(data))).equiv(Operator(reference(3, *sent)))


# --- translation and simulation -----------------------------------------------------------------------------

PROGRAM: list[GateJson] = [
    {"gate": "gpi2", "target": 0, "phase": 0.0},
    {"gate": "ms", "targets": [0, 1], "phases": [0.0, 0.25]},
    {"gate": "gpi", "targets": [2], "phase": 0.125},
    {"gate": "ms", "targets": [2, 1], "phases": [0.3, -0.1], "angle": 0.15},
    {"gate": "zz", "targets": [0, 2], "angle": 0.2},
    {"gate": "gpi2", "target": 1, "phase": -0.6},
]


def test_native_to_ionq_stays_native_in_canonical_form() -> None:
    data = b"""{"qubits": 2, "gateset": "native", "circuit": [
        {"phase": 1, "target": 0, "gate": "gpi2"},
        {"gate": "gpi", "targets": [1], "phase": 0},
        {"gate": "ms", "targets": [1, 0], "phases": [0, 0.5]},
        {"gate": "zz", "targets": [0, 1], "angle": -1}
    ]}"""
    assert translate_program(data, IONQ, IONQ) == (
        b'{"gateset":"native","qubits":2,"circuit":[{"gate":"gpi2","target":0,"phase":1.0},'
        b'{"gate":"gpi","target":1,"phase":0.0},{"gate":"ms","targets":[1,0],"phases":[0.0,0.5]},'
        b'{"gate":"zz","targets":[0,1],"angle":-1.0}]}'
    )


def test_native_translates_to_openqasm2_in_qelib1_gates_with_the_same_unitary() -> None:
    output = translate_program(native(3, *PROGRAM), IONQ, HONEYWELL).decode()
    # Gates of qiskit's qelib1.inc only (rxx and rzz are there, not in the OpenQASM 2.0 paper's version).
    loaded = qiskit.qasm2.loads(output, custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    assert set(loaded.count_ops()) <= {"u3", "rz", "rxx", "rzz", "measure"}
    assert "gate " not in output  # no definitions: nothing opaque or service-specific
    assert loaded.count_ops()["measure"] == 3
    assert Operator(loaded.remove_final_measurements(inplace=False)).equiv(Operator(reference(3, *PROGRAM)))


def test_native_program_loads_for_the_simulator_with_every_qubit_measured() -> None:
    circuit = load_circuit(native(3, *PROGRAM), IONQ)
    assert [(register.name, register.size) for register in circuit.cregs] == [("c", 3)]
    assert circuit.count_ops()["measure"] == 3
    assert Operator(circuit.remove_final_measurements(inplace=False)).equiv(Operator(reference(3, *PROGRAM)))


def test_fully_entangling_ms_gives_a_bell_pair_on_the_ionq_simulator() -> None:
    histogram = AerSimulator().ionq_histogram(native(2, {"gate": "ms", "targets": [0, 1], "phases": [0, 0]}))
    assert histogram.keys() == {"0", "3"}
    assert histogram["0"] == pytest.approx(0.5)
    assert histogram["3"] == pytest.approx(0.5)


# --- validation: every finding has a JSON path ----------------------------------------------------------------

DEFECTS = [
    pytest.param([{"gate": "gpx", "target": 0, "phase": 0}], ["circuit[0].gate"], "unknown gate 'gpx'", id="unknown"),
    pytest.param(
        [{"gate": "gpi", "target": 0, "phase": 0}, {"gate": "h", "targets": [1]}],
        ["circuit[1].gate"],
        "gate 'h' is a qis gate",
        id="qis-gate-in-native-program",
    ),
    pytest.param([{"gate": "gpi", "target": 0}], ["circuit[0]"], "needs 'phase'", id="missing-phase"),
    pytest.param([{"gate": "gpi2", "target": 0, "phase": "0.5"}], ["circuit[0].phase"], "", id="phase-not-a-number"),
    pytest.param(
        [{"gate": "gpi2", "target": 0, "phase": 1.5}], ["circuit[0].phase"], "outside -1 to 1", id="phase-range"
    ),
    pytest.param([{"gate": "gpi", "phase": 0.1}], ["circuit[0]"], "needs a target", id="missing-target"),
    pytest.param(
        [{"gate": "gpi", "targets": [0, 1], "phase": 0.1}], ["circuit[0].targets"], "takes 1 target", id="gpi-arity"
    ),
    pytest.param(
        [{"gate": "gpi", "target": 0, "targets": [1], "phase": 0.1}],
        ["circuit[0].targets"],
        "not both",
        id="target-and-targets",
    ),
    pytest.param([{"gate": "gpi", "target": 3, "phase": 0}], ["circuit[0].target"], "out of range", id="target-range"),
    pytest.param(
        [{"gate": "ms", "targets": [1], "phases": [0, 0]}], ["circuit[0].targets"], "takes 2 targets", id="ms-arity"
    ),
    pytest.param(
        [{"gate": "ms", "target": 1, "phases": [0, 0]}],
        ["circuit[0].target", "circuit[0]"],
        "two targets",
        id="ms-with-target",
    ),
    pytest.param(
        [{"gate": "ms", "targets": [1, 1], "phases": [0, 0]}],
        ["circuit[0].targets[1]"],
        "used twice",
        id="ms-same-qubit",
    ),
    pytest.param(
        [{"gate": "ms", "targets": [0, 1], "phases": [0.1]}], ["circuit[0].phases"], "takes 2 phases", id="ms-one-phase"
    ),
    pytest.param(
        [{"gate": "ms", "targets": [0, 1], "phases": [0, -2]}],
        ["circuit[0].phases[1]"],
        "outside -1 to 1",
        id="ms-phase-range",
    ),
    pytest.param(
        [{"gate": "ms", "targets": [0, 1], "phases": [0, 0], "angle": 0.3}],
        ["circuit[0].angle"],
        "outside 0 to 0.25",
        id="ms-angle-range",
    ),
    pytest.param(
        [{"gate": "ms", "targets": [0, 1], "phase": 0.1}],
        ["circuit[0].phase", "circuit[0]"],
        "takes no 'phase'",
        id="ms-phase-instead-of-phases",
    ),
    pytest.param([{"gate": "zz", "targets": [0, 1]}], ["circuit[0]"], "needs 'angle'", id="zz-missing-angle"),
    pytest.param(
        [{"gate": "zz", "targets": [0, 1], "angle": 0.1, "rotation": 0.2}],
        ["circuit[0].rotation"],
        "takes no 'rotation'",
        id="qis-key-on-native-gate",
    ),
    pytest.param(
        [{"gate": "gpi", "target": 0, "phase": 0, "controls": [1]}],
        ["circuit[0].controls"],
        "takes no 'controls'",
        id="controls",
    ),
    pytest.param([{"gate": "gpi", "target": 0, "phi": 0}], ["circuit[0].phi"], "unknown key", id="unknown-key"),
]


@pytest.mark.parametrize(("gates", "paths", "fragment"), DEFECTS)
def test_bad_native_programs_name_the_json_path(gates: list[GateJson], paths: list[str], fragment: str) -> None:
    with pytest.raises(InvalidProgramError) as caught:
        inspect_program(native(2, *gates), IONQ)
    assert type(caught.value) is InvalidProgramError
    assert [d.path for d in caught.value.diagnostics] == paths
    assert fragment in caught.value.diagnostics[0].message


def test_non_finite_phase_is_refused() -> None:
    data = b'{"gateset": "native", "qubits": 1, "circuit": [{"gate": "gpi", "target": 0, "phase": Infinity}]}'
    with pytest.raises(InvalidProgramError) as caught:
        inspect_program(data, IONQ)
    assert [d.path for d in caught.value.diagnostics] == ["circuit[0].phase"]


@pytest.mark.parametrize(
    "gate",
    [
        pytest.param({"gate": "gpi", "target": 0, "phase": 0.1}, id="native-gate"),
        pytest.param({"gate": "h", "targets": [0], "phase": 0.1}, id="native-key"),
    ],
)
def test_a_qis_program_refuses_native_gates_and_keys(gate: GateJson) -> None:
    data = json.dumps({"qubits": 1, "circuit": [gate]}).encode()
    with pytest.raises(InvalidProgramError) as caught:
        inspect_program(data, IONQ)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.path in ("circuit[0].gate", "circuit[0].phase")
    assert "native" in diagnostic.message

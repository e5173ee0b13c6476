"""Quil: parsing with positions, faithful loading, and the Rigetti result shape."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import SdgGate
from qiskit.quantum_info import Operator

from shared.adapters.aer_simulator import AerSimulator
from shared.domain.errors import InvalidProgramError, UnsupportedProgramError
from shared.programs.quil import parse_quil
from shared.programs.translate import inspect_program, translate_program

BELL = "DECLARE ro BIT[2]\nH 0\nCNOT 0 1\nMEASURE 0 ro[0]\nMEASURE 1 ro[1]\n"


def test_gates_and_modifiers_load_as_the_same_unitary() -> None:
    quil = "H 0\nRX(pi/3) 1\nCONTROLLED DAGGER S 1 0\nCPHASE(0.25) 0 2\nISWAP 1 2\nCCNOT 0 1 2\nPHASE(-pi/8) 2\n"
    expected = QuantumCircuit(3)
    expected.h(0)
    expected.rx(math.pi / 3, 1)
    expected.append(SdgGate().control(1), [1, 0])
    expected.cp(0.25, 0, 2)
    expected.iswap(1, 2)
    expected.ccx(0, 1, 2)
    expected.p(-math.pi / 8, 2)
    assert Operator(parse_quil(quil)).equiv(Operator(expected))


@pytest.mark.parametrize(
    ("source", "line", "column", "words"),
    [
        pytest.param("H 0\nCNOT 0 (\n", 2, 8, "expected a command or a gate", id="syntax"),
        pytest.param("DECLARE ro BIT[1]\nH 0\n  MEASURE 0 rx[0]\n", 3, 3, "not DECLAREd", id="undeclared"),
        pytest.param("H 0\nFOO 1 2\n", 2, 1, "unknown gate FOO", id="unknown-gate"),
        pytest.param("# comment\nCNOT 0\n", 2, 1, "CNOT takes 2 qubit(s)", id="arity"),
        pytest.param("RX 0\n", 1, 1, "takes 1 parameter", id="missing-parameter"),
        pytest.param("CNOT 1 1\n", 1, 1, "same qubit twice", id="repeated-qubit"),
        pytest.param("DECLARE ro BIT[1]\nMEASURE 0 ro[3]\n", 2, 1, "out of range", id="index"),
        pytest.param("DECLARE t REAL[1]\nRZ(t[2]) 0\n", 2, 1, "t[2], out of range", id="memory-parameter"),
        pytest.param("DECLARE t REAL[1]\nMEASURE 0 t[0]\n", 2, 1, "BIT or OCTET", id="real-target"),
    ],
)
def test_bad_quil_names_line_and_column(source: str, line: int, column: int, words: str) -> None:
    with pytest.raises(InvalidProgramError) as caught:
        inspect_program(source.encode(), "rigetti.quil.v1")
    first = caught.value.diagnostics[0]
    assert (first.line, first.column) == (line, column)
    assert words in first.message


def test_definitions_and_control_flow_are_refused_as_unsupported() -> None:
    with pytest.raises(UnsupportedProgramError, match="line 1"):
        inspect_program(b"DEFGATE G:\n    1, 0\n    0, 1\nG 0\n", "rigetti.quil.v1")


def test_quil_is_run_as_quil_and_translates_to_the_other_formats() -> None:
    assert translate_program(BELL.encode(), "rigetti.quil.v1", "rigetti.quil.v1") == BELL.encode()
    qasm = translate_program(BELL.encode(), "rigetti.quil.v1", "honeywell.openqasm.v1").decode()
    assert "cx q[0],q[1];" in qasm
    info = inspect_program(BELL.encode(), "rigetti.quil.v1")
    assert (info.num_qubits, info.num_clbits, info.gate_count) == (2, 2, 2)


def test_rigetti_results_give_one_list_per_shot_in_index_order() -> None:
    shots = 2000
    results = AerSimulator().rigetti_shots(BELL.encode(), shots, seed=7)
    assert set(results) == {"ro"}
    counts = Counter(tuple(shot) for shot in results["ro"])
    assert set(counts) <= {(0, 0), (1, 1)}
    assert abs(counts[(0, 0)] - shots / 2) <= 5 * math.sqrt(shots / 4)
    only_first = AerSimulator().rigetti_shots(b"DECLARE ro BIT[3]\nX 0\nMEASURE 0 ro[0]\n", 3, seed=1)
    assert only_first == {"ro": [[1, 0, 0]] * 3}

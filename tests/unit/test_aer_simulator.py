"""The qiskit-aer adapter: exact IonQ histograms and per-register Quantinuum shots."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable

import pytest

from shared.adapters.aer_simulator import AerSimulator
from shared.domain.errors import InvalidProgramError, UnsupportedProgramError

QASM2_HEADER = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'


@pytest.fixture(scope="module")
def simulator() -> AerSimulator:
    return AerSimulator()


def ionq(qubits: int, *gates: dict[str, object]) -> bytes:
    return json.dumps({"qubits": qubits, "circuit": list(gates)}).encode()


def test_bell_histogram_is_exact(simulator: AerSimulator) -> None:
    histogram = simulator.ionq_histogram(
        ionq(2, {"gate": "h", "targets": [0]}, {"gate": "x", "targets": [1], "controls": [0]})
    )
    assert histogram.keys() == {"0", "3"}
    assert histogram["0"] == pytest.approx(0.5, abs=1e-9)
    assert histogram["3"] == pytest.approx(0.5, abs=1e-9)


@pytest.mark.parametrize(("qubit", "key"), [(0, "1"), (1, "2"), (2, "4")], ids=["q0", "q1", "q2"])
def test_histogram_keys_put_qubit_0_in_the_least_significant_bit(simulator: AerSimulator, qubit: int, key: str) -> None:
    assert simulator.ionq_histogram(ionq(3, {"gate": "x", "targets": [qubit]})) == {key: pytest.approx(1.0)}


def test_histogram_covers_every_qubit_and_sums_to_one(simulator: AerSimulator) -> None:
    histogram = simulator.ionq_histogram(
        ionq(3, {"gate": "ry", "targets": [0], "rotation": 1.0}, {"gate": "h", "targets": [2]})
    )
    assert histogram.keys() == {"0", "1", "4", "5"}
    assert math.fsum(histogram.values()) == pytest.approx(1.0, abs=1e-12)


def test_histogram_of_an_idle_program_is_all_zero(simulator: AerSimulator) -> None:
    assert simulator.ionq_histogram(ionq(4)) == {"0": pytest.approx(1.0)}


def test_ghz_shots_are_correlated_and_balanced(simulator: AerSimulator) -> None:
    shots = 2000
    program = QASM2_HEADER + "qreg q[3];\ncreg c[3];\nh q[0];\ncx q[0],q[1];\ncx q[1],q[2];\nmeasure q -> c;\n"
    result = simulator.honeywell_shots(program.encode(), shots, seed=7)
    assert list(result) == ["c"]
    counts = Counter(result["c"])
    assert set(counts) <= {"000", "111"}
    assert sum(counts.values()) == shots
    five_sigma = 5 * math.sqrt(shots * 0.25)
    assert abs(counts["000"] - shots / 2) < five_sigma


def test_registers_are_split_in_declaration_order_with_bit_0_rightmost(simulator: AerSimulator) -> None:
    program = (
        QASM2_HEADER + "qreg q[2];\ncreg b[1];\ncreg a[3];\nx q[0];\n"
        "measure q[0] -> a[1];\nmeasure q[1] -> a[2];\nmeasure q[0] -> b[0];\n"
    )
    result = simulator.honeywell_shots(program.encode(), 5, seed=1)
    assert list(result) == ["b", "a"]
    assert result == {"b": ["1"] * 5, "a": ["010"] * 5}


def test_single_bit_registers(simulator: AerSimulator) -> None:
    program = QASM2_HEADER + "qreg q[1];\ncreg c0[1];\ncreg c1[1];\nx q[0];\nmeasure q[0] -> c0[0];\n"
    program += "measure q[0] -> c1[0];\n"
    assert simulator.honeywell_shots(program.encode(), 3) == {"c0": ["1"] * 3, "c1": ["1"] * 3}


def test_shots_keep_register_values_of_the_same_shot_together(simulator: AerSimulator) -> None:
    program = QASM2_HEADER + "qreg q[2];\ncreg m[1];\ncreg n[1];\nh q[0];\ncx q[0],q[1];\n"
    program += "measure q[0] -> m[0];\nmeasure q[1] -> n[0];\n"
    result = simulator.honeywell_shots(program.encode(), 200, seed=3)
    assert result["m"] == result["n"]
    assert set(result["m"]) == {"0", "1"}


def test_seed_makes_shots_reproducible(simulator: AerSimulator) -> None:
    program = (QASM2_HEADER + "qreg q[2];\ncreg c[2];\nh q;\nmeasure q -> c;\n").encode()
    assert simulator.honeywell_shots(program, 50, seed=11) == simulator.honeywell_shots(program, 50, seed=11)


def test_conditions_resets_and_custom_gates_run(simulator: AerSimulator) -> None:
    program = (
        QASM2_HEADER + "gate flip a { x a; }\nqreg q[1];\ncreg c[1];\nflip q[0];\nmeasure q[0] -> c[0];\n"
        "if(c==1) x q[0];\nmeasure q[0] -> c[0];\nreset q[0];\n"
    )
    assert simulator.honeywell_shots(program.encode(), 4) == {"c": ["0"] * 4}


def test_custom_gates_inside_conditions_run(simulator: AerSimulator) -> None:
    program = (
        QASM2_HEADER + "gate flip a { x a; }\nqreg q[1];\ncreg c[1];\nx q[0];\nmeasure q[0] -> c[0];\n"
        "if(c==1) flip q[0];\nmeasure q[0] -> c[0];\n"
    )
    assert simulator.honeywell_shots(program.encode(), 4) == {"c": ["0"] * 4}


def test_unmeasured_registers_read_zero(simulator: AerSimulator) -> None:
    program = QASM2_HEADER + "qreg q[1];\ncreg c[2];\nx q[0];\n"
    assert simulator.honeywell_shots(program.encode(), 2) == {"c": ["00", "00"]}


def test_no_registers_no_results(simulator: AerSimulator) -> None:
    assert simulator.honeywell_shots((QASM2_HEADER + "qreg q[1];\nh q[0];\n").encode(), 10) == {}


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(
            lambda s: s.ionq_histogram(b'{"qubits": 1, "circuit": [{"gate": "h", "targets": [1]}]}'),
            id="ionq",
        ),
        pytest.param(lambda s: s.ionq_histogram(b"\xff"), id="ionq-encoding"),
        pytest.param(lambda s: s.honeywell_shots((QASM2_HEADER + "qreg q[1];\nh q[1];\n").encode(), 10), id="qasm2"),
    ],
)
def test_bad_programs_raise_invalid_program(simulator: AerSimulator, call: Callable[[AerSimulator], object]) -> None:
    with pytest.raises(InvalidProgramError):
        call(simulator)


def test_programs_too_large_to_simulate_are_unsupported(simulator: AerSimulator) -> None:
    with pytest.raises(UnsupportedProgramError, match="Insufficient memory"):
        simulator.ionq_histogram(ionq(50, {"gate": "h", "targets": [49]}, {"gate": "t", "targets": [49]}))


def test_wide_clifford_programs_get_exact_probabilities_from_the_stabilizer_method(simulator: AerSimulator) -> None:
    cnots: list[dict[str, object]] = [{"gate": "x", "targets": [q + 1], "controls": [q]} for q in range(49)]
    histogram = simulator.ionq_histogram(ionq(50, {"gate": "h", "targets": [0]}, *cnots))
    assert histogram == {"0": pytest.approx(0.5), str(2**50 - 1): pytest.approx(0.5)}


def test_opaque_gates_cannot_be_simulated(simulator: AerSimulator) -> None:
    program = QASM2_HEADER + "opaque magic a;\nqreg q[1];\ncreg c[1];\nmagic q[0];\nmeasure q[0] -> c[0];\n"
    with pytest.raises(UnsupportedProgramError, match="magic"):
        simulator.honeywell_shots(program.encode(), 10)


def test_shots_must_be_positive(simulator: AerSimulator) -> None:
    with pytest.raises(ValueError, match="shots"):
        simulator.honeywell_shots((QASM2_HEADER + "qreg q[1];\ncreg c[1];\n").encode(), 0)

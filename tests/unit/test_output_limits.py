"""Output limits from the catalog: per-shot outputs refused before they run, histograms bounded as they are built."""

from __future__ import annotations

import json

import pytest

from shared.adapters.aer_simulator import AerSimulator
from shared.adapters.local import LocalSimulators
from shared.domain.catalog import TargetSpec, load_catalog
from shared.domain.errors import OutputTooLargeError

SIMULATOR = AerSimulator()


def ionq(qubits: int, *gates: dict[str, object]) -> bytes:
    return json.dumps({"qubits": qubits, "circuit": list(gates)}).encode()


def hadamards(qubits: int) -> list[dict[str, object]]:
    return [{"gate": "h", "targets": [q]} for q in range(qubits)]


def target(provider: str, target_id: str) -> TargetSpec:
    return load_catalog().target(provider, target_id)


def test_every_target_states_its_output_limits() -> None:
    for provider in load_catalog().providers:
        for spec in provider.targets:
            assert spec.max_shots_times_bits >= 56 * 10_000, "a full H2 register at the most shots fits"
            assert spec.max_histogram_entries >= 2**17


@pytest.mark.parametrize(
    ("provider", "target_id", "program"),
    [
        pytest.param(
            "quantinuum",
            "quantinuum.sim.h2-1e",
            b'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[101];\nh q[0];\nmeasure q[0] -> c[0];\n',
            id="quantinuum",
        ),
        pytest.param(
            "quantinuum",
            "quantinuum.sim.h2-1sc",
            b'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[101];\nmeasure q[0] -> c[0];\n',
            id="syntax-checker",
        ),
        pytest.param("rigetti", "rigetti.sim.qvm", b"DECLARE ro BIT[101]\nH 0\nMEASURE 0 ro[0]\n", id="rigetti"),
    ],
)
def test_a_per_shot_output_past_the_limit_is_refused_before_it_runs(
    provider: str, target_id: str, program: bytes
) -> None:
    spec = target(provider, target_id)
    assert spec.max_shots_times_bits == 1_000_000
    with pytest.raises(OutputTooLargeError, match=r"10000 shots x 101 classical bits = 1010000 .* allows 1000000"):
        LocalSimulators(SIMULATOR).run(spec, spec.routes[0], program, 10_000, {})
    assert LocalSimulators(SIMULATOR).run(spec, spec.routes[0], program, 9_900, {}).data


def test_a_clifford_histogram_past_the_limit_is_refused_from_its_tableau() -> None:
    with pytest.raises(OutputTooLargeError, match="would hold 8 outcomes; the target returns at most 4"):
        SIMULATOR.ionq_histogram(ionq(3, *hadamards(3)), max_entries=4)
    ghz = ionq(3, {"gate": "h", "targets": [0]}, {"gate": "x", "controls": [0], "targets": [1]})
    assert SIMULATOR.ionq_histogram(ghz, max_entries=2) == SIMULATOR.ionq_histogram(ghz) == {"0": 0.5, "3": 0.5}


def test_a_non_clifford_histogram_past_the_limit_is_refused_from_its_probabilities() -> None:
    wide = ionq(3, *hadamards(3), {"gate": "t", "targets": [0]})
    with pytest.raises(OutputTooLargeError, match="would hold 8 outcomes"):
        SIMULATOR.ionq_histogram(wide, max_entries=7)
    narrow = ionq(3, {"gate": "h", "targets": [0]}, {"gate": "t", "targets": [0]}, {"gate": "h", "targets": [0]})
    assert SIMULATOR.ionq_histogram(narrow, max_entries=2) == pytest.approx(SIMULATOR.ionq_histogram(narrow))


def test_the_exact_histogram_of_a_wide_superposition_is_refused_by_the_catalog_limit() -> None:
    spec = target("ionq", "ionq.simulator")
    with pytest.raises(OutputTooLargeError, match=f"would hold {2**26} outcomes; the target returns at most 131072"):
        LocalSimulators(SIMULATOR).run(spec, spec.routes[0], ionq(26, *hadamards(26)), 1, {})
    with pytest.raises(OutputTooLargeError, match=f"would hold {2**18} outcomes"):
        LocalSimulators(SIMULATOR).run(
            spec, spec.routes[0], ionq(18, *hadamards(18), {"gate": "t", "targets": [0]}), 1, {}
        )

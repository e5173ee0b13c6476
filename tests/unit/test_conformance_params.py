"""inputParams as the SDK sends them, each run's shots, and the exact and syntax-check QIR targets.

The SDK's typed Rigetti parameters send `shots`, `skipQuilc` and `substitutions` (parametric Quil);
older SDKs name the shots `count`. A job keeps its inputParams as sent and runs the target's own
default shots when it names none. ionq.simulator gives QIR programs their exact distribution scaled to
the shots, and quantinuum.sim.h2-1sc checks QIR and returns all zeros.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import JsonValue

from shared.adapters.aer_simulator import AerSimulator
from shared.adapters.local import LocalSimulators
from shared.domain.catalog import TargetSpec, load_catalog
from shared.domain.errors import InvalidProgramError, InvalidRequestError
from shared.domain.jobs import Job
from shared.services import validate
from tests.factories import new_job
from tests.fakes import make_pipeline
from tests.unit.test_qir import BELL_QASM, GHZ3_QASM, QASM3_HEADER, qdk_text

CATALOG = load_catalog()
PARAMETRIC = (
    "DECLARE ro BIT[3]\nDECLARE theta REAL[2]\nDECLARE beta REAL[1]\n"
    "RX(theta[0]) 0\nRX(theta[1]) 1\nRX(beta) 2\nMEASURE 0 ro[0]\nMEASURE 1 ro[1]\nMEASURE 2 ro[2]\n"
)


@pytest.fixture(scope="module")
def simulators() -> LocalSimulators:
    return LocalSimulators(AerSimulator())


def target(target_id: str) -> TargetSpec:
    return CATALOG.target(CATALOG.provider_of(target_id).id, target_id)


def run(
    simulators: LocalSimulators, target_id: str, input_format: str, program: bytes, shots: int, **params: JsonValue
) -> Any:
    """The JSON output of a run."""
    spec = target(target_id)
    return json.loads(simulators.run(spec, spec.route_for(input_format), program, shots, params).data)


# --- inputParams the SDK sends are taken; a wrong one is refused by name ---


@pytest.mark.parametrize(
    ("target_id", "input_format", "params"),
    [
        pytest.param(
            "rigetti.sim.qvm",
            "rigetti.quil.v1",
            {"shots": 2, "skipQuilc": False, "substitutions": {"theta": [[0.0, math.pi]], "beta": [[1.5]]}},
            id="typed-rigetti",
        ),
        pytest.param("rigetti.sim.qvm", "rigetti.quil.v1", {"count": 5}, id="count"),
        pytest.param(
            "ionq.simulator",
            "qir.v1",
            {"shots": 100, "items": [{"entryPoint": "ENTRYPOINT__main", "arguments": []}]},
            id="qiskit-qir",
        ),
        pytest.param(
            "quantinuum.sim.h2-1sc",
            "qir.v1",
            {"entryPoint": "ENTRYPOINT__main", "arguments": [], "target_profile": "Adaptive_RI", "shots": 3},
            id="qsharp-qir",
        ),
        pytest.param("ionq.simulator", "ionq.circuit.v1", {"noise": {"model": "ideal", "seed": 7}}, id="ionq-noise"),
        pytest.param("ionq.qpu.aria-1", "ionq.circuit.v1", {"error_mitigation": {"debias": False}}, id="debias"),
    ],
)
def test_the_parameters_clients_send_are_taken_and_kept_as_sent(
    target_id: str, input_format: str, params: dict[str, JsonValue]
) -> None:
    checked = validate.check_request(
        make_pipeline(), CATALOG.provider_of(target_id).id, target_id, input_format, None, params
    )
    assert checked.params == params


@pytest.mark.parametrize(
    ("target_id", "params", "path", "words"),
    [
        ("rigetti.sim.qvm", {"skipQuilc": "yes"}, "inputParams.skipQuilc", "must be a JSON boolean"),
        ("rigetti.sim.qvm", {"count": 0}, "inputParams.count", "whole number from 1 to 10000"),
        ("rigetti.sim.qvm", {"count": 10001}, "inputParams.count", "whole number from 1 to 10000"),
        ("rigetti.sim.qvm", {"substitutions": [1]}, "inputParams.substitutions", "must be a JSON object"),
        ("rigetti.sim.qvm", {"substitutions": {"theta": [["a"]]}}, "inputParams.substitutions.theta[0][0]", "number"),
        ("rigetti.sim.qvm", {"substitutions": {"theta": [0.5]}}, "inputParams.substitutions.theta[0]", "JSON array"),
        ("ionq.simulator", {"skipQuilc": True}, "inputParams.skipQuilc", "is not a parameter of ionq.simulator"),
        ("ionq.simulator", {"noise": {"model": "aria-1"}}, "inputParams.noise.model", "must be one of ideal"),
        ("ionq.simulator", {"noise": {"modle": "ideal"}}, "inputParams.noise.modle", "noise takes model, seed"),
        ("ionq.qpu.aria-1", {"error_mitigation": {"debias": 1}}, "inputParams.error_mitigation.debias", "boolean"),
    ],
)
def test_a_wrong_parameter_is_refused_and_named(
    target_id: str, params: dict[str, JsonValue], path: str, words: str
) -> None:
    spec = target(target_id)
    with pytest.raises(InvalidRequestError, match=re.escape(words)) as caught:
        validate.check_request(
            make_pipeline(), CATALOG.provider_of(target_id).id, target_id, spec.input_formats[0], None, params
        )
    assert caught.value.target == path
    assert path in caught.value.message


# --- shots: stored as sent, run from one place ---


def job_with(target_id: str, input_format: str, params: dict[str, JsonValue]) -> Job:
    job = new_job("j1", created=datetime(2026, 1, 1, tzinfo=UTC), provider_id=CATALOG.provider_of(target_id).id)
    details = job.details.model_copy(
        update={"target": target_id, "input_data_format": input_format, "input_params": params}
    )
    return job.model_copy(update={"details": details})


@pytest.mark.parametrize(
    ("target_id", "input_format", "params", "shots"),
    [
        pytest.param("rigetti.sim.qvm", "rigetti.quil.v1", {}, 1, id="qvm-default"),
        pytest.param("rigetti.sim.qvm", "qir.v1", {}, 1, id="qvm-qir-default"),
        pytest.param("quantinuum.sim.h2-1sc", "qir.v1", {}, 1, id="h2-1sc-qir-default"),
        pytest.param("quantinuum.sim.h2-1e", "qir.v1", {}, 1, id="h2-1e-qir-default"),
        pytest.param("quantinuum.sim.h2-1e", "honeywell.openqasm.v1", {}, 500, id="h2-1e-qasm-default"),
        pytest.param("ionq.simulator", "ionq.circuit.v1", {}, 500, id="ionq-default"),
        pytest.param("rigetti.sim.qvm", "rigetti.quil.v1", {"count": 7}, 7, id="count"),
        pytest.param("rigetti.sim.qvm", "rigetti.quil.v1", {"shots": 9, "count": 7}, 9, id="shots-first"),
    ],
)
def test_a_run_takes_shots_then_count_then_the_targets_default(
    target_id: str, input_format: str, params: dict[str, JsonValue], shots: int
) -> None:
    assert make_pipeline().shots(job_with(target_id, input_format, params)) == shots


def test_inputparams_without_shots_are_stored_as_sent() -> None:
    checked = validate.check_request(make_pipeline(), "rigetti", "rigetti.sim.qvm", "rigetti.quil.v1", None, {})
    assert checked.params == {}


# --- parametric Quil ---


def test_parametric_quil_runs_each_substitution_set_for_count_shots(simulators: LocalSimulators) -> None:
    substitutions: JsonValue = {"theta": [[0.0, math.pi], [math.pi, 0.0]], "beta": [[2 * math.pi], [math.pi]]}
    output = run(simulators, "rigetti.sim.qvm", "rigetti.quil.v1", PARAMETRIC.encode(), 2, substitutions=substitutions)
    assert output == {"ro": [[0, 1, 0], [0, 1, 0], [1, 0, 1], [1, 0, 1]]}


def test_memory_nothing_fills_reads_zero(simulators: LocalSimulators) -> None:
    assert run(simulators, "rigetti.sim.qvm", "rigetti.quil.v1", PARAMETRIC.encode(), 3) == {"ro": [[0, 0, 0]] * 3}


@pytest.mark.parametrize(
    ("substitutions", "path", "words"),
    [
        ({"phi": [[1.0]]}, "inputParams.substitutions.phi", "phi is not DECLAREd"),
        ({"ro": [[1, 0, 1]]}, "inputParams.substitutions.ro", "ro is a BIT region"),
        ({"theta": [[1.0]]}, "inputParams.substitutions.theta[0]", "list of 2 values"),
        ({"theta": [[1.0, 2.0]], "beta": [[1.0], [2.0]]}, "inputParams.substitutions.beta", "same number (1)"),
        ({"theta": []}, "inputParams.substitutions.theta", "non-empty"),
    ],
)
def test_substitutions_that_do_not_fit_the_program_name_the_region(
    simulators: LocalSimulators, substitutions: JsonValue, path: str, words: str
) -> None:
    with pytest.raises(InvalidRequestError, match=re.escape(words)) as caught:
        run(simulators, "rigetti.sim.qvm", "rigetti.quil.v1", PARAMETRIC.encode(), 1, substitutions=substitutions)
    assert caught.value.target == path


def test_integer_memory_takes_whole_numbers_only(simulators: LocalSimulators) -> None:
    program = b"DECLARE ro BIT[1]\nDECLARE n INTEGER[1]\nRX(n[0]) 0\nMEASURE 0 ro[0]\n"
    with pytest.raises(InvalidRequestError, match="whole numbers") as caught:
        run(simulators, "rigetti.sim.qvm", "rigetti.quil.v1", program, 1, substitutions={"n": [[0.5]]})
    assert caught.value.target == "inputParams.substitutions.n[0]"


def test_a_parametric_program_is_valid_at_submit_but_a_bad_memory_read_is_not() -> None:
    p = make_pipeline()
    spec = target("rigetti.sim.qvm")
    assert validate.check_program(p.programs, PARAMETRIC.encode(), "rigetti.quil.v1", spec).num_qubits == 3
    with pytest.raises(InvalidProgramError, match=re.escape("RX reads gamma[0], which is not DECLAREd")):
        validate.check_program(p.programs, b"DECLARE ro BIT[1]\nRX(gamma) 0\n", "rigetti.quil.v1", spec)


# --- QIR: exact on ionq.simulator, all zeros on the syntax checker ---


def histogram(output: Any) -> dict[str, int]:
    (result,) = output["Results"]
    assert sum(h["Count"] for h in result["Histogram"]) == len(result["Shots"])
    return {h["Display"]: h["Count"] for h in result["Histogram"]}


@pytest.mark.parametrize(("shots", "counts"), [(100, {"[0, 0]": 50, "[1, 1]": 50}), (7, {"[0, 0]": 4, "[1, 1]": 3})])
def test_ionq_simulator_gives_qir_its_exact_distribution_scaled_to_the_shots(
    simulators: LocalSimulators, shots: int, counts: dict[str, int]
) -> None:
    output = run(simulators, "ionq.simulator", "qir.v1", qdk_text(BELL_QASM), shots)
    assert output["DataFormat"] == "microsoft.quantum-results.v2"
    assert histogram(output) == counts


def test_exact_counts_follow_unequal_probabilities_and_add_up(simulators: LocalSimulators) -> None:
    source = (
        QASM3_HEADER + f"qubit[2] q;\nbit[2] c;\nry({2 * math.acos(math.sqrt(0.3))!r}) q[0];\nx q[1];\nc = measure q;\n"
    )
    assert histogram(run(simulators, "ionq.simulator", "qir.v1", qdk_text(source), 1000)) == {
        "[0, 1]": 300,
        "[1, 1]": 700,
    }


def test_a_qubit_measured_and_used_again_is_read_where_it_was_measured(simulators: LocalSimulators) -> None:
    source = QASM3_HEADER + "qubit[1] q;\nbit[2] c;\nh q[0];\nc[0] = measure q[0];\nh q[0];\nc[1] = measure q[0];\n"
    counts = histogram(run(simulators, "ionq.simulator", "qir.v1", qdk_text(source), 400))
    assert counts == {"[0, 0]": 100, "[0, 1]": 100, "[1, 0]": 100, "[1, 1]": 100}


def test_the_syntax_checker_returns_all_zeros_for_qir(simulators: LocalSimulators) -> None:
    output = run(simulators, "quantinuum.sim.h2-1sc", "qir.v1", qdk_text(GHZ3_QASM), 4)
    assert output["Results"][0]["Shots"] == [[0, 0, 0]] * 4
    assert histogram(output) == {"[0, 0, 0]": 4}


def test_the_syntax_checker_takes_adaptive_qir(simulators: LocalSimulators) -> None:
    from qdk import TargetProfile

    source = (
        QASM3_HEADER
        + "qubit[2] q;\nbit[2] c;\nh q[0];\nc[0] = measure q[0];\nif (c[0]) x q[1];\nc[1] = measure q[1];\n"
    )
    program = qdk_text(source, TargetProfile.Adaptive_RI)
    spec = target("quantinuum.sim.h2-1sc")
    assert validate.check_program(make_pipeline().programs, program, "qir.v1", spec).profile == "adaptive"
    assert histogram(run(simulators, "quantinuum.sim.h2-1sc", "qir.v1", program, 2)) == {"[0, 0]": 2}

"""The resource estimator: logical counts from QIR, physical estimates from qdk, in Azure's result shape."""

from __future__ import annotations

import json

import pytest

from shared.adapters.estimator import estimate, logical_counts
from shared.domain.errors import InvalidRequestError
from shared.programs.qir import parse_qir
from tests.unit.test_qir import QASM3_HEADER, qdk_text

T_AND_ROTATIONS = (
    QASM3_HEADER
    + "qubit[3] q;\nbit[3] c;\nrz(0.3) q[0];\nrx(0.2) q[1];\nh q[0];\nt q[0];\ntdg q[1];\nt q[2];\n"
    + "ccx q[0], q[1], q[2];\nry(0.1) q[2];\nc = measure q;\n"
)


def test_logical_counts_come_from_the_program() -> None:
    counts = logical_counts(parse_qir(qdk_text(T_AND_ROTATIONS)))
    assert counts["numQubits"] == 3 and counts["measurementCount"] == 3
    assert counts["tCount"] >= 3, "t, tdg and t (qdk may decompose ccx into more T gates)"
    assert counts["rotationCount"] == 3
    assert counts["rotationDepth"] == 2, "rz and rx share a layer; ry comes after the ccx"


def test_the_estimate_has_azures_result_shape_and_follows_the_parameters() -> None:
    program = parse_qir(qdk_text(T_AND_ROTATIONS))
    default = json.loads(estimate(program, {}))
    assert {"status", "jobParams", "physicalCounts", "logicalQubit", "tfactory", "errorBudget", "logicalCounts"} <= set(
        default
    )
    assert default["status"] == "success" and default["physicalCounts"]["physicalQubits"] > 0
    majorana = json.loads(
        estimate(program, {"qubitParams": {"name": "qubit_maj_ns_e6"}, "qecScheme": {"name": "floquet_code"}})
    )
    assert majorana["jobParams"]["qubitParams"]["name"] == "qubit_maj_ns_e6"
    assert majorana["physicalCounts"]["physicalQubits"] != default["physicalCounts"]["physicalQubits"]
    looser = json.loads(estimate(program, {"errorBudget": 0.1}))
    assert looser["physicalCounts"]["runtime"] <= default["physicalCounts"]["runtime"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"qubitParam": {"name": "qubit_gate_ns_e3"}}, "Unknown estimator parameter(s): qubitParam"),
        ({"qubitParams": {"name": "no_such_qubit"}}, "estimator parameters are not valid"),
    ],
)
def test_bad_parameters_are_refused_with_the_reason(params: dict[str, object], fragment: str) -> None:
    program = parse_qir(qdk_text(T_AND_ROTATIONS))
    with pytest.raises(InvalidRequestError, match=fragment.replace("(", r"\(").replace(")", r"\)")) as raised:
        estimate(program, params)  # type: ignore[arg-type]
    assert raised.value.target == "inputParams"

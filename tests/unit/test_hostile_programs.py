"""Hostile programs from the security review (F2, F3, F5, F9, F11, F12): each is refused through the service's
own validation, before anything is built, with a diagnostic that names the limit and, in text, its position.

The memory tests replay an attack in a child interpreter whose address space is capped at 1.5 GiB: before
the limits, each of these needed from several GB to tens of GB, so the child ending normally with the
refusal shows the work is bounded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shared.domain.catalog import TargetSpec, load_catalog
from shared.domain.errors import PermanentJobError, UnsupportedProgramError
from shared.programs.limits import (
    MAX_CLASSICAL_BITS,
    MAX_DEFINITION_DEPTH,
    MAX_EXPANDED_GATES,
    MAX_JSON_DEPTH,
    MAX_NESTING_DEPTH,
    MAX_OUTPUT_DEPTH,
    MAX_QUBITS,
    MAX_STATEMENT_OPERATORS,
)
from shared.programs.qir import QirRecord, _output_tree
from shared.programs.translate import QiskitPrograms, inspect_program, translate_program
from shared.services.validate import ValidationRequest, check_program, validate_job
from tests.fakes import make_pipeline

QASM2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'  # lines 1 and 2
QASM3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'
CATALOG = load_catalog()
ROOT = Path(__file__).resolve().parents[2]


def target(target_id: str) -> TargetSpec:
    return CATALOG.target(CATALOG.provider_of(target_id).id, target_id)


def doubling(depth: int) -> str:
    """`gate g0 a { x a; } gate g1 a { g0 a; g0 a; } ...`: g<depth> is 2**depth x gates once expanded."""
    levels = "".join(f"gate g{i} a {{ g{i - 1} a; g{i - 1} a; }}\n" for i in range(1, depth + 1))
    return QASM2 + "gate g0 a { x a; }\n" + levels + f"qreg q[1];\ng{depth} q[0];\n"


def chain(depth: int) -> str:
    """Each definition calls the one before once: one gate, definitions `depth + 1` deep."""
    levels = "".join(f"gate g{i} a {{ g{i - 1} a; }}\n" for i in range(1, depth + 1))
    return QASM2 + "gate g0 a { x a; }\n" + levels + f"qreg q[1];\ng{depth} q[0];\n"


ATTACKS = [
    # (id, target, format, program, diagnostic code, (line, column) or None, words in the diagnostic)
    ("quil-qubit-index", "rigetti.sim.qvm", "rigetti.quil.v1", "X 100000000\n", "TooManyQubits", (1, 1), "100000001"),
    (
        "quil-bit-region",
        "rigetti.sim.qvm",
        "rigetti.quil.v1",
        "H 0\nDECLARE ro BIT[100000000]\nMEASURE 0 ro[0]\n",
        "TooManyClassicalBits",
        (2, 1),
        f"limit is {MAX_CLASSICAL_BITS}",
    ),
    (
        "qasm2-qreg",
        "quantinuum.sim.h2-1e",
        "openqasm.v2",
        QASM2 + "qreg q[100000000];\n",
        "TooManyQubits",
        (3, 1),
        "100000000 qubits",
    ),
    (
        "qasm2-creg",
        "quantinuum.sim.h2-1e",
        "openqasm.v2",
        QASM2 + "qreg q[1];\ncreg c[100000000];\n",
        "TooManyClassicalBits",
        (4, 1),
        "100000000 classical bits",
    ),
    ("qasm3-qubit", "ionq.simulator", "openqasm.v3", QASM3 + "qubit[100000000] q;\n", "TooManyQubits", (3, 1), "29"),
    (
        "qasm3-bit",
        "ionq.simulator",
        "openqasm.v3",
        QASM3 + "qubit q;\nbit[100000000] c;\n",
        "TooManyClassicalBits",
        (4, 1),
        "classical bits",
    ),
    ("qasm3-physical", "ionq.simulator", "openqasm.v3", QASM3 + "x $100000000;\n", "TooManyQubits", (3, 3), "qubits"),
    (
        "qasm3-size-expression",
        "ionq.simulator",
        "openqasm.v3",
        QASM3 + "qubit[10000 * 10000] q;\n",
        "RegisterSizeNotLiteral",
        (3, 1),
        "integer literals",
    ),
    (
        "qasm2-doubling-definitions",
        "ionq.simulator",
        "openqasm.v2",
        doubling(24),
        "TooManyGates",
        (19, 1),  # g16, the first definition past the limit (line 3 defines g0)
        f"limit is {MAX_EXPANDED_GATES}",
    ),
    (
        "qasm2-deep-definitions",
        "ionq.simulator",
        "openqasm.v2",
        chain(MAX_DEFINITION_DEPTH + 5),
        "DefinitionsTooDeep",
        (3 + MAX_DEFINITION_DEPTH, 1),
        f"limit is {MAX_DEFINITION_DEPTH}",
    ),
    (
        "qasm2-broadcast",
        "ionq.simulator",
        "openqasm.v2",
        QASM2 + "qreg q[20];\n" + "x q;\n" * (MAX_EXPANDED_GATES // 20 + 1),
        "TooManyGates",
        (4 + MAX_EXPANDED_GATES // 20, 1),
        "broadcasts",
    ),
    (
        "qasm3-doubling-definitions",
        "ionq.simulator",
        "openqasm.v3",
        QASM3
        + "gate g0 a { x a; }\n"
        + "".join(f"gate g{i} a {{ g{i - 1} a; g{i - 1} a; }}\n" for i in range(1, 25))
        + "qubit q;\ng24 q;\n",
        "TooManyGates",
        (19, 1),
        "gate g16",
    ),
    (
        "qasm2-unterminated-comments",
        "quantinuum.sim.h2-1e",
        "openqasm.v2",
        QASM2 + "/*x" * 40_000,
        "UnterminatedComment",
        (3, 1),
        "never closed",
    ),
    (
        "qasm3-unterminated-comments",
        "ionq.simulator",
        "openqasm.v3",
        QASM3 + "qubit q;\n" + "/*x" * 40_000,
        "UnterminatedComment",
        (4, 1),
        "never closed",
    ),
    (
        "qasm3-deep-parentheses",
        "ionq.simulator",
        "openqasm.v3",
        QASM3 + "qubit q;\nrx(" + "(" * 10_000 + "1" + ")" * 10_000 + ") q;\n",
        "NestedTooDeep",
        (4, 3 + MAX_NESTING_DEPTH),
        f"more than {MAX_NESTING_DEPTH} deep",
    ),
    (
        "qasm3-long-expression",
        "ionq.simulator",
        "openqasm.v3",
        QASM3 + "qubit q;\nrx(" + "+".join(["1"] * 10_000) + ") q;\n",
        "ExpressionTooLong",
        (4, 5 + 2 * MAX_STATEMENT_OPERATORS),
        f"more than {MAX_STATEMENT_OPERATORS} operators",
    ),
    (
        "qasm3-deep-blocks",
        "ionq.simulator",
        "openqasm.v3",
        QASM3 + "qubit q;\n" + "{" * 10_000 + "x q;" + "}" * 10_000 + "\n",
        "NestedTooDeep",
        (4, 1 + MAX_NESTING_DEPTH),
        "deep",
    ),
    (
        "quil-deep-parentheses",
        "rigetti.sim.qvm",
        "rigetti.quil.v1",
        "RX(" + "(" * 100_000 + "1" + ")" * 100_000 + ") 0\n",
        "NestedTooDeep",
        (1, 3 + MAX_NESTING_DEPTH),
        "deep",
    ),
    (
        "ionq-deep-json",
        "ionq.simulator",
        "ionq.circuit.v1",
        '{"a":' + "[" * 100_000 + "]" * 100_000 + "}",
        "NestedTooDeep",
        (1, 6 + MAX_JSON_DEPTH - 1),
        f"more than {MAX_JSON_DEPTH} deep",
    ),
]


@pytest.mark.parametrize(
    ("target_id", "input_format", "program", "code", "at", "words"),
    [pytest.param(*attack[1:], id=attack[0]) for attack in ATTACKS],
)
def test_a_hostile_program_is_refused_with_a_positioned_diagnostic(
    target_id: str, input_format: str, program: str, code: str, at: tuple[int, int], words: str
) -> None:
    with pytest.raises(PermanentJobError) as caught:
        check_program(QiskitPrograms(), program.encode(), input_format, target(target_id))
    first = caught.value.diagnostics[0]
    assert (first.code, (first.line, first.column)) == (code, at)
    assert words in first.message


@pytest.mark.parametrize(
    ("target_id", "input_format", "program", "code"),
    [pytest.param(attack[1], attack[2], attack[3], attack[4], id=attack[0]) for attack in ATTACKS],
)
def test_jobs_validate_reports_a_hostile_program_as_invalid(
    target_id: str, input_format: str, program: str, code: str
) -> None:
    request = ValidationRequest(target=target_id, input_data_format=input_format, input_data=program)
    found = validate_job(make_pipeline(max_input_bytes=1 << 20), request)  # the service's inline limit
    assert (found.valid, found.findings[0].code) == (False, code)


@pytest.mark.parametrize(
    ("input_format", "program"),
    [
        pytest.param("rigetti.quil.v1", "X 100000000\n", id="quil"),
        pytest.param("openqasm.v2", QASM2 + "qreg q[100000000];\n", id="qasm2"),
        pytest.param("openqasm.v3", QASM3 + "qubit[100000000] q;\n", id="qasm3"),
        pytest.param("openqasm.v2", doubling(24), id="doubling"),
    ],
)
def test_translation_without_a_target_refuses_at_the_service_limits(input_format: str, program: str) -> None:
    """The translate step (and the simulators, which parse again) fall back to the service-wide limits."""
    with pytest.raises(UnsupportedProgramError) as caught:
        translate_program(program.encode(), input_format, "ionq.circuit.v1")
    assert caught.value.diagnostics[0].code in ("TooManyQubits", "TooManyGates")
    assert str(MAX_QUBITS) in caught.value.diagnostics[0].message or "gate g16" in caught.value.diagnostics[0].message


def test_a_nested_definition_costs_what_its_gates_written_out_cost() -> None:
    """F11: 8,192 x gates as one definition 13 levels deep are priced as the 8,192 gates that run."""
    written_out = QASM2 + "qreg q[1];\n" + "x q[0];\n" * 8192
    nested = inspect_program(doubling(13).encode(), "openqasm.v2")
    assert nested.size == inspect_program(written_out.encode(), "openqasm.v2").size
    assert nested.size.one_qubit_gates == 8192
    assert nested.gate_count == 1, "the gate count stays the applications as written"


def test_definitions_and_broadcasts_count_every_gate_they_apply() -> None:
    program = QASM2 + "gate pair a, b { h a; cx a, b; }\nqreg q[2];\nqreg r[2];\npair q, r;\nx q;\n"
    size = inspect_program(program.encode(), "openqasm.v2").size
    assert (size.one_qubit_gates, size.two_qubit_gates) == (4, 2)  # pair on (q[i], r[i]) twice, then x on q[0], q[1]


def test_definitions_at_the_limit_are_accepted() -> None:
    info = check_program(
        QiskitPrograms(), chain(MAX_DEFINITION_DEPTH - 1).encode(), "openqasm.v2", target("ionq.simulator")
    )
    assert info.size.one_qubit_gates == 1


def test_deep_qir_output_records_are_refused() -> None:
    """F9: 500 nested `array_record_output(1)` around one result."""
    records = [QirRecord(kind="array", label=None, count=1) for _ in range(500)]
    records.append(QirRecord(kind="result", label=None, index=0))
    with pytest.raises(UnsupportedProgramError) as caught:
        _output_tree(records)
    assert caught.value.diagnostics[0].code == "OutputNestedTooDeep"
    assert str(MAX_OUTPUT_DEPTH) in caught.value.message


def test_qir_output_records_at_the_limit_are_read() -> None:
    records = [QirRecord(kind="tuple", label=None, count=1) for _ in range(MAX_OUTPUT_DEPTH)]
    records.append(QirRecord(kind="result", label=None, index=0))
    assert _output_tree(records) is not None


_CHILD = """
import resource, sys
limit = 1536 * 2**20
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from shared.domain.catalog import load_catalog
from shared.domain.errors import PermanentJobError
from shared.programs.translate import QiskitPrograms
from shared.services.validate import check_program
catalog = load_catalog()
target_id, input_format = sys.argv[1], sys.argv[2]
spec = catalog.target(catalog.provider_of(target_id).id, target_id)
try:
    check_program(QiskitPrograms(), sys.stdin.buffer.read(), input_format, spec)
except PermanentJobError as error:
    print(error.diagnostics[0].code)
"""


@pytest.mark.parametrize(
    ("target_id", "input_format", "program", "code"),
    [
        pytest.param("rigetti.sim.qvm", "rigetti.quil.v1", "X 100000000\n", "TooManyQubits", id="quil-qubits"),
        pytest.param(
            "rigetti.sim.qvm",
            "rigetti.quil.v1",
            "DECLARE ro BIT[100000000]\nMEASURE 0 ro[0]\n",
            "TooManyClassicalBits",
            id="quil-bits",
        ),
        pytest.param(
            "quantinuum.sim.h2-1e", "openqasm.v2", QASM2 + "qreg q[100000000];\n", "TooManyQubits", id="qasm2-qubits"
        ),
        pytest.param("ionq.simulator", "openqasm.v3", QASM3 + "qubit[100000000] q;\n", "TooManyQubits", id="qasm3"),
        pytest.param("ionq.simulator", "openqasm.v2", doubling(24), "TooManyGates", id="doubling"),
        pytest.param(
            "ionq.simulator",
            "ionq.circuit.v1",
            json.dumps({"qubits": 1, "circuit": []})[:-1] + ', "a":' + "[" * 100_000 + "]" * 100_000 + "}",
            "NestedTooDeep",
            id="deep-json",
        ),
    ],
)
def test_a_hostile_program_is_refused_in_bounded_memory(
    target_id: str, input_format: str, program: str, code: str
) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", _CHILD, target_id, input_format],
        input=program.encode(),
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert (finished.returncode, finished.stdout.decode().strip()) == (0, code), finished.stderr.decode()[-2000:]

"""Adaptive-profile QIR: results read back and branched on become if/else circuits; what cannot be
translated faithfully is refused with the instruction's position; base-only targets refuse it at submit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pyqir
import pytest
from qdk import TargetProfile, qsharp  # tests/conftest.py has switched qdk telemetry off
from qdk.openqasm import compile as compile_qasm
from qiskit.circuit import IfElseOp
from scipy.stats import chisquare  # type: ignore[import-untyped]

from shared.adapters.aer_simulator import AerSimulator
from shared.domain.catalog import TargetSpec, load_catalog
from shared.domain.errors import UnsupportedProgramError
from shared.programs.qir import QirBranch, parse_qir, qir_to_circuit
from shared.programs.translate import QiskitPrograms
from shared.services.validate import check_program

QIR = "qir.v1"
SHOTS = 4000
SIGNIFICANCE = 1e-4  # a correct simulator fails a goodness-of-fit test this rarely (the seeds are fixed anyway)
QASM3_HEADER = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'
FEEDBACK_QASM = (
    QASM3_HEADER + "qubit[2] q;\nbit[2] c;\nh q[0];\nc[0] = measure q[0];\nif (c[0]) x q[1];\nc[1] = measure q[1];\n"
)
NESTED_QASM = QASM3_HEADER + (
    "qubit[3] q;\nbit[3] c;\nh q[0];\nh q[1];\nc[0] = measure q[0];\nc[1] = measure q[1];\n"
    "if (c[0] && c[1]) x q[2]; else { if (c[0]) z q[2]; }\nif (c[0] == 0) h q[2];\nc[2] = measure q[2];\n"
)
QSHARP = """
operation TeleportPlus() : (Result, Result, Result) {
    use (message, here, there) = (Qubit(), Qubit(), Qubit());
    H(message);
    H(here);
    CNOT(here, there);
    CNOT(message, here);
    H(message);
    let m1 = M(message);
    let m2 = M(here);
    if m1 == One { Z(there); }
    if m2 == One { X(there); }
    H(there);
    let r = M(there);
    ResetAll([message, here, there]);
    (m1, m2, r)
}
operation ShortCircuit() : Result[] {
    use q = Qubit[2];
    H(q[0]);
    let r0 = M(q[0]);
    if r0 == One and M(q[1]) == Zero { X(q[1]); } else { H(q[1]); }
    let r1 = MResetZ(q[1]);
    Reset(q[0]);
    [r0, r1]
}
"""


@pytest.fixture(scope="module")
def simulator() -> AerSimulator:
    return AerSimulator()


@pytest.fixture(scope="module")
def qsharp_adaptive() -> Iterator[None]:
    qsharp.init(target_profile=qsharp.TargetProfile.Adaptive_RI)
    qsharp.eval(QSHARP)
    yield
    qsharp.init(target_profile=qsharp.TargetProfile.Unrestricted)


def qasm_text(source: str) -> bytes:
    return str(compile_qasm(source, target_profile=TargetProfile.Adaptive_RI)).encode()


def qsharp_text(call: str) -> bytes:
    return str(qsharp.compile(call)).encode()


def to_bitcode(text: bytes) -> bytes:
    return pyqir.Module.from_ir(pyqir.Context(), text.decode()).bitcode


def histogram(simulator: AerSimulator, data: bytes, *, seed: int = 7) -> Counter[str]:
    output: Any = simulator.qir_results(data, shots=SHOTS, seed=seed)
    (result,) = output["Results"]
    found = Counter({entry["Display"]: entry["Count"] for entry in result["Histogram"]})
    assert sum(found.values()) == SHOTS == len(result["Shots"])
    return found


def assert_distribution(found: Counter[str], expected: dict[str, float]) -> None:
    """Only possible outcomes occur, and a chi-square goodness-of-fit test accepts the counts."""
    assert abs(sum(expected.values()) - 1) < 1e-12
    assert set(found) <= set(expected), f"impossible outcomes: {set(found) - set(expected)}"
    outcomes = sorted(expected)
    if len(outcomes) == 1:
        return
    test = chisquare([found[o] for o in outcomes], [SHOTS * expected[o] for o in outcomes])
    assert test.pvalue > SIGNIFICANCE, (found, expected)


def branches(program_body: tuple[object, ...]) -> int:
    return sum(1 + branches(item.then) + branches(item.else_) for item in program_body if isinstance(item, QirBranch))


def ll(body: str, *, declarations: str, qubits: int = 3, results: int = 3) -> bytes:
    """A hand-written opaque-pointer adaptive module; line 1 is the `define`, the body starts on line 2."""
    return (
        f"define i64 @main() #0 {{\n{body}}}\n{declarations}"
        'attributes #0 = { "entry_point" "qir_profiles"="adaptive_profile" '
        f'"required_num_qubits"="{qubits}" "required_num_results"="{results}" }}\n'
    ).encode()


DECLARATIONS = """declare void @__quantum__qis__h__body(ptr)
declare void @__quantum__qis__x__body(ptr)
declare void @__quantum__qis__mz__body(ptr, ptr)
declare i1 @__quantum__qis__read_result__body(ptr)
declare void @__quantum__rt__result_record_output(ptr, ptr)
declare void @__quantum__rt__int_record_output(i64, ptr)
"""
Q = {i: "null" if i == 0 else f"inttoptr (i64 {i} to ptr)" for i in range(3)}
PROLOGUE = (
    f"entry:\n  call void @__quantum__qis__h__body(ptr {Q[0]})\n  call void @__quantum__qis__h__body(ptr {Q[1]})\n"
    f"  call void @__quantum__qis__mz__body(ptr {Q[0]}, ptr {Q[0]})\n"
    f"  call void @__quantum__qis__mz__body(ptr {Q[1]}, ptr {Q[1]})\n"
    f"  %a = call i1 @__quantum__qis__read_result__body(ptr {Q[0]})\n"
    f"  %b = call i1 @__quantum__qis__read_result__body(ptr {Q[1]})\n"
)
X_THEN_MEASURE = (
    f"then:\n  call void @__quantum__qis__x__body(ptr {Q[2]})\n  br label %done\n"
    f"done:\n  call void @__quantum__qis__mz__body(ptr {Q[2]}, ptr {Q[2]})\n  ret i64 0\n"
)


def position_of(data: bytes, fragment: str) -> tuple[int, int]:
    """1-based line and column where `fragment` starts."""
    for number, line in enumerate(data.decode().split("\n"), start=1):
        if fragment in line:
            return number, line.index(fragment) + 1
    raise AssertionError(fragment)


def refused(data: bytes) -> UnsupportedProgramError:
    with pytest.raises(UnsupportedProgramError) as caught:
        parse_qir(data)
    return caught.value


# --- programs compiled by qdk run with the right distribution ---


def test_openqasm_feedback_copies_the_measured_bit(simulator: AerSimulator) -> None:
    data = qasm_text(FEEDBACK_QASM)
    program = parse_qir(data)
    assert (program.profile, program.required_profile) == ("adaptive_profile", "adaptive")
    circuit = qir_to_circuit(program)
    (branch,) = [item.operation for item in circuit.data if isinstance(item.operation, IfElseOp)]
    assert branch.condition == (circuit.clbits[0], 1)
    assert_distribution(histogram(simulator, data), {"[0, 0]": 0.5, "[1, 1]": 0.5})


def test_openqasm_nested_branches_and_phi_conditions(simulator: AerSimulator) -> None:
    data = qasm_text(NESTED_QASM)
    assert branches(parse_qir(data).body) == 3  # if/else with an if nested in the else, then one more if
    expected = {"[1, 1, 1]": 1 / 4, "[1, 0, 0]": 1 / 4, **{f"[0, {b}, {c}]": 1 / 8 for b in (0, 1) for c in (0, 1)}}
    assert_distribution(histogram(simulator, data), expected)


def test_qsharp_teleports_the_plus_state(simulator: AerSimulator, qsharp_adaptive: None) -> None:
    data = qsharp_text("TeleportPlus()")
    assert parse_qir(data).required_profile == "adaptive"
    # H undoes |+> on the teleported qubit: r is always 0 whatever the two (uniform) corrections were.
    expected = {f"({m1}, {m2}, 0)": 1 / 4 for m1 in (0, 1) for m2 in (0, 1)}
    assert_distribution(histogram(simulator, data), expected)


def test_qsharp_short_circuit_and_measures_only_when_needed(simulator: AerSimulator, qsharp_adaptive: None) -> None:
    data = qsharp_text("ShortCircuit()")
    # r0 = One: q[1] is measured (Zero), the condition holds and X makes r1 One; r0 = Zero: H, r1 is random.
    assert_distribution(histogram(simulator, data), {"[1, 1]": 1 / 2, "[0, 0]": 1 / 4, "[0, 1]": 1 / 4})


def test_bitcode_runs_like_text(simulator: AerSimulator, qsharp_adaptive: None) -> None:
    text = qsharp_text("TeleportPlus()")
    bitcode = to_bitcode(text)
    assert bitcode.startswith(b"BC\xc0\xde")
    assert parse_qir(bitcode).body == parse_qir(text).body
    assert histogram(simulator, bitcode, seed=3) == histogram(simulator, text, seed=3)


def test_integer_and_boolean_computation_maps_to_a_condition(simulator: AerSimulator) -> None:
    """xor, select, zext and an unsigned icmp, combined by or: X is applied exactly when r0 == r1."""
    body = PROLOGUE + (
        "  %x = xor i1 %a, %b\n  %both = select i1 %a, i1 %b, i1 false\n  %wide = zext i1 %x to i64\n"
        "  %same = icmp ult i64 %wide, 1\n  %go = or i1 %same, %both\n  br i1 %go, label %then, label %done\n"
    )
    data = ll(body + X_THEN_MEASURE, declarations=DECLARATIONS)
    expected = {"[0, 0, 1]": 1 / 4, "[1, 1, 1]": 1 / 4, "[1, 0, 0]": 1 / 4, "[0, 1, 0]": 1 / 4}
    assert_distribution(histogram(simulator, data), expected)


def test_the_noisy_h2_emulation_runs_adaptive_programs(simulator: AerSimulator) -> None:
    target = next(t for p in load_catalog().providers for t in p.targets if t.id == "quantinuum.sim.h2-1e")
    output: Any = simulator.qir_results(qasm_text(FEEDBACK_QASM), shots=SHOTS, seed=5, noise=target.noise)
    counts = {entry["Display"]: entry["Count"] for entry in output["Results"][0]["Histogram"]}
    wrong = SHOTS - counts.get("[0, 0]", 0) - counts.get("[1, 1]", 0)
    assert wrong <= SHOTS * 0.02  # readout flips (0.15% per bit) and gate errors, never a broken branch
    assert abs(counts.get("[1, 1]", 0) - SHOTS / 2) <= 5 * (SHOTS / 4) ** 0.5 + wrong


# --- what cannot be translated faithfully is refused where it is written ---


def test_a_loop_is_refused_at_its_back_edge() -> None:
    body = (
        "entry:\n  br label %loop\nloop:\n"
        f"  call void @__quantum__qis__h__body(ptr {Q[0]})\n"
        f"  call void @__quantum__qis__mz__body(ptr {Q[0]}, ptr {Q[0]})\n"
        f"  %r = call i1 @__quantum__qis__read_result__body(ptr {Q[0]})\n"
        "  br i1 %r, label %loop, label %done\ndone:\n  ret i64 0\n"
    )
    data = ll(body, declarations=DECLARATIONS)
    error = refused(data)
    (diagnostic,) = error.diagnostics
    assert diagnostic.code == "LoopNotSupported"
    assert (diagnostic.line, diagnostic.column) == position_of(data, "br i1 %r")
    assert "loop" in diagnostic.message
    assert "branches back to block loop" in error.message


def test_integer_arithmetic_is_refused_at_the_instruction() -> None:
    body = PROLOGUE + (
        "  %wide = zext i1 %a to i64\n  %sum = add i64 %wide, 1\n  %go = icmp eq i64 %sum, 2\n"
        "  br i1 %go, label %then, label %done\n"
    )
    data = ll(body + X_THEN_MEASURE, declarations=DECLARATIONS)
    (diagnostic,) = refused(data).diagnostics
    assert (diagnostic.code, diagnostic.line, diagnostic.column) == (
        "UnsupportedInstruction",
        *position_of(data, "%sum = add"),
    )
    assert "integer arithmetic" in diagnostic.message


@pytest.mark.parametrize(
    ("body", "fragment", "code", "words"),
    [
        pytest.param(
            PROLOGUE
            + "  %wide = zext i1 %a to i64\n  call void @__quantum__rt__int_record_output(i64 %wide, ptr null)\n"
            "  ret i64 0\n",
            "call void @__quantum__rt__int_record_output",
            "UnsupportedCall",
            "recording integer",
            id="integer-output",
        ),
        pytest.param(
            PROLOGUE + "  br i1 %a, label %then, label %done\n"
            f"then:\n  call void @__quantum__rt__result_record_output(ptr {Q[1]}, ptr null)\n  br label %done\n"
            "done:\n  ret i64 0\n",
            "call void @__quantum__rt__result_record_output",
            "ConditionalOutput",
            "inside a conditional branch",
            id="output-in-a-branch",
        ),
        pytest.param(
            PROLOGUE + "  br i1 %a, label %left, label %right\nleft:\n  br i1 %b, label %shared, label %done\n"
            f"right:\n  br label %shared\nshared:\n  call void @__quantum__qis__x__body(ptr {Q[2]})\n"
            "  br label %done\ndone:\n  ret i64 0\n",
            "br label %done",
            "UnstructuredControlFlow",
            "nest as if/else",
            id="unstructured-branches",
        ),
        pytest.param(
            PROLOGUE + f"  call void @__quantum__qis__mz__body(ptr {Q[2]}, ptr {Q[0]})\n"
            "  br i1 %a, label %then, label %done\n" + X_THEN_MEASURE,
            "br i1 %a",
            "ResultOverwritten",
            "measured again",
            id="result-measured-again-before-use",
        ),
        pytest.param(
            "entry:\n  %q = call ptr @__quantum__rt__qubit_allocate()\n  ret i64 0\n",
            "%q = call",
            "UnsupportedCall",
            "qubit_allocate",
            id="dynamic-qubit-allocation",
        ),
    ],
)
def test_untranslatable_adaptive_programs_are_refused(body: str, fragment: str, code: str, words: str) -> None:
    data = ll(body, declarations=DECLARATIONS + "declare ptr @__quantum__rt__qubit_allocate()\n")
    (diagnostic,) = refused(data).diagnostics
    assert diagnostic.code == code
    assert words in diagnostic.message
    assert (diagnostic.line, diagnostic.column) == position_of(data, fragment)


# --- targets declare the profiles they run ---


def qir_targets() -> list[TargetSpec]:
    return [t for p in load_catalog().providers for t in p.targets if QIR in t.input_formats]


def test_only_quantinuums_targets_run_adaptive_qir() -> None:
    adaptive = {t.id for t in qir_targets() if "adaptive" in t.route_for(QIR).qir_profiles}
    assert adaptive == {
        "quantinuum.sim.h2-1sc",
        "quantinuum.sim.h2-1e",
        "quantinuum.sim.h2-2sc",
        "quantinuum.sim.h2-2e",
        "quantinuum.qpu.h2-1",
        "quantinuum.qpu.h2-2",
        "quantinuum.qpu.helios-1",
        "echo-quantinuum",  # Microsoft's echo of Quantinuum-shaped jobs: it takes what they take
    }


def test_base_only_targets_refuse_adaptive_programs_at_submit() -> None:
    adaptive, base = qasm_text(FEEDBACK_QASM), str(compile_qasm(FEEDBACK_QASM.replace("if (c[0]) ", ""))).encode()
    for target in qir_targets():
        check_program(QiskitPrograms(), base, QIR, target)
        if "adaptive" in target.route_for(QIR).qir_profiles:
            assert check_program(QiskitPrograms(), adaptive, QIR, target).num_qubits == 2
            continue
        with pytest.raises(UnsupportedProgramError) as caught:
            check_program(QiskitPrograms(), adaptive, QIR, target)
        assert caught.value.diagnostics[0].code == "QirProfileNotSupported"
        assert f"{target.id} runs QIR in the base profile only" in caught.value.message

"""QIR (`qir.v1`): parsing in a child process, inspection, pass-through and microsoft.quantum-results.v2."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest.mock import Mock

import pyqir
import pytest
from qdk import TargetProfile  # tests/conftest.py has switched qdk telemetry off
from qdk.openqasm import compile as compile_qasm
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.quantum_info import Operator, Statevector

from shared.adapters.aer_simulator import AerSimulator
from shared.domain.errors import InvalidProgramError, UnsupportedFormatError, UnsupportedProgramError
from shared.ports import ProgramInfo
from shared.programs.formats import INPUT_FORMATS, OUTPUT_FORMATS
from shared.programs.qir import display_outcome, parse_qir, qir_to_circuit
from shared.programs.translate import inspect_program, translate_program

QIR = "qir.v1"
QASM3_HEADER = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'
BELL_QASM = QASM3_HEADER + "qubit[2] q;\nbit[2] c;\nh q[0];\ncx q[0], q[1];\nc = measure q;\n"
GHZ3_QASM = QASM3_HEADER + "qubit[3] q;\nbit[3] c;\nh q[0];\ncx q[0], q[1];\ncx q[1], q[2];\nc = measure q;\n"


@pytest.fixture(scope="module")
def simulator() -> AerSimulator:
    return AerSimulator()


def qdk_text(source: str, profile: TargetProfile = TargetProfile.Base) -> bytes:
    return str(compile_qasm(source, target_profile=profile)).encode()


def to_bitcode(text: bytes) -> bytes:
    return pyqir.Module.from_ir(pyqir.Context(), text.decode()).bitcode


def pyqir_bell() -> bytes:
    """pyqir's own builder: opaque pointers, QIR major version 2, `cnot`, no output recording."""
    module = pyqir.SimpleModule("bell", num_qubits=2, num_results=2)
    qis = pyqir.BasicQisBuilder(module.builder)
    qis.h(module.qubits[0])
    qis.cx(module.qubits[0], module.qubits[1])
    qis.mz(module.qubits[0], module.results[0])
    qis.mz(module.qubits[1], module.results[1])
    return module.bitcode()


SIGNATURES = {
    **dict.fromkeys(("h", "x", "y", "z", "s", "s__adj", "t", "t__adj", "sx", "reset"), "void (ptr)"),
    **dict.fromkeys(("rx", "ry", "rz"), "void (double, ptr)"),
    **dict.fromkeys(("cx", "cnot", "cz", "cy", "swap", "m", "mz", "mresetz"), "void (ptr, ptr)"),
    **dict.fromkeys(("rxx", "ryy", "rzz"), "void (double, ptr, ptr)"),
    "ccx": "void (ptr, ptr, ptr)",
    "barrier": "void ()",
    "read_result": "i1 (ptr)",
    "u3": "void (double, double, double, ptr)",
}
RT_SIGNATURES = {
    "initialize": "void (ptr)",
    "qubit_allocate": "ptr ()",
    "tuple_record_output": "void (i64, ptr)",
    "array_record_output": "void (i64, ptr)",
    "result_record_output": "void (ptr, ptr)",
}


def declare(body: str, declared: str) -> str:
    """Declarations for the QIS and runtime functions the body calls (unless already declared)."""
    names = {f"__quantum__qis__{g}__{'adj' if g.endswith('__adj') else 'body'}": t for g, t in SIGNATURES.items()}
    names = {k.replace("__adj__adj", "__adj"): t for k, t in names.items()}
    names.update({f"__quantum__rt__{n}": t for n, t in RT_SIGNATURES.items()})
    found = []
    for name, signature in names.items():
        if f"@{name}(" in body and f"@{name}(" not in declared:
            returns, params = signature.split(" ", 1)
            found.append(f"declare {returns} @{name}{params}\n")
    return "".join(found)


def ll(body: str, *, qubits: int = 2, results: int = 2, declarations: str = "", profile: str = "base_profile") -> bytes:
    """A hand-written opaque-pointer module around an entry point body."""
    declarations += declare(body, declarations)
    return (
        "define i64 @main() #0 {\n"
        f"{body}"
        "}\n"
        f"{declarations}"
        f'attributes #0 = {{ "entry_point" "qir_profiles"="{profile}" '
        f'"required_num_qubits"="{qubits}" "required_num_results"="{results}" }}\n'
    ).encode()


def five_sigma(shots: int, p: float) -> float:
    return 5 * math.sqrt(shots * p * (1 - p)) + 1


def results_of(output: dict[str, object]) -> tuple[list[dict[str, Any]], list[Any]]:
    assert output["DataFormat"] == "microsoft.quantum-results.v2"
    results: Any = output["Results"]
    (result,) = results
    return result["Histogram"], result["Shots"]


def check_shape(output: dict[str, object], shots: int) -> Counter[str]:
    """Counts sum to shots, Shots has one entry per shot and agrees with the histogram; counts by Display."""
    histogram, shot_list = results_of(output)
    assert len(shot_list) == shots
    assert sum(int(entry["Count"]) for entry in histogram) == shots
    by_display = Counter({str(entry["Display"]): int(entry["Count"]) for entry in histogram})
    assert Counter(display_outcome(shot) for shot in shot_list) == by_display
    for entry in histogram:
        assert display_outcome(entry["Outcome"]) == entry["Display"]
    json.dumps(output)  # plain JSON
    return by_display


# --- formats and inspection ----------------------------------------------------------------------


def test_qir_is_an_input_and_output_format() -> None:
    assert QIR in INPUT_FORMATS
    assert QIR in OUTPUT_FORMATS


SOURCES: list[tuple[str, Callable[[], bytes], ProgramInfo]] = [
    ("qdk-text", lambda: qdk_text(BELL_QASM), ProgramInfo(num_qubits=2, num_clbits=2, gate_count=2)),
    ("qdk-bitcode", lambda: to_bitcode(qdk_text(BELL_QASM)), ProgramInfo(num_qubits=2, num_clbits=2, gate_count=2)),
    ("pyqir-builder", pyqir_bell, ProgramInfo(num_qubits=2, num_clbits=2, gate_count=2)),
    ("ghz3", lambda: qdk_text(GHZ3_QASM), ProgramInfo(num_qubits=3, num_clbits=3, gate_count=3)),
]


@pytest.mark.parametrize(("make", "expected"), [pytest.param(m, e, id=n) for n, m, e in SOURCES])
def test_inspect_counts_qubits_results_and_gates(make: Callable[[], bytes], expected: ProgramInfo) -> None:
    assert inspect_program(make(), QIR) == expected


def test_bitcode_starts_with_the_magic_and_text_does_not() -> None:
    assert to_bitcode(qdk_text(BELL_QASM)).startswith(b"BC\xc0\xde")
    assert pyqir_bell().startswith(b"BC\xc0\xde")
    assert qdk_text(BELL_QASM).startswith(b"%")


def test_parse_reports_gates_output_and_timing() -> None:
    program = parse_qir(
        qdk_text(QASM3_HEADER + "qubit[2] q;\nbit[2] c;\nrx(0.25) q[1];\ncx q[1], q[0];\nc = measure q;\n")
    )
    assert program.entry_point == "ENTRYPOINT__main"
    assert program.profile == "base_profile"
    assert [(op.name, op.qubits, op.results) for op in program.operations] == [
        ("rx", (1,), ()),
        ("cx", (1, 0), ()),
        ("m", (0,), (0,)),
        ("m", (1,), (1,)),
    ]
    assert program.operations[0].params == pytest.approx((0.25,))
    assert program.outcome([1, 0]) == [1, 0]
    assert 0 < program.parse_seconds < program.wall_seconds < 5


def test_qir_passes_through_unchanged_and_is_validated() -> None:
    for data in (qdk_text(BELL_QASM), pyqir_bell()):
        assert translate_program(data, QIR, QIR) == data
    with pytest.raises(InvalidProgramError):
        translate_program(b"define i64 @main() {\n", QIR, QIR)


def test_other_formats_are_not_translated_to_qir() -> None:
    with pytest.raises(UnsupportedFormatError, match=r"qir\.v1"):
        translate_program(BELL_QASM.encode(), "openqasm.v3", QIR)


def test_qir_translates_to_openqasm2_through_the_circuit() -> None:
    qasm2 = translate_program(qdk_text(GHZ3_QASM), QIR, "honeywell.openqasm.v1").decode()
    circuit = QuantumCircuit.from_qasm_str(qasm2)
    assert circuit.count_ops() == {"h": 1, "cx": 2, "measure": 3}


# --- every gate: the circuit is the program --------------------------------------------------------

ALL_GATES_BODY = """entry:
  call void @__quantum__rt__initialize(ptr null)
  call void @__quantum__qis__h__body(ptr null)
  call void @__quantum__qis__x__body(ptr inttoptr (i64 1 to ptr))
  call void @__quantum__qis__y__body(ptr inttoptr (i64 2 to ptr))
  call void @__quantum__qis__z__body(ptr null)
  call void @__quantum__qis__s__body(ptr inttoptr (i64 1 to ptr))
  call void @__quantum__qis__s__adj(ptr inttoptr (i64 2 to ptr))
  call void @__quantum__qis__t__body(ptr null)
  call void @__quantum__qis__t__adj(ptr inttoptr (i64 1 to ptr))
  call void @__quantum__qis__sx__body(ptr inttoptr (i64 2 to ptr))
  call void @__quantum__qis__rx__body(double 0.3, ptr null)
  call void @__quantum__qis__ry__body(double -1.2, ptr inttoptr (i64 1 to ptr))
  call void @__quantum__qis__rz__body(double 0.7, ptr inttoptr (i64 2 to ptr))
  call void @__quantum__qis__cx__body(ptr null, ptr inttoptr (i64 1 to ptr))
  call void @__quantum__qis__cnot__body(ptr inttoptr (i64 2 to ptr), ptr null)
  call void @__quantum__qis__cz__body(ptr inttoptr (i64 1 to ptr), ptr inttoptr (i64 2 to ptr))
  call void @__quantum__qis__cy__body(ptr null, ptr inttoptr (i64 2 to ptr))
  call void @__quantum__qis__ccx__body(ptr null, ptr inttoptr (i64 1 to ptr), ptr inttoptr (i64 2 to ptr))
  call void @__quantum__qis__swap__body(ptr null, ptr inttoptr (i64 2 to ptr))
  call void @__quantum__qis__rxx__body(double 0.4, ptr null, ptr inttoptr (i64 1 to ptr))
  call void @__quantum__qis__ryy__body(double 0.9, ptr inttoptr (i64 1 to ptr), ptr inttoptr (i64 2 to ptr))
  call void @__quantum__qis__rzz__body(double 1.1, ptr null, ptr inttoptr (i64 2 to ptr))
  call void @__quantum__qis__barrier__body()
  br label %measure
measure:
  call void @__quantum__qis__mz__body(ptr null, ptr null)
  call void @__quantum__qis__m__body(ptr inttoptr (i64 1 to ptr), ptr inttoptr (i64 1 to ptr))
  call void @__quantum__qis__mresetz__body(ptr inttoptr (i64 2 to ptr), ptr inttoptr (i64 2 to ptr))
  ret i64 0
"""


def reference_circuit() -> QuantumCircuit:
    """The same gates written directly in qiskit, without measurements."""
    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.x(1)
    circuit.y(2)
    circuit.z(0)
    circuit.s(1)
    circuit.sdg(2)
    circuit.t(0)
    circuit.tdg(1)
    circuit.sx(2)
    circuit.rx(0.3, 0)
    circuit.ry(-1.2, 1)
    circuit.rz(0.7, 2)
    circuit.cx(0, 1)
    circuit.cx(2, 0)
    circuit.cz(1, 2)
    circuit.cy(0, 2)
    circuit.ccx(0, 1, 2)
    circuit.swap(0, 2)
    circuit.rxx(0.4, 0, 1)
    circuit.ryy(0.9, 1, 2)
    circuit.rzz(1.1, 0, 2)
    return circuit


def test_every_gate_maps_to_the_same_unitary() -> None:
    program = parse_qir(ll(ALL_GATES_BODY, qubits=3, results=3))
    assert program.gate_count == 21
    circuit = qir_to_circuit(program)
    assert circuit.count_ops()["measure"] == 3
    assert circuit.count_ops()["reset"] == 1
    unitary = circuit.copy_empty_like()
    for item in circuit.data:
        if item.operation.name not in ("measure", "barrier", "reset"):
            unitary.append(item)
    unitary.remove_final_measurements()  # drops the now unused clbits
    assert Operator(unitary).equiv(Operator(reference_circuit()))


def test_rotations_match_the_statevector(simulator: AerSimulator) -> None:
    shots = 4000
    output = simulator.qir_results(ll(ALL_GATES_BODY, qubits=3, results=3), shots, seed=11)
    counts = check_shape(output, shots)
    probabilities = Statevector(reference_circuit()).probabilities_dict()  # keys: qubit 2 leftmost
    for key, p in probabilities.items():
        display = "[" + ", ".join(reversed(key)) + "]"  # nothing recorded: results in index order
        assert abs(counts.get(display, 0) - shots * p) < five_sigma(shots, p), display
    assert set(counts) <= {"[" + ", ".join(reversed(k)) + "]" for k, p in probabilities.items() if p > 1e-12}


# --- sampling --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("make", "_"), [pytest.param(m, e, id=n) for n, m, e in SOURCES[:3]])
def test_bell_is_correlated_and_balanced(simulator: AerSimulator, make: Callable[[], bytes], _: object) -> None:
    shots = 2000
    output = simulator.qir_results(make(), shots, seed=3)
    counts = check_shape(output, shots)
    assert set(counts) <= {"[0, 0]", "[1, 1]"}
    assert abs(counts["[0, 0]"] - shots / 2) < five_sigma(shots, 0.5)
    histogram, shot_list = results_of(output)
    assert {json.dumps(entry["Outcome"]) for entry in histogram} <= {"[0, 0]", "[1, 1]"}
    assert all(shot in ([0, 0], [1, 1]) for shot in shot_list)


def test_ghz3(simulator: AerSimulator) -> None:
    shots = 3000
    counts = check_shape(simulator.qir_results(qdk_text(GHZ3_QASM), shots, seed=5), shots)
    assert set(counts) <= {"[0, 0, 0]", "[1, 1, 1]"}
    assert abs(counts["[1, 1, 1]"] - shots / 2) < five_sigma(shots, 0.5)


def test_seeded_runs_repeat(simulator: AerSimulator) -> None:
    data = qdk_text(GHZ3_QASM)
    assert simulator.qir_results(data, 50, seed=9) == simulator.qir_results(data, 50, seed=9)


def test_nothing_measured_gives_zeros(simulator: AerSimulator) -> None:
    body = "entry:\n  call void @__quantum__qis__h__body(ptr null)\n  ret i64 0\n"
    histogram, shots = results_of(simulator.qir_results(ll(body, qubits=1, results=2), 3))
    assert histogram == [{"Outcome": [0, 0], "Display": "[0, 0]", "Count": 3}]
    assert shots == [[0, 0]] * 3


RECORDS_BODY = """entry:
  call void @__quantum__qis__x__body(ptr null)
  call void @__quantum__qis__x__body(ptr inttoptr (i64 2 to ptr))
  call void @__quantum__qis__mz__body(ptr null, ptr null)
  call void @__quantum__qis__mz__body(ptr inttoptr (i64 1 to ptr), ptr inttoptr (i64 1 to ptr))
  call void @__quantum__qis__mz__body(ptr inttoptr (i64 2 to ptr), ptr inttoptr (i64 2 to ptr))
{records}  ret i64 0
"""
REC_DECLS = '@t = internal constant [4 x i8] c"0_t\\00"\n'


def records(*calls: str) -> str:
    kinds = {"t": "tuple_record_output(i64 {}, ptr @t)", "a": "array_record_output(i64 {}, ptr null)"}
    lines = []
    for item in calls:
        kind, value = item[0], item[1:]
        if kind == "r":
            lines.append(f"result_record_output(ptr inttoptr (i64 {value} to ptr), ptr null)")
        else:
            lines.append(kinds[kind].format(value))
    return "".join(f"  call void @__quantum__rt__{line}\n" for line in lines)


OUTPUT_SHAPES = [
    # results are r0 = 1, r1 = 0, r2 = 1
    pytest.param(("r2",), 1, "1", id="lone-result"),
    pytest.param(("a2", "r1", "r0"), [0, 1], "[0, 1]", id="array-in-recording-order"),
    pytest.param(
        ("t2", "a2", "r0", "r1", "r2"), {"Item1": [1, 0], "Item2": 1}, "([1, 0], 1)", id="tuple-of-array-and-result"
    ),
    pytest.param(
        ("t2", "a1", "r2", "a2", "r1", "r0"), {"Item1": [1], "Item2": [0, 1]}, "([1], [0, 1])", id="qiskit-registers"
    ),
    pytest.param(("a0",), [], "[]", id="empty-array"),
    pytest.param(("t0",), {}, "()", id="unit"),
    pytest.param(("r0", "r1"), {"Item1": 1, "Item2": 0}, "(1, 0)", id="several-top-level-records"),
    pytest.param((), [1, 0, 1], "[1, 0, 1]", id="no-recording-all-results"),
]


@pytest.mark.parametrize(("calls", "outcome", "display"), OUTPUT_SHAPES)
def test_output_recording_shapes_and_display(
    simulator: AerSimulator, calls: tuple[str, ...], outcome: object, display: str
) -> None:
    data = ll(RECORDS_BODY.format(records=records(*calls)), qubits=3, results=3, declarations=REC_DECLS)
    histogram, shots = results_of(simulator.qir_results(data, 4, seed=1))
    assert histogram == [{"Outcome": outcome, "Display": display, "Count": 4}]
    assert shots == [outcome] * 4


def test_qdk_tuple_output_from_two_registers(simulator: AerSimulator) -> None:
    source = QASM3_HEADER + "qubit[3] q;\nbit[2] c;\nbit d;\nx q[1];\nx q[2];\nc = measure q[0:1];\nd = measure q[2];\n"
    histogram, _ = results_of(simulator.qir_results(qdk_text(source), 5))
    assert histogram == [{"Outcome": {"Item1": [0, 1], "Item2": 1}, "Display": "([0, 1], 1)", "Count": 5}]


def test_unrecorded_results_do_not_split_an_outcome(simulator: AerSimulator) -> None:
    body = (
        "entry:\n  call void @__quantum__qis__h__body(ptr null)\n"
        "  call void @__quantum__qis__mz__body(ptr null, ptr null)\n"
        "  call void @__quantum__qis__mz__body(ptr inttoptr (i64 1 to ptr), ptr inttoptr (i64 1 to ptr))\n"
        + records("r1")
        + "  ret i64 0\n"
    )
    output = simulator.qir_results(ll(body, declarations=REC_DECLS), 200, seed=2)
    histogram, _ = results_of(output)
    assert histogram == [{"Outcome": 0, "Display": "0", "Count": 200}]


def test_too_few_recorded_items_is_invalid() -> None:
    data = ll(RECORDS_BODY.format(records=records("a3", "r0", "r1")), qubits=3, results=3, declarations=REC_DECLS)
    with pytest.raises(InvalidProgramError, match="announces more items"):
        parse_qir(data)


def test_shots_must_be_positive(simulator: AerSimulator) -> None:
    with pytest.raises(ValueError, match="shots"):
        simulator.qir_results(pyqir_bell(), 0)


# --- the azure-quantum SDK reads the output ----------------------------------------------------------


def sdk_job(output: dict[str, object]) -> Any:
    """An azure.quantum Job whose results blob is `output` (no server involved)."""
    job_module = pytest.importorskip("azure.quantum")
    details = job_module.JobDetails(
        id="j",
        name="j",
        provider_id="microsoft",
        target="t",
        container_uri="",
        input_data_format=QIR,
        output_data_format="microsoft.quantum-results.v2",
    )
    details.status = "Succeeded"
    job = job_module.Job(workspace=None, job_details=details)
    job.has_completed = Mock(return_value=True)
    job.download_data = Mock(return_value=json.dumps(output).encode())
    return job


def test_sdk_reads_results_histogram_and_shots(simulator: AerSimulator) -> None:
    data = ll(
        RECORDS_BODY.format(records=records("t2", "a2", "r0", "r1", "r2")), qubits=3, results=3, declarations=REC_DECLS
    )
    output = simulator.qir_results(data, 10)
    job = sdk_job(output)
    assert job.get_results() == {"([1, 0], 1)": 1.0}
    histogram = job.get_results_histogram()
    assert histogram == {"([1, 0], 1)": {"outcome": ([1, 0], 1), "count": 10}}
    assert job.get_results_shots() == [([1, 0], 1)] * 10


def sdk_qiskit_job() -> Any:
    """azure.quantum.qiskit.job, loaded on its own: the package's __init__ needs the `qsharp` shim."""
    spec = importlib.util.find_spec("azure.quantum")
    if spec is None or spec.origin is None:
        pytest.skip("azure-quantum is not installed")
    location = Path(spec.origin).parent / "qiskit" / "job.py"
    loaded = importlib.util.spec_from_file_location("_sdk_qiskit_job", location)
    assert loaded is not None
    assert loaded.loader is not None
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    return module


def test_qiskit_counts_match_aer_through_the_sdk(simulator: AerSimulator) -> None:
    """A Qiskit circuit as the SDK submits it (qdk's Qiskit backend) gives Aer's own counts keys."""
    qiskit_backends = pytest.importorskip("qdk.qiskit")
    qiskit_job = sdk_qiskit_job()
    circuit = QuantumCircuit(QuantumRegister(3, "q"), ClassicalRegister(2, "c"), ClassicalRegister(1, "d"))
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.x(2)
    circuit.measure([0, 1, 2], [0, 1, 2])
    backend = qiskit_backends.QSharpBackend(
        target_profile=TargetProfile.Base, skip_transpilation=True, qiskit_pass_options={"supports_barrier": False}
    )
    qir = str(backend.qir(circuit)).encode()
    bell = QuantumCircuit(2, 2)
    bell.h(0)
    bell.cx(0, 1)
    bell.measure([0, 1], [0, 1])
    for program, expected in (
        (qir, {"1 00", "1 11"}),
        (str(backend.qir(bell)).encode(), {"00", "11"}),
    ):
        wrapper = object.__new__(qiskit_job.AzureQuantumJob)
        wrapper._azure_job = sdk_job(simulator.qir_results(program, 100, seed=4))
        ((total, data),) = wrapper._translate_microsoft_v2_results()
        assert total == 100
        assert set(data["counts"]) == expected
        assert sum(data["counts"].values()) == 100
        assert len(data["memory"]) == 100
    # one asymmetric case pins the bit order: x on q0 only -> qiskit's "01" (c[0] rightmost)
    asymmetric = QuantumCircuit(2, 2)
    asymmetric.x(0)
    asymmetric.measure([0, 1], [0, 1])
    wrapper = object.__new__(qiskit_job.AzureQuantumJob)
    wrapper._azure_job = sdk_job(simulator.qir_results(str(backend.qir(asymmetric)).encode(), 7))
    ((_, data),) = wrapper._translate_microsoft_v2_results()
    assert data["counts"] == {"01": 7}


# --- invalid and unsupported programs ---------------------------------------------------------------


def test_llvm_syntax_error_has_line_and_column() -> None:
    data = b"define i64 @main() #0 {\nentry:\n  ret i64 %x\n}\n"
    with pytest.raises(InvalidProgramError) as caught:
        inspect_program(data, QIR)
    assert type(caught.value) is InvalidProgramError
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.line, diagnostic.column) == (3, 11)
    assert "use of undefined value '%x'" in diagnostic.message
    assert "line 3, column 11" in caught.value.message


def test_llvm_error_in_a_later_line() -> None:
    data = qdk_text(BELL_QASM).replace(b"@__quantum__qis__h__body(%Qubit*", b"@__quantum__qis__h__body(%Qubit", 1)
    with pytest.raises(InvalidProgramError) as caught:
        inspect_program(data, QIR)
    diagnostic = caught.value.diagnostics[0]
    line = data.decode().split("\n").index(next(x for x in data.decode().split("\n") if "h__body(%Qubit " in x)) + 1
    assert diagnostic.line == line
    assert diagnostic.column is not None


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_are_invalid_never_a_crash(seed: int) -> None:
    data = hashlib.sha512(bytes([seed])).digest() * 3
    with pytest.raises(InvalidProgramError):
        inspect_program(data, QIR)
    with pytest.raises(InvalidProgramError):
        inspect_program(b"BC\xc0\xde" + data, QIR)


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_truncated_bitcode_is_invalid(fraction: float) -> None:
    bitcode = to_bitcode(qdk_text(GHZ3_QASM))
    with pytest.raises(InvalidProgramError) as caught:
        inspect_program(bitcode[: int(len(bitcode) * fraction)], QIR)
    assert type(caught.value) is InvalidProgramError


def test_empty_and_non_utf8_text_are_invalid() -> None:
    with pytest.raises(InvalidProgramError, match="empty"):
        inspect_program(b"  \n", QIR)
    with pytest.raises(InvalidProgramError) as caught:
        inspect_program(b"; ok\n\xff\n", QIR)
    assert caught.value.diagnostics[0].line == 2


def test_adaptive_program_reading_results_is_accepted() -> None:
    source = (
        QASM3_HEADER
        + "qubit[2] q;\nbit[2] c;\nh q[0];\nc[0] = measure q[0];\nif (c[0]) x q[1];\nc[1] = measure q[1];\n"
    )
    program = parse_qir(qdk_text(source, TargetProfile.Adaptive_RI))
    assert program.profile == "adaptive_profile"
    assert program.required_profile == "adaptive"


BRANCHING_BODY = """entry:
  br i1 true, label %then, label %done
then:
  call void @__quantum__qis__x__body(ptr null)
  br label %done
done:
  call void @__quantum__qis__mz__body(ptr null, ptr null)
  ret i64 0
"""


def test_a_constant_branch_keeps_the_side_taken(simulator: AerSimulator) -> None:
    data = ll(BRANCHING_BODY, profile="custom", results=1)
    assert [op.name for op in parse_qir(data).operations] == ["x", "mz"]
    histogram, _ = results_of(simulator.qir_results(data, shots=20, seed=1))
    assert histogram == [{"Outcome": [1], "Display": "[1]", "Count": 20}]


def test_read_result_body_is_adaptive() -> None:
    body = (
        "entry:\n  call void @__quantum__qis__mz__body(ptr null, ptr null)\n"
        "  %r = call i1 @__quantum__qis__read_result__body(ptr null)\n  ret i64 0\n"
    )
    assert parse_qir(ll(body)).required_profile == "adaptive"


@pytest.mark.parametrize(
    ("body", "error", "fragment"),
    [
        pytest.param(
            "entry:\n  call void @__quantum__qis__u3__body(double 1.0, double 2.0, double 3.0, ptr null)\n"
            "  ret i64 0\n",
            UnsupportedProgramError,
            "'u3' is not supported",
            id="unknown-gate",
        ),
        pytest.param(
            "entry:\n  call void @__quantum__qis__h__body(ptr inttoptr (i64 5 to ptr))\n  ret i64 0\n",
            InvalidProgramError,
            "qubit 5 is used",
            id="qubit-out-of-range",
        ),
        pytest.param(
            "entry:\n  %q = call ptr @__quantum__rt__qubit_allocate()\n  ret i64 0\n",
            UnsupportedProgramError,
            "qubit_allocate",
            id="dynamic-allocation",
        ),
        pytest.param(
            "entry:\n  call void @__quantum__qis__h__body(ptr null, ptr null)\n  ret i64 0\n",
            InvalidProgramError,
            "expected 1 arguments",
            id="arity",
        ),
        pytest.param(
            "entry:\n  call void @__quantum__qis__h__body(ptr @__quantum__qis__h__body)\n  ret i64 0\n",
            UnsupportedProgramError,
            "not a static qubit id",
            id="function-as-qubit-would-crash-pyqir",
        ),
        pytest.param(
            "entry:\n  call void @__quantum__qis__mz__body(ptr null, ptr @g)\n  ret i64 0\n",
            UnsupportedProgramError,
            "not a static result id",
            id="global-as-result",
        ),
        pytest.param(
            "entry:\n"
            "  call void @__quantum__qis__h__body(ptr getelementptr inbounds ([3 x i8], ptr @g, i64 0, i64 2))\n"
            "  ret i64 0\n",
            UnsupportedProgramError,
            "not a static qubit id",
            id="gep-as-qubit-would-crash-pyqir",
        ),
    ],
)
def test_programs_the_service_cannot_run(body: str, error: type[Exception], fragment: str) -> None:
    declarations = '@g = internal constant [3 x i8] c"ab\\00"\n'
    if "h__body(ptr null, ptr null)" in body:
        declarations += "declare void @__quantum__qis__h__body(ptr, ptr)\n"
    data = ll(body, declarations=declarations)
    with pytest.raises(error, match=fragment):
        inspect_program(data, QIR)


def test_no_entry_point_is_invalid() -> None:
    with pytest.raises(InvalidProgramError, match="no entry point"):
        inspect_program(b"define void @f() {\nentry:\n  ret void\n}\n", QIR)


# --- crash isolation ---------------------------------------------------------------------------------

# A label is a getelementptr into a global: pyqir.ptr_id on it can segfault (not every time), so the
# worker must never call it there. The crash itself is simulated deterministically below.
LABELLED = b"""@0 = internal constant [6 x i8] c"label\\00"
define i64 @main() #0 {
entry:
  call void @__quantum__rt__result_record_output(ptr null, ptr getelementptr inbounds ([6 x i8], ptr @0, i64 0, i64 2))
  ret i64 0
}
declare void @__quantum__rt__result_record_output(ptr, ptr)
attributes #0 = { "entry_point" "required_num_qubits"="0" "required_num_results"="1" }
"""


def test_the_worker_reads_labels_without_touching_them_as_pointers() -> None:
    program = parse_qir(LABELLED)
    assert program.num_results == 1
    assert program.outcome([1]) == 1


@pytest.mark.parametrize("signal_name", ["SIGSEGV", "SIGKILL", "SIGABRT"])
def test_a_parser_killed_by_a_signal(signal_name: str) -> None:
    script = (
        "import os, resource, signal\n"
        "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
        f"os.kill(os.getpid(), signal.{signal_name})\n"
    )
    with pytest.raises(InvalidProgramError, match=f"died with signal {signal_name}"):
        parse_qir(pyqir_bell(), worker=[sys.executable, "-I", "-c", script])
    assert inspect_program(pyqir_bell(), QIR).num_qubits == 2


def test_a_hanging_parser_is_stopped() -> None:
    worker = [sys.executable, "-I", "-c", "import time; time.sleep(30)"]
    with pytest.raises(InvalidProgramError, match=r"longer than 0\.5 s"):
        parse_qir(pyqir_bell(), worker=worker, timeout=0.5)


def test_a_parser_that_fails_or_talks_nonsense_is_an_invalid_program() -> None:
    for script in ("raise SystemExit(3)", "print('not json')"):
        with pytest.raises(InvalidProgramError, match="parser process failed"):
            parse_qir(pyqir_bell(), worker=[sys.executable, "-I", "-c", script])

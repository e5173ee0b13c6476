"""Parsing, diagnostics and translation of quantum programs (shared.programs)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import qiskit.qasm2
import qiskit.qasm3
from qiskit import QuantumCircuit
from qiskit.circuit import Gate
from qiskit.circuit.library import (
    HGate,
    RXGate,
    RXXGate,
    RYGate,
    RYYGate,
    RZGate,
    RZZGate,
    SdgGate,
    SGate,
    SwapGate,
    SXdgGate,
    SXGate,
    TdgGate,
    TGate,
    XGate,
    YGate,
    ZGate,
)
from qiskit.quantum_info import Operator

from shared.domain.errors import (
    Diagnostic,
    InvalidProgramError,
    UnsupportedFormatError,
    UnsupportedProgramError,
)
from shared.ports import ProgramInfo
from shared.programs.formats import INPUT_FORMATS
from shared.programs.translate import inspect_program, translate_program

QASM2_HEADER = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
QASM3_HEADER = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'
IONQ = "ionq.circuit.v1"
HONEYWELL = "honeywell.openqasm.v1"

# An independent reading of IonQ qis JSON, so translations are not checked against themselves.
QIS_GATES: dict[str, type[Gate]] = {
    "x": XGate,
    "y": YGate,
    "z": ZGate,
    "h": HGate,
    "s": SGate,
    "si": SdgGate,
    "t": TGate,
    "ti": TdgGate,
    "v": SXGate,
    "vi": SXdgGate,
    "rx": RXGate,
    "ry": RYGate,
    "rz": RZGate,
    "swap": SwapGate,
    "xx": RXXGate,
    "yy": RYYGate,
    "zz": RZZGate,
}


def circuit_from_ionq(data: bytes) -> QuantumCircuit:
    document = json.loads(data)
    circuit = QuantumCircuit(document["qubits"])
    for entry in document["circuit"]:
        args = [entry["rotation"]] if "rotation" in entry else []
        gate = QIS_GATES[entry["gate"]](*args)
        controls = entry.get("controls", [])
        if controls:
            gate = gate.control(len(controls))
        circuit.append(gate, [*controls, *entry["targets"]])
    return circuit


def circuit_from_qasm2(text: str | bytes) -> QuantumCircuit:
    source = text.decode() if isinstance(text, bytes) else text
    return qiskit.qasm2.loads(source, custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)


def same_unitary(a: QuantumCircuit, b: QuantumCircuit) -> bool:
    """Operator equality up to global phase, final measurements removed."""
    return bool(
        Operator(a.remove_final_measurements(inplace=False)).equiv(Operator(b.remove_final_measurements(inplace=False)))
    )


# --- every input format parses -------------------------------------------------------------------

VALID_PROGRAMS = [
    pytest.param(
        "openqasm.v2",
        QASM2_HEADER + "qreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n",
        ProgramInfo(2, 2, 2),
        id="qasm2-bell",
    ),
    pytest.param(
        "openqasm.v2",
        QASM2_HEADER + "qreg q[3];\ncreg c[3];\nh q[0];\ncx q[0],q[1];\ncx q[1],q[2];\nmeasure q -> c;\n",
        ProgramInfo(3, 3, 3),
        id="qasm2-ghz",
    ),
    pytest.param(
        "openqasm.v2",
        QASM2_HEADER
        + "qreg a[1];\nqreg b[2];\ncreg m[1];\ncreg n[2];\nu3(0.1,0.2,0.3) a[0];\ncu1(pi/2) a[0],b[1];\n"
        + "barrier a, b;\nid b[0];\nmeasure a[0] -> m[0];\nmeasure b -> n;\n",
        ProgramInfo(3, 3, 3),
        id="qasm2-registers-barrier-u3-cu1",
    ),
    pytest.param(
        "openqasm.v2",
        QASM2_HEADER + "gate my(t) a, b { rz(t) a; cx a, b; }\nqreg q[2];\nmy(0.5) q[0], q[1];\n",
        ProgramInfo(2, 0, 1),
        id="qasm2-gate-definition",
    ),
    pytest.param(
        "honeywell.openqasm.v1",
        QASM2_HEADER + "qreg q[2];\ncreg c[2];\nmeasure q[0] -> c[0];\nif(c==1) x q[1];\nreset q[0];\n",
        ProgramInfo(2, 2, 1),
        id="honeywell-condition-reset",
    ),
    pytest.param(
        "openqasm.v3",
        QASM3_HEADER + "qubit[2] q;\nbit[2] c;\nh q[0];\ncx q[0], q[1];\nc = measure q;\n",
        ProgramInfo(2, 2, 2),
        id="qasm3-bell",
    ),
    pytest.param(
        "openqasm.v3",
        QASM3_HEADER + "qreg q[2];\ncreg c[2];\nU(1, 2, 3) q[0];\ncp(pi/4) q[0], q[1];\nmeasure q -> c;\n",
        ProgramInfo(2, 2, 2),
        id="qasm3-legacy-declarations-integer-angles",
    ),
    pytest.param(
        "openqasm.v3",
        QASM3_HEADER + "qubit[2] q;\nbit[2] c;\nc[0] = measure q[0];\nif (c[0]) { x q[1]; }\nbarrier q;\n",
        ProgramInfo(2, 2, 1),
        id="qasm3-if",
    ),
    pytest.param(
        IONQ,
        '{"qubits": 2, "circuit": [{"gate": "h", "targets": [0]}, {"gate": "x", "targets": [1], "controls": [0]}]}',
        ProgramInfo(2, 2, 2),
        id="ionq-bell",
    ),
    pytest.param(
        IONQ,
        '{"gateset": "qis", "qubits": 3, "circuit": [{"gate": "rz", "targets": [2], "rotation": 1},'
        ' {"gate": "x", "targets": [2], "controls": [0, 1]},'
        ' {"gate": "zz", "targets": [0, 1], "rotation": 0.5}]}',
        ProgramInfo(3, 3, 3),
        id="ionq-rotations-ccx",
    ),
]


@pytest.mark.parametrize(("input_format", "source", "expected"), VALID_PROGRAMS)
def test_valid_programs_parse(input_format: str, source: str, expected: ProgramInfo) -> None:
    assert inspect_program(source.encode(), input_format) == expected


def test_input_formats() -> None:
    programs = {"ionq.circuit.v1", "openqasm.v2", "openqasm.v3", "honeywell.openqasm.v1", "qir.v1", "rigetti.quil.v1"}
    programs |= {"pasqal.pulser.v1"}
    assert programs | {"microsoft.quantum-log.v1"} == INPUT_FORMATS  # the echo test targets' log, not a program


# --- diagnostics: positions checked by hand ------------------------------------------------------

TEXT_DEFECTS = [
    # line 4 is "h q[0] $;": '$' is the 8th character.
    pytest.param("openqasm.v2", "qreg q[2];\nh q[0] $;\n", 4, 8, "'$'", id="qasm2-syntax"),
    # line 4 is "h q[0]" and the ';' belongs right after it, at column 7.
    pytest.param("openqasm.v2", "qreg q[2];\nh q[0]\ncx q[0],q[1];\n", 4, 7, "';'", id="qasm2-missing-semicolon"),
    pytest.param("openqasm.v2", "qreg q[2];\nh q[0] // done\n\n", 4, 7, "';'", id="qasm2-missing-semicolon-at-eof"),
    pytest.param("openqasm.v2", "qreg q[2];\nfoo q[0];\n", 4, 1, "'foo'", id="qasm2-undefined-gate"),
    pytest.param("openqasm.v2", "qreg q[2];\n  cx q[0];\n", 4, 3, "2 quantum arguments", id="qasm2-arity"),
    pytest.param("openqasm.v2", "qreg q[2];\nrx(1, 2) q[0];\n", 4, 1, "1 parameter", id="qasm2-parameter-count"),
    # qiskit itself does not check a call without parentheses; "if(c==1) rx q[0];" has rx at column 10.
    pytest.param(
        "openqasm.v2",
        "qreg q[2];\ncreg c[1];\nif(c==1) rx q[0];\n",
        5,
        10,
        "'rx' takes 1 parameter(s), but got none",
        id="qasm2-missing-parameters",
    ),
    pytest.param(
        "openqasm.v2",
        "gate g(t) a { rz(t) a; }\nqreg q[1];\ng q[0];\n",
        5,
        1,
        "'g' takes 1 parameter(s)",
        id="qasm2-missing-parameters-user-gate",
    ),
    pytest.param("openqasm.v2", "qreg q[1];\ncreg c[1];\nif(c=1) x q[0];\n", 5, 5, "'='", id="qasm2-single-equals"),
    # "h q[5];": column 5 is the index 5.
    pytest.param("honeywell.openqasm.v1", "qreg q[2];\nh q[5];\n", 4, 5, "out-of-range", id="qasm2-qubit-range"),
    # "measure q[1] -> c[7];": column 19 is the index 7.
    pytest.param(
        "openqasm.v2",
        "qreg q[2];\ncreg c[2];\nmeasure q[1] -> c[7];\n",
        5,
        19,
        "out-of-range",
        id="qasm2-clbit-range",
    ),
    pytest.param("openqasm.v3", "qubit[2] q\nh q[0];\n", 3, 11, "';'", id="qasm3-missing-semicolon"),
    pytest.param("openqasm.v3", "qubit[2] q;\nh q[0] // x\n\n", 4, 7, "';'", id="qasm3-missing-semicolon-at-eof"),
    pytest.param("openqasm.v3", "qubit[2] q;\nh q[0] $;\n", 4, 8, "`$`", id="qasm3-syntax"),
    pytest.param("openqasm.v3", "qubit[2] q;\nfoo q[0];\n", 4, 1, "foo", id="qasm3-undefined-gate"),
    pytest.param("openqasm.v3", "qubit[2] q;\n  cx q[0];\n", 4, 3, "2 qubit arguments", id="qasm3-arity"),
    # "  cx q[0], q[5];": the operand q[5] starts at column 12.
    pytest.param("openqasm.v3", "qubit[2] q;\n  cx q[0], q[5];\n", 4, 12, "out of range", id="qasm3-qubit-range"),
]


@pytest.mark.parametrize(("input_format", "body", "line", "column", "fragment"), TEXT_DEFECTS)
def test_text_diagnostics_have_line_and_column(
    input_format: str, body: str, line: int, column: int, fragment: str
) -> None:
    header = QASM3_HEADER if input_format == "openqasm.v3" else QASM2_HEADER
    with pytest.raises(InvalidProgramError) as caught:
        inspect_program((header + body).encode(), input_format)
    assert type(caught.value) is InvalidProgramError
    first = caught.value.diagnostics[0]
    assert (first.line, first.column) == (line, column)
    assert fragment in first.message
    assert f"line {line}, column {column}" in caught.value.message


def test_missing_semicolon_after_header() -> None:
    with pytest.raises(InvalidProgramError) as caught:
        inspect_program(b'OPENQASM 2.0\ninclude "qelib1.inc";\n', "openqasm.v2")
    assert (caught.value.diagnostics[0].line, caught.value.diagnostics[0].column) == (1, 13)


def test_qasm2_include_files_are_not_read() -> None:
    with pytest.raises(InvalidProgramError) as caught:
        inspect_program(b'OPENQASM 2.0;\ninclude "/etc/hostname";\n', "openqasm.v2")
    assert (caught.value.diagnostics[0].line, caught.value.diagnostics[0].column) == (2, 9)


@pytest.mark.parametrize("input_format", ["openqasm.v2", "openqasm.v3", "honeywell.openqasm.v1", IONQ], ids=lambda f: f)
def test_non_utf8_is_a_positioned_diagnostic(input_format: str) -> None:
    # "// café " is 8 characters, so the stray 0xff byte is column 9 of line 2.
    data = "OPENQASM 2.0;\n// café ".encode() + b"\xff\n"
    with pytest.raises(InvalidProgramError) as caught:
        inspect_program(data, input_format)
    assert caught.value.diagnostics == (
        Diagnostic(
            code="InvalidEncoding",
            message="byte 0xff is not valid UTF-8; programs must be UTF-8 text",
            line=2,
            column=9,
        ),
    )


IONQ_DEFECTS = [
    pytest.param({"qubits": 2, "circuit": [{"gate": "cnot", "targets": [1]}]}, "circuit[0].gate", id="unknown-gate"),
    pytest.param(
        {
            "qubits": 2,
            "circuit": [
                {"gate": "h", "targets": [0]},
                {"gate": "h", "targets": [0]},
                {"gate": "x", "targets": [2]},
            ],
        },
        "circuit[2].targets[0]",
        id="target-out-of-range",
    ),
    pytest.param(
        {"qubits": 2, "circuit": [{"gate": "x", "targets": [1], "controls": [0, 7]}]},
        "circuit[0].controls[1]",
        id="control-out-of-range",
    ),
    pytest.param(
        {"qubits": 2, "circuit": [{"gate": "x", "targets": [1], "controls": [1]}]},
        "circuit[0].controls[0]",
        id="control-equals-target",
    ),
    pytest.param({"qubits": 2, "circuit": [{"gate": "rx", "targets": [1]}]}, "circuit[0]", id="missing-rotation"),
    pytest.param(
        {"qubits": 2, "circuit": [{"gate": "h", "targets": [1], "rotation": 0.1}]},
        "circuit[0].rotation",
        id="rotation-not-allowed",
    ),
    pytest.param(
        {"qubits": 2, "circuit": [{"gate": "rz", "targets": [1], "rotation": "pi"}]},
        "circuit[0].rotation",
        id="rotation-not-a-number",
    ),
    pytest.param({"qubits": 2, "circuit": [{"gate": "swap", "targets": [1]}]}, "circuit[0].targets", id="swap-arity"),
    pytest.param(
        {"qubits": 3, "circuit": [{"gate": "swap", "targets": [1, 2], "controls": [0]}]},
        "circuit[0].controls",
        id="controls-not-allowed",
    ),
    pytest.param(
        {"qubits": 2, "circuit": [{"gate": "h", "targets": [0], "target": 0}]},
        "circuit[0].target",
        id="unknown-key",
    ),
    pytest.param({"qubits": 2, "circuit": [{"gate": "h", "targets": [-1]}]}, "circuit[0].targets[0]", id="negative"),
    pytest.param(
        {"qubits": 2, "circuit": [{"gate": "h", "targets": [0.0]}]}, "circuit[0].targets[0]", id="float-index"
    ),
    pytest.param({"qubits": 2, "circuit": [{"gate": "h", "targets": []}]}, "circuit[0].targets", id="no-targets"),
    pytest.param({"qubits": 0, "circuit": []}, "qubits", id="zero-qubits"),
    pytest.param({"qubits": 65, "circuit": []}, "qubits", id="too-many-qubits"),
    pytest.param({"qubits": True, "circuit": []}, "qubits", id="boolean-qubits"),
    pytest.param({"qubits": 1}, "circuit", id="missing-circuit"),
    pytest.param({"qubits": 1, "circuit": [], "shots": 5}, "shots", id="unknown-top-level-key"),
    pytest.param({"gateset": "foo", "qubits": 1, "circuit": []}, "gateset", id="unknown-gateset"),
    pytest.param([], None, id="not-an-object"),
]


@pytest.mark.parametrize(("document", "path"), IONQ_DEFECTS)
def test_ionq_diagnostics_have_json_paths(document: object, path: str | None) -> None:
    with pytest.raises(InvalidProgramError) as caught:
        inspect_program(json.dumps(document).encode(), IONQ)
    assert type(caught.value) is InvalidProgramError
    assert [d.path for d in caught.value.diagnostics] == [path]


def test_ionq_nan_rotation_is_rejected() -> None:
    data = b'{"qubits": 1, "circuit": [{"gate": "rx", "targets": [0], "rotation": NaN}]}'
    with pytest.raises(InvalidProgramError) as caught:
        inspect_program(data, IONQ)
    assert caught.value.diagnostics[0].path == "circuit[0].rotation"


def test_ionq_json_syntax_error_has_line_and_column() -> None:
    # Line 3 is '    {"gate": "h" "targets": [0]}': the second string starts at column 18.
    data = b'{"qubits": 2,\n  "circuit": [\n    {"gate": "h" "targets": [0]}\n]}'
    with pytest.raises(InvalidProgramError) as caught:
        inspect_program(data, IONQ)
    first = caught.value.diagnostics[0]
    assert (first.code, first.line, first.column, first.path) == ("InvalidJson", 3, 18, None)


def test_several_ionq_defects_are_all_reported() -> None:
    document = {"qubits": 1, "circuit": [{"gate": "x", "targets": [3]}, {"gate": "q", "targets": [0]}]}
    with pytest.raises(InvalidProgramError) as caught:
        inspect_program(json.dumps(document).encode(), IONQ)
    assert [d.path for d in caught.value.diagnostics] == ["circuit[0].targets[0]", "circuit[1].gate"]
    assert "(and 1 more)" in caught.value.message


@pytest.mark.parametrize(
    ("call", "named"),
    [
        pytest.param(lambda: inspect_program(b"", "acme.pulses.v9"), "acme.pulses.v9", id="inspect"),
        pytest.param(lambda: translate_program(b"", "acme.pulses.v9", IONQ), "acme.pulses.v9", id="translate-input"),
        pytest.param(
            lambda: translate_program(QASM2_HEADER.encode(), "openqasm.v2", "qir.v1"), "qir.v1", id="translate-output"
        ),
    ],
)
def test_unknown_formats(call: Callable[[], object], named: str) -> None:
    with pytest.raises(UnsupportedFormatError, match=f"'{named}'"):
        call()


# --- translation corpus --------------------------------------------------------------------------

CORPUS = {
    "bell": "qreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n",
    "ghz3": "qreg q[3];\ncreg c[3];\nh q[0];\ncx q[0],q[1];\ncx q[1],q[2];\nmeasure q -> c;\n",
    "rotations": "qreg q[3];\nrx(0.3) q[0];\nry(-1.2) q[1];\nrz(pi/5) q[2];\nu3(0.1,0.2,0.3) q[0];\n"
    "cu1(pi/3) q[1],q[2];\n",
    "clifford-t": "qreg q[2];\nh q[0];\ns q[0];\nsdg q[1];\nt q[0];\ntdg q[1];\nsx q[0];\nsxdg q[1];\ncx q[1],q[0];\n",
    "swap": "qreg q[2];\nx q[0];\nry(0.4) q[1];\nswap q[0],q[1];\n",
    "ccx": "qreg q[3];\nh q[0];\nh q[1];\nccx q[0],q[1],q[2];\n",
    "cz": "qreg q[2];\nh q[0];\nh q[1];\ncz q[0],q[1];\n",
    "rzz-rxx": "qreg q[2];\nh q[0];\nrzz(0.7) q[0],q[1];\nrxx(0.2) q[1],q[0];\n",
    "registers-and-decomposed-gates": "qreg a[1];\nqreg b[2];\ncreg m[3];\nh a[0];\nbarrier a[0],b[0];\n"
    "ch a[0],b[1];\ncrz(0.9) b[1],b[0];\ncswap a[0],b[0],b[1];\nid b[0];\n"
    "measure a[0] -> m[0];\nmeasure b[0] -> m[1];\n",
}


def corpus_source(name: str, input_format: str) -> bytes:
    qasm2 = QASM2_HEADER + CORPUS[name]
    if input_format == "openqasm.v3":
        return str(qiskit.qasm3.dumps(circuit_from_qasm2(qasm2))).encode()
    return qasm2.encode()


TEXT_FORMATS = ["openqasm.v2", "honeywell.openqasm.v1", "openqasm.v3"]
CORPUS_CASES = [pytest.param(name, fmt, id=f"{name}-{fmt}") for name in CORPUS for fmt in TEXT_FORMATS]


@pytest.mark.parametrize(("name", "input_format"), CORPUS_CASES)
def test_translation_to_ionq_keeps_the_unitary(name: str, input_format: str) -> None:
    reference = circuit_from_qasm2(QASM2_HEADER + CORPUS[name])
    output = translate_program(corpus_source(name, input_format), input_format, IONQ)
    document = json.loads(output)
    assert document["gateset"] == "qis"
    assert document["qubits"] == reference.num_qubits
    assert same_unitary(circuit_from_ionq(output), reference)


@pytest.mark.parametrize(("name", "input_format"), CORPUS_CASES)
def test_translation_to_openqasm2_keeps_the_unitary(name: str, input_format: str) -> None:
    reference = circuit_from_qasm2(QASM2_HEADER + CORPUS[name])
    output = circuit_from_qasm2(translate_program(corpus_source(name, input_format), input_format, HONEYWELL))
    assert same_unitary(output, reference)
    assert output.count_ops().get("measure", 0) == reference.count_ops().get("measure", 0)


def test_openqasm2_passes_through_unchanged() -> None:
    source = (QASM2_HEADER + "// kept as written\nqreg q[1];\nh q[0];\n").encode()
    assert translate_program(source, "openqasm.v2", HONEYWELL) == source
    assert translate_program(source, HONEYWELL, HONEYWELL) == source


def test_openqasm2_pass_through_still_validates() -> None:
    with pytest.raises(InvalidProgramError):
        translate_program((QASM2_HEADER + "qreg q[1];\nh q[3];\n").encode(), "openqasm.v2", HONEYWELL)


IONQ_CORPUS = {
    "bell": '{"qubits":2,"circuit":[{"gate":"h","targets":[0]},{"gate":"x","targets":[1],"controls":[0]}]}',
    "every-qis-gate": json.dumps(
        {
            "qubits": 3,
            "circuit": [
                {"gate": name, "targets": [0, 1] if name in ("swap", "xx", "yy", "zz") else [2]}
                | ({"rotation": 0.1 * (i + 1)} if name in ("rx", "ry", "rz", "xx", "yy", "zz") else {})
                for i, name in enumerate(QIS_GATES)
            ],
        }
    ),
    "controlled": json.dumps(
        {
            "qubits": 4,
            "circuit": [
                {"gate": "h", "targets": [0]},
                {"gate": "h", "targets": [1]},
                {"gate": "h", "targets": [2]},
                {"gate": "x", "targets": [3], "controls": [0, 1, 2]},
                {"gate": "z", "targets": [0], "controls": [3]},
                {"gate": "rz", "targets": [1], "controls": [0], "rotation": 0.3},
                {"gate": "h", "targets": [2], "controls": [1]},
                {"gate": "v", "targets": [3], "controls": [2]},
            ],
        }
    ),
}


@pytest.mark.parametrize("name", IONQ_CORPUS)
def test_ionq_translates_to_openqasm2_with_final_measurement(name: str) -> None:
    source = IONQ_CORPUS[name].encode()
    output = circuit_from_qasm2(translate_program(source, IONQ, HONEYWELL))
    reference = circuit_from_ionq(source)
    assert same_unitary(output, reference)
    assert [(r.name, r.size) for r in output.cregs] == [("c", reference.num_qubits)]
    assert output.count_ops()["measure"] == reference.num_qubits


@pytest.mark.parametrize("name", IONQ_CORPUS)
def test_ionq_round_trip_through_the_circuit_keeps_the_unitary(name: str) -> None:
    source = IONQ_CORPUS[name].encode()
    qasm2 = translate_program(source, IONQ, HONEYWELL)
    assert same_unitary(circuit_from_ionq(translate_program(qasm2, HONEYWELL, IONQ)), circuit_from_ionq(source))


def test_ionq_to_ionq_is_canonical() -> None:
    source = b"""{"circuit": [
        {"rotation": 1, "targets": [0], "gate": "rx"},
        {"gate": "x", "controls": [], "targets": [1]},
        {"gate": "x", "targets": [1], "controls": [0]}
    ], "qubits": 2}"""
    assert translate_program(source, IONQ, IONQ) == (
        b'{"gateset":"qis","qubits":2,"circuit":[{"gate":"rx","targets":[0],"rotation":1.0},'
        b'{"gate":"x","targets":[1]},{"gate":"x","targets":[1],"controls":[0]}]}'
    )


def test_gates_already_in_the_qis_set_are_kept_as_written() -> None:
    source = (QASM2_HEADER + "qreg q[4];\nsdg q[0];\ntdg q[1];\nsxdg q[2];\nc3x q[0],q[1],q[2],q[3];\n").encode()
    document = json.loads(translate_program(source, "openqasm.v2", IONQ))
    assert document["circuit"] == [
        {"gate": "si", "targets": [0]},
        {"gate": "ti", "targets": [1]},
        {"gate": "vi", "targets": [2]},
        {"gate": "x", "targets": [3], "controls": [0, 1, 2]},
    ]


def test_open_controls_are_decomposed_for_ionq() -> None:
    source = QASM3_HEADER + "qubit[3] q;\nh q[0];\nnegctrl @ x q[0], q[1];\nctrl(2) @ x q[0], q[1], q[2];\n"
    output = translate_program(source.encode(), "openqasm.v3", IONQ)
    assert same_unitary(circuit_from_ionq(output), qiskit.qasm3.loads(source))


# --- programs a target cannot express ------------------------------------------------------------

UNSUPPORTED = [
    pytest.param(
        "openqasm.v2",
        QASM2_HEADER + "qreg q[2];\ncreg c[2];\nmeasure q[0] -> c[0];\nx q[0];\n",
        IONQ,
        "qubit q[0] is measured and then used by 'x'",
        id="mid-circuit-measurement",
    ),
    pytest.param(
        "openqasm.v2",
        QASM2_HEADER + "qreg q[2];\nh q[1];\nreset q[1];\n",
        IONQ,
        "reset of qubit q[1]",
        id="reset",
    ),
    pytest.param(
        "honeywell.openqasm.v1",
        QASM2_HEADER + "qreg q[2];\ncreg c[1];\nmeasure q[0] -> c[0];\nif(c==1) x q[1];\n",
        IONQ,
        "classical control flow ('if_else')",
        id="classical-condition",
    ),
    pytest.param(
        "openqasm.v3",
        QASM3_HEADER + "input float[64] theta;\nqubit[1] q;\nrx(theta) q[0];\n",
        IONQ,
        "unbound input parameters (theta)",
        id="parameters-to-ionq",
    ),
    pytest.param(
        "openqasm.v3",
        QASM3_HEADER + "input float[64] theta;\nqubit[1] q;\nrx(theta) q[0];\n",
        HONEYWELL,
        "unbound input parameters (theta)",
        id="parameters-to-openqasm2",
    ),
    pytest.param(
        "openqasm.v3",
        QASM3_HEADER + "qubit[1] q;\nfor int i in [0:2] { x q[0]; }\n",
        HONEYWELL,
        "cannot be written as OpenQASM 2",
        id="loop-to-openqasm2",
    ),
    pytest.param(
        "openqasm.v2",
        QASM2_HEADER + "qreg q[65];\nh q[64];\n",
        IONQ,
        "1 to 64 qubits",
        id="too-wide-for-ionq",
    ),
    pytest.param("openqasm.v2", QASM2_HEADER, IONQ, "this program has 0", id="no-qubits"),
    pytest.param(
        "openqasm.v2",
        QASM2_HEADER + "opaque magic a;\nqreg q[1];\nmagic q[0];\n",
        IONQ,
        "no qis decomposition",
        id="opaque-gate",
    ),
    pytest.param(
        "openqasm.v3",
        QASM3_HEADER + "#pragma noise off\nqubit[1] q;\n",
        HONEYWELL,
        "Pragma is not supported",
        id="qasm3-feature-qiskit-cannot-import",
    ),
]


@pytest.mark.parametrize(("input_format", "source", "output_format", "fragment"), UNSUPPORTED)
def test_unsupported_programs_say_why(input_format: str, source: str, output_format: str, fragment: str) -> None:
    with pytest.raises(UnsupportedProgramError) as caught:
        translate_program(source.encode(), input_format, output_format)
    assert fragment in caught.value.message
    assert caught.value.diagnostics


def test_final_measurements_and_barriers_are_dropped_for_ionq() -> None:
    source = (QASM2_HEADER + "qreg q[2];\ncreg c[2];\nh q[0];\nbarrier q;\nmeasure q[0] -> c[1];\nh q[1];\n").encode()
    document = json.loads(translate_program(source, "openqasm.v2", IONQ))
    assert document == {
        "gateset": "qis",
        "qubits": 2,
        "circuit": [{"gate": "h", "targets": [0]}, {"gate": "h", "targets": [1]}],
    }

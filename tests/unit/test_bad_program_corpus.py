"""A corpus of broken programs, per input format: each gets a positioned diagnostic; submitted, a Failed job, unqueued.

Every entry names where its defect is: a 1-based (line, column) in a text program, or a JSON path in IonQ
JSON or a pulse sequence; the first diagnostic must point exactly there, and every diagnostic must carry a position.
The cases test_programs.py, test_quil.py, test_qir.py and test_ionq_native.py already pin are not repeated.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulser
import pytest

from shared.domain.catalog import TargetSpec, load_catalog
from shared.domain.errors import InvalidProgramError, UnsupportedProgramError
from shared.domain.jobs import JobStatus
from shared.programs.translate import QiskitPrograms, qubit_limit_diagnostic
from shared.services.pipeline import error_data
from shared.services.submit import submit_job
from shared.services.validate import check_program
from tests.fakes import make_pipeline
from tests.unit.test_qir import ll
from tests.unit.test_services import sent, submission, upload

QASM2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'  # lines 1 and 2
QASM3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'
H = "  call void @__quantum__qis__h__body(ptr null)\n"  # line 3 of an `ll` module (line 1 defines, 2 is `entry:`)
RET = "  ret i64 0\n"
QIR_BELL = ll("entry:\n" + H + "  call void @__quantum__qis__cx__body(ptr null, ptr inttoptr (i64 1 to ptr))\n" + RET)

CATALOG = load_catalog()


@dataclass(frozen=True)
class Broken:
    name: str
    input_format: str
    program: bytes
    at: tuple[int, int] | str  # (line, column), or the JSON path
    words: str
    target: str | None = None  # a target the program is too big for; otherwise the first that takes the format
    error: type[InvalidProgramError] = InvalidProgramError


def _error(too_big_for: str | None) -> type[InvalidProgramError]:
    return InvalidProgramError if too_big_for is None else UnsupportedProgramError


def qasm2(name: str, body: str, at: tuple[int, int], words: str, target: str | None = None) -> Broken:
    return Broken(name, "openqasm.v2", (QASM2 + body).encode(), at, words, target, _error(target))


def honeywell(name: str, body: str, at: tuple[int, int], words: str) -> Broken:
    return Broken(name, "honeywell.openqasm.v1", (QASM2 + body).encode(), at, words)


def qasm3(name: str, body: str, at: tuple[int, int], words: str) -> Broken:
    return Broken(name, "openqasm.v3", (QASM3 + body).encode(), at, words)


def quil(name: str, text: str | bytes, at: tuple[int, int], words: str, target: str | None = None) -> Broken:
    data = text if isinstance(text, bytes) else text.encode()
    return Broken(name, "rigetti.quil.v1", data, at, words, target, _error(target))


def qir(
    name: str, program: bytes, at: tuple[int, int], words: str, error: type[InvalidProgramError] = InvalidProgramError
) -> Broken:
    return Broken(name, "qir.v1", program, at, words, error=error)


def ionq(name: str, text: str, at: tuple[int, int] | str, words: str, target: str | None = None) -> Broken:
    return Broken(name, "ionq.circuit.v1", text.encode(), at, words, target, _error(target))


def pulser_sequence(change: Callable[[dict[str, Any]], object], device: str = "AnalogDevice") -> bytes:
    """Two atoms 6 µm apart and one pulse on the global channel (pulser's own serialization), then `change`d."""
    seq = pulser.Sequence(pulser.Register({"q0": (0.0, 0.0), "q1": (6.0, 0.0)}), getattr(pulser, device))
    seq.declare_channel("ch", "rydberg_global")
    seq.add(pulser.Pulse.ConstantPulse(100, 1.0, 0.0, 0.0), "ch")
    document: dict[str, Any] = json.loads(seq.to_abstract_repr())
    change(document)
    return json.dumps({"sequence_builder": json.dumps(document)}).encode()


def pulser_entry(name: str, program: bytes, at: str, words: str, target: str | None = None) -> Broken:
    return Broken(name, "pasqal.pulser.v1", program, at, words, target, _error(target))


CORPUS = [
    # "cx q[0] q[1];": the comma is missing before q[1], at column 9 (qiskit itself reports column 1).
    qasm2("syntax", "qreg q[2];\nh q[0];\ncx q[0] q[1];\n", (5, 9), "end of the argument list"),
    qasm2("unknown-gate", "qreg q[1];\nhadamard q[0];\n", (4, 1), "'hadamard' is not defined"),
    qasm2("arity", "qreg q[3];\nccx q[0], q[1];\n", (4, 1), "takes 3 quantum arguments, but got 2"),
    qasm2("undeclared-register", "qreg q[2];\nmeasure q[0] -> c[0];\n", (4, 17), "'c' is not defined"),
    qasm2("index-out-of-range", "qreg q[2];\ncx q[0], q[2];\n", (4, 12), "out-of-range"),
    Broken("empty", "openqasm.v2", b"", (1, 1), "empty"),
    Broken("only-comments", "openqasm.v2", b"// nothing to run\n\n", (1, 1), "empty"),
    # Cut after "cx q[0],": the next argument belongs at column 9.
    qasm2("truncated", "qreg q[2];\nh q[0];\ncx q[0],", (5, 9), "end-of-file"),
    Broken("truncated-header", "openqasm.v2", b'OPENQASM 2.0;\ninclude "qeli', (2, 14), "end-of-file"),
    qasm2("too-many-qubits", "qreg q[40];\nh q[39];\n", (3, 1), "40 qubits", target="quantinuum.sim.h2-1e"),
    honeywell("syntax-in-condition", "qreg q[1];\ncreg c[1];\nif(c==) x q[0];\n", (5, 7), "needed an integer"),
    honeywell("undeclared-in-condition", "qreg q[1];\nif(d==1) x q[0];\n", (4, 4), "'d' is not defined"),
    honeywell("undeclared-in-barrier", "qreg q[2];\nbarrier r;\n", (4, 9), "'r' is not defined"),
    honeywell("reset-out-of-range", "qreg q[2];\nreset q[3];\n", (4, 9), "out-of-range"),
    honeywell("register-slice", "qreg q[2];\ncreg c[2];\nmeasure q -> c[0:1];\n", (5, 17), "':'"),
    honeywell("redeclared-register", "qreg q[2];\nqreg q[1];\n", (4, 6), "already defined"),
    Broken("truncated", "honeywell.openqasm.v1", b"OPENQASM 2", (1, 11), "end-of-file"),
    # qdk: "h q[0]);" has a stray ')' right where the ';' belongs.
    qasm3("syntax", "qubit[2] q;\nh q[0]);\n", (4, 7), "';'"),
    qasm3("unknown-gate", "qubit[1] q;\nhh q[0];\n", (4, 1), "undefined symbol: hh"),
    qasm3("arity", "qubit[3] q;\nccx q[0], q[1];\n", (4, 1), "3 qubit arguments, but 2"),
    qasm3("undeclared-qubits", "qubit[1] q;\nh r[0];\n", (4, 3), "undefined symbol: r"),
    qasm3("undeclared-bits", "qubit[1] q;\nd[0] = measure q[0];\n", (4, 1), "undefined symbol: d"),
    qasm3("index-out-of-range", "qubit[2] q;\nbit[2] c;\nc[3] = measure q[0];\n", (5, 1), "index out of range"),
    qasm3("truncated", "qubit[2] q;\nh q[0];\ncx q[0],", (5, 9), "';'"),
    Broken("empty", "openqasm.v3", b"", (1, 1), "empty"),
    Broken("only-comments", "openqasm.v3", b"// nothing\n/* at all */\n", (1, 1), "empty"),
    quil("syntax", "H 0\nCNOT 0 1\nRX(0.5 1\n", (3, 3), "expected a command or a gate"),
    quil("truncated", "DECLARE ro BIT[2]\nH 0\nMEASURE 1 ro[", (3, 13), "expected a command or a gate"),
    quil("non-utf8", b"H 0\n# caf\xe9\n", (2, 6), "0xe9 is not valid UTF-8"),
    quil("arity", "H 0\nSWAP 0\n", (2, 1), "SWAP takes 2 qubit(s) here, got 1"),
    quil("undeclared-region", "DECLARE ro BIT[1]\nH 0\nMEASURE 0 c[0]\n", (3, 1), "not DECLAREd"),
    quil("unknown-gate-indented", "X 0\n  XX 0 1\n", (2, 3), "unknown gate XX"),
    quil("index-out-of-range", "DECLARE ro BIT[2]\nH 0\n  MEASURE 1 ro[2]  # off by one\n", (3, 3), "out of range"),
    quil("empty", "", (1, 1), "empty"),
    quil("only-comments", "# nothing to run\n", (1, 1), "empty"),
    quil("too-many-qubits", "H 0\nCNOT 0 25\n", (2, 1), "26 qubits", target="rigetti.sim.qvm"),
    # LLVM reports the missing ')' at the next token ("ret", line 4); it belongs after "ptr null" on line 3.
    qir("syntax", ll("entry:\n" + H.replace("null)", "null") + RET), (3, 46), "expected ','"),
    qir("truncated", QIR_BELL[: QIR_BELL.index(b"ret i64")], (5, 3), "end of file"),
    qir(
        "unknown-gate",
        ll("entry:\n  call void @__quantum__qis__foo__body(ptr null)\n" + RET),
        (3, 13),
        "undefined value '@__quantum__qis__foo__body'",
    ),
    qir(
        "unsupported-gate",
        ll(
            "entry:\n" + H + "  call void @__quantum__qis__foo__body(ptr null)\n" + RET,
            declarations="declare void @__quantum__qis__foo__body(ptr)\n",
        ),
        (4, 3),
        "the gate 'foo' is not supported",
        UnsupportedProgramError,
    ),
    qir("arity", ll("entry:\n  call void @__quantum__qis__rz__body(ptr null)\n" + RET), (3, 3), "expected 2 arguments"),
    qir(
        "qubit-out-of-range",
        ll("entry:\n" + H + "  call void @__quantum__qis__x__body(ptr inttoptr (i64 2 to ptr))\n" + RET),
        (4, 3),
        "qubit 2 is used, but the entry point declares required_num_qubits=2",
    ),
    qir(
        "same-qubit-twice",
        ll("entry:\n" + H + "  call void @__quantum__qis__cx__body(ptr null, ptr null)\n" + RET),
        (4, 3),
        "same qubit twice",
    ),
    qir("empty", b"", (1, 1), "empty"),
    qir("non-utf8", b"; \xff\n", (1, 3), "0xff is not valid UTF-8"),
    ionq("empty", "", (1, 1), "Expecting value"),
    ionq("truncated", '{"qubits": 2, "circuit": [{"gate": "h", "targets": [0]}', (1, 56), "Expecting ',' delimiter"),
    # Line 3 is '  {"gate": "h", "targets": [0],}': the '}' after the trailing comma is column 32.
    ionq("syntax", '{"qubits": 2,\n "circuit": [\n  {"gate": "h", "targets": [0],}\n ]}', (3, 32), "property name"),
    ionq("arity", '{"qubits": 2, "circuit": [{"gate": "x", "targets": [0, 1]}]}', "circuit[0].targets", "1 target(s)"),
    ionq(
        "native-arity",
        '{"gateset": "native", "qubits": 3, "circuit": [{"gate": "zz", "targets": [0, 1, 2], "angle": 0.1}]}',
        "circuit[0].targets",
        "takes 2 targets, got 3",
    ),
    ionq(
        "native-qubit-out-of-range",
        '{"gateset": "native", "qubits": 2, "circuit": [{"gate": "gpi", "target": 5, "phase": 0.1}]}',
        "circuit[0].target",
        "qubit 5 is out of range",
    ),
    ionq(
        "native-gate-in-qis-program",
        '{"qubits": 1, "circuit": [{"gate": "h", "targets": [0]}, {"gate": "gpi2", "target": 0, "phase": 0.5}]}',
        "circuit[1].gate",
        "'gpi2' is a native gate",
    ),
    ionq(
        "too-many-qubits",
        '{"qubits": 40, "circuit": [{"gate": "h", "targets": [39]}]}',
        "qubits",
        "40 qubits",
        target="ionq.simulator",
    ),
    pulser_entry("no-sequence-builder", b'{"sequence": "{}"}', "sequence_builder", "sequence_builder is the"),
    pulser_entry(
        "inner-json", b'{"sequence_builder": "{\\"register\\": ["}', "sequence_builder", "sequence_builder's text"
    ),
    pulser_entry(
        "schema",
        pulser_sequence(lambda d: d["operations"][0].update(protocol="eventually")),
        "sequence_builder.operations[0].protocol",
        "'eventually' is not one of",
    ),
    pulser_entry(
        "atoms-too-close",
        pulser_sequence(lambda d: d["register"][1].update(x=4.0)),
        "sequence_builder.register[1]",
        "4 µm apart",
    ),
    pulser_entry(
        "variables",
        pulser_sequence(lambda d: d.update(variables={"omega": {"type": "float", "value": [0.0]}})),
        "sequence_builder.variables",
        "declares variables (omega)",
    ),
    pulser_entry(
        "no-pulse", pulser_sequence(lambda d: d.update(operations=[])), "sequence_builder.operations", "no pulse"
    ),
    pulser_entry(
        "past-fresnel-amplitude",
        pulser_sequence(lambda d: d["operations"][0]["amplitude"].update(value=20.0), device="MockDevice"),
        "sequence_builder.operations[0].amplitude",
        "Fresnel's rydberg_global channel allows at most 12.5664 rad/µs",
        target="pasqal.qpu.fresnel",
    ),
]


def target_for(entry: Broken) -> TargetSpec:
    if entry.target is not None:
        return CATALOG.target(CATALOG.provider_of(entry.target).id, entry.target)
    return next(t for p in CATALOG.providers for t in p.targets if entry.input_format in t.input_formats)


def case(entry: Broken) -> pytest.ParameterSet:
    return pytest.param(entry, id=f"{entry.input_format}-{entry.name}")


def test_every_format_has_a_corpus_of_at_least_six() -> None:
    formats = {t for p in CATALOG.providers for target in p.targets for t in target.input_formats}
    formats.discard("microsoft.quantum-log.v1")  # the echo target's log is any bytes: there is nothing to break
    assert {fmt: sum(e.input_format == fmt for e in CORPUS) >= 6 for fmt in formats} == dict.fromkeys(formats, True)


@pytest.mark.parametrize("entry", [case(entry) for entry in CORPUS])
def test_a_broken_program_gets_a_diagnostic_at_its_defect(entry: Broken) -> None:
    with pytest.raises(InvalidProgramError) as caught:
        check_program(QiskitPrograms(), entry.program, entry.input_format, target_for(entry))
    assert type(caught.value) is entry.error
    diagnostics = caught.value.diagnostics
    assert diagnostics, caught.value.message
    assert all((d.line is not None and d.column is not None) or d.path is not None for d in diagnostics)
    first = diagnostics[0]
    assert (first.path if isinstance(entry.at, str) else (first.line, first.column)) == entry.at
    assert entry.words in first.message


@pytest.mark.parametrize("entry", [pytest.param(entry, id=f"{entry.input_format}-{entry.name}") for entry in CORPUS])
def test_submitting_a_broken_program_makes_a_failed_job_with_the_diagnostic_and_queues_nothing(entry: Broken) -> None:
    p = make_pipeline()
    target = target_for(entry)
    upload(p, "j1", entry.program)
    request = submission(
        providerId=CATALOG.provider_of(target.id).id,
        target=target.id,
        inputDataFormat=entry.input_format,
        outputDataFormat=None,
    )
    job = submit_job(p, "j1", request, cause="test").job
    with pytest.raises(InvalidProgramError) as caught:
        check_program(QiskitPrograms(), entry.program, entry.input_format, target)
    assert job.status is JobStatus.FAILED and job.details.error_data is not None
    assert job.details.error_data == error_data(caught.value), "the diagnostics jobs:validate gives"
    assert job.details.error_data.code == entry.error.code
    assert p.jobs.get("j1") == job
    assert sent(p).sent == []


@pytest.mark.parametrize(
    ("input_format", "source", "position"),
    [
        ("openqasm.v3", 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] a;\n// qubit[99] b;\nqubit[30] c;\n', (5, 1)),
        ("honeywell.openqasm.v1", 'OPENQASM 2.0;\ninclude "hqslib1.inc";\nqreg a[20];\nqreg b[20];\n', (4, 1)),
        ("rigetti.quil.v1", "DECLARE ro BIT[30]\nRX(3.14) 1\nMEASURE 1 ro[29]\nMEASURE 21 ro[0]\n", (4, 1)),
    ],
)
def test_the_qubit_limit_points_at_the_declaration_or_use_that_passes_it(
    input_format: str, source: str, position: tuple[int, int]
) -> None:
    found = qubit_limit_diagnostic(source.encode(), input_format, used=99, limit=20)
    assert (found.line, found.column) == position

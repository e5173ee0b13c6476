"""Every program format the service knows, one `ProgramFormat` entry each, in `FORMATS`.

Whatever the rest of the service asks about a format is a field of its entry: its content type, how a
dropped program of its language is recognised, how it is inspected, loaded as a qiskit circuit and
written, and where it declares its qubits. A name that is not registered is an UnsupportedFormatError
from `program_format`, the one place that looks names up. Adding a format is one entry here (and its
parser module) plus the catalog routes that take it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from qiskit import ClassicalRegister, QuantumCircuit
from qiskit.circuit import ControlFlowOp, Gate

from shared.domain.errors import Diagnostic, UnsupportedFormatError, UnsupportedProgramError
from shared.domain.jobs import ProgramSize, two_qubit_equivalents
from shared.ports import ProgramInfo

from .ionq_json import circuit_to_ionq, dump_ionq, ionq_to_circuit, parse_ionq
from .limits import MAX_QUBITS, QubitDeclarations, first_qasm_register_past, first_quil_qubit_past, qir_qubit_attribute
from .openqasm import QASM2_PROGRAM, QASM3_PROGRAM, dump_qasm2, read_qasm2, read_qasm3
from .pulser_json import PULSER_PROGRAM, REGISTER, parse_pulser
from .qir import parse_qir, qir_to_circuit
from .quil import QUIL_PROGRAM, parse_quil
from .text import decode_text


@dataclass(frozen=True, eq=False)
class Language:
    """What formats may share (each language is one object): a program translates to another format of its
    language as written.

    `kind` is what messages call such programs; `recognise(name, head)` tells from a dropped program's
    name and first characters (stripped) that it is in this language, None: it is never guessed.
    """

    kind: str
    recognise: Callable[[str, str], bool] | None = None


@dataclass(frozen=True, kw_only=True)
class ProgramFormat:
    """One program format: everything the service knows about it."""

    name: str
    content_type: str
    language: Language
    inspect: Callable[[bytes, int], ProgramInfo]
    """Validate fully and summarise; a text program using more qubits than given is refused before its circuit is
    built. The gate count is of applications as written; the size (what pricing counts) is of the gates that run."""
    load: Callable[[bytes], QuantumCircuit]
    """The program as a circuit, to translate from."""
    qubits: QubitDeclarations
    """Where the program declares its qubits: the finding for a program with too many points there."""
    keep: Callable[[bytes], bytes] | None = None
    """As an output format: a program of the same language validated, rewritten or as written. None: not an output."""
    write: Callable[[QuantumCircuit], bytes] | None = None
    """As an output format: a circuit from another language, written in this format. None (with `keep`): the format
    passes through unchanged, produced from no other (the provider runs it natively)."""

    @property
    def passes_through(self) -> bool:
        return self.keep is not None and self.write is None


@dataclass(frozen=True)
class _Text:
    """A text format: `read(text, max_qubits)` gives its circuit and, by name, the gates (by width) each
    of its gate definitions expands to."""

    what: str
    read: Callable[[str, int], tuple[QuantumCircuit, Mapping[str, Counter[int]]]]

    def inspect(self, data: bytes, max_qubits: int) -> ProgramInfo:
        circuit, definitions = self.read(decode_text(data, self.what), max_qubits)
        applications, expanded, measured = _gate_widths(circuit, definitions)
        size = _size(expanded, measured)
        return ProgramInfo(int(circuit.num_qubits), int(circuit.num_clbits), applications, size, _is_clifford(circuit))

    def load(self, data: bytes) -> QuantumCircuit:
        return self.read(decode_text(data, self.what), MAX_QUBITS)[0]


def _read_qasm2(text: str, max_qubits: int) -> tuple[QuantumCircuit, Mapping[str, Counter[int]]]:
    circuit, shape = read_qasm2(text, max_qubits)
    return circuit, shape.definitions


def _read_qasm3(text: str, max_qubits: int) -> tuple[QuantumCircuit, Mapping[str, Counter[int]]]:
    circuit, shape = read_qasm3(text, max_qubits)
    return circuit, shape.definitions


def _read_quil(text: str, max_qubits: int) -> tuple[QuantumCircuit, Mapping[str, Counter[int]]]:
    return parse_quil(text, max_qubits), {}


def _inspect_ionq(data: bytes, max_qubits: int) -> ProgramInfo:
    """IonQ programs measure every qubit (clbits = qubits); the format's own limit applies, not `max_qubits`."""
    program = parse_ionq(data)
    widths = [len(gate.qubits) + len(gate.controls) for gate in program.circuit]
    clifford = _is_clifford(ionq_to_circuit(program))
    return ProgramInfo(
        program.qubits, program.qubits, len(program.circuit), _size(Counter(widths), program.qubits), clifford
    )


def _load_ionq(data: bytes) -> QuantumCircuit:
    """An IonQ program (either gateset) with its implicit final measurement of every qubit into `c`."""
    circuit = ionq_to_circuit(parse_ionq(data))
    results = ClassicalRegister(circuit.num_qubits, "c")
    circuit.add_register(results)
    circuit.measure(circuit.qubits, results)
    return circuit


def _normalise_ionq(data: bytes) -> bytes:
    """IonQ JSON in canonical form, in the program's own gateset (IonQ runs native-gate programs as written)."""
    return dump_ionq(parse_ionq(data))


def _inspect_qir(data: bytes, max_qubits: int) -> ProgramInfo:
    """Clbits are the entry point's results; gates exclude measurements and resets. The parser's own limits apply."""
    qir = parse_qir(data)
    size = _size(Counter(qir.gate_widths), qir.measurements)
    clifford = _is_clifford(qir_to_circuit(qir))
    return ProgramInfo(qir.num_qubits, qir.num_results, qir.gate_count, size, clifford, qir.required_profile)


def _load_qir(data: bytes) -> QuantumCircuit:
    return qir_to_circuit(parse_qir(data))


def _inspect_log(data: bytes, max_qubits: int) -> ProgramInfo:
    """A log is any bytes a test target echoes: no qubits, nothing to check."""
    return ProgramInfo(num_qubits=0, num_clbits=0, gate_count=0, clifford=True)


def _load_log(data: bytes) -> QuantumCircuit:
    raise UnsupportedProgramError(
        "A microsoft.quantum-log.v1 input is not a quantum program; it translates to no other format.",
        diagnostics=[Diagnostic(code="NotAProgram", message="a log has no circuit")],
    )


def _inspect_pulser(data: bytes, max_qubits: int) -> ProgramInfo:
    """A neutral-atom sequence: one qubit and one measured bit per atom; its pulses count as its operations."""
    summary = parse_pulser(data, max_qubits).summary
    return ProgramInfo(len(summary.atoms), len(summary.atoms), len(summary.pulses), analog=summary)


def _load_pulser(data: bytes) -> QuantumCircuit:
    raise UnsupportedProgramError(
        f"A {PULSER_PROGRAM} drives atoms with laser pulses; it is no circuit and translates to no other format.",
        diagnostics=[Diagnostic(code="NotACircuit", message="a pulse sequence has no circuit")],
    )


def _keep_pulser(data: bytes) -> bytes:
    parse_pulser(data, MAX_QUBITS)
    return data


def _as_written(load: Callable[[bytes], QuantumCircuit]) -> Callable[[bytes], bytes]:
    """Keep a program as written once `load` has validated it."""

    def keep(data: bytes) -> bytes:
        load(data)
        return data

    return keep


def _write_qasm2(circuit: QuantumCircuit) -> bytes:
    return dump_qasm2(circuit).encode()


def _write_ionq(circuit: QuantumCircuit) -> bytes:
    """IonQ JSON in the qis gateset."""
    return dump_ionq(circuit_to_ionq(circuit))


_PULSER = Language("pulser", lambda name, head: head.startswith("{") and '"sequence_builder"' in head)
_IONQ_JSON = Language("json", lambda name, head: name.endswith(".json") or head.startswith("{"))
_OPENQASM_3 = Language("qasm3", lambda name, head: "OPENQASM 3" in head)
_OPENQASM_2 = Language("qasm2", lambda name, head: "OPENQASM 2" in head)
_QIR = Language("qir")
_QUIL = Language("quil")
_LOG = Language("log")

_QASM2_TEXT = _Text(QASM2_PROGRAM, _read_qasm2)
_QASM3_TEXT = _Text(QASM3_PROGRAM, _read_qasm3)
_QUIL_TEXT = _Text(QUIL_PROGRAM, _read_quil)
_QASM_REGISTERS = QubitDeclarations(first_past=first_qasm_register_past)

# In the order a dropped program is recognised: languages as they first appear; then, of its language's formats,
# the first its target takes.
FORMATS: Mapping[str, ProgramFormat] = {
    entry.name: entry
    for entry in (
        ProgramFormat(
            name="pasqal.pulser.v1",  # {"sequence_builder": "<pulser's abstract representation>"}
            content_type="application/json",
            language=_PULSER,
            inspect=_inspect_pulser,
            load=_load_pulser,
            qubits=QubitDeclarations(path=REGISTER),
            keep=_keep_pulser,
        ),
        ProgramFormat(
            name="ionq.circuit.v1",
            content_type="application/json",
            language=_IONQ_JSON,
            inspect=_inspect_ionq,
            load=_load_ionq,
            qubits=QubitDeclarations(path="qubits"),
            keep=_normalise_ionq,
            write=_write_ionq,
        ),
        ProgramFormat(
            name="openqasm.v3",
            content_type="application/qasm",
            language=_OPENQASM_3,
            inspect=_QASM3_TEXT.inspect,
            load=_QASM3_TEXT.load,
            qubits=_QASM_REGISTERS,
        ),
        ProgramFormat(
            name="honeywell.openqasm.v1",
            content_type="application/qasm",
            language=_OPENQASM_2,
            inspect=_QASM2_TEXT.inspect,
            load=_QASM2_TEXT.load,
            qubits=_QASM_REGISTERS,
            keep=_as_written(_QASM2_TEXT.load),
            write=_write_qasm2,
        ),
        ProgramFormat(
            name="openqasm.v2",
            content_type="application/qasm",
            language=_OPENQASM_2,
            inspect=_QASM2_TEXT.inspect,
            load=_QASM2_TEXT.load,
            qubits=_QASM_REGISTERS,
        ),
        ProgramFormat(
            name="qir.v1",  # LLVM text or bitcode
            content_type="qir.v1",  # what the azure-quantum SDK sends for QIR
            language=_QIR,
            inspect=_inspect_qir,
            load=_load_qir,
            qubits=QubitDeclarations(first_past=qir_qubit_attribute),
            keep=_as_written(_load_qir),
        ),
        ProgramFormat(
            name="rigetti.quil.v1",
            content_type="text/plain",
            language=_QUIL,
            inspect=_QUIL_TEXT.inspect,
            load=_QUIL_TEXT.load,
            qubits=QubitDeclarations(first_past=first_quil_qubit_past),
            keep=_as_written(_QUIL_TEXT.load),
        ),
        ProgramFormat(
            name="microsoft.quantum-log.v1",  # what Microsoft's echo test target takes and returns, as it is
            content_type="application/json",  # what the SDK's generic Target uploads it as
            language=_LOG,
            inspect=_inspect_log,
            load=_load_log,
            qubits=QubitDeclarations(),
            keep=lambda data: data,
        ),
    )
}
INPUT_FORMATS: frozenset[str] = frozenset(FORMATS)
OUTPUT_FORMATS: frozenset[str] = frozenset(name for name, entry in FORMATS.items() if entry.keep is not None)
PASS_THROUGH: frozenset[str] = frozenset(name for name, entry in FORMATS.items() if entry.passes_through)


def program_format(name: str) -> ProgramFormat:
    """The registered format of this name; UnsupportedFormatError naming the known ones otherwise."""
    found = FORMATS.get(name)
    if found is None:
        raise UnsupportedFormatError(f"Unknown program format {name!r}; expected one of {', '.join(sorted(FORMATS))}.")
    return found


def _gate_widths(circuit: QuantumCircuit, definitions: Mapping[str, Counter[int]]) -> tuple[int, Counter[int], int]:
    """Gate applications as written; the gates that run, by width, with each application of a gate the
    program defines counted as the gates of its definition (`definitions`, expanded once per definition);
    and the measurements. The gates inside conditional and loop bodies count once."""
    applications = measured = 0
    widths: Counter[int] = Counter()
    for instruction in circuit.data:
        operation = instruction.operation
        if isinstance(operation, ControlFlowOp):
            for block in operation.blocks:
                inner_applications, inner, inner_measured = _gate_widths(block, definitions)
                applications += inner_applications
                widths += inner
                measured += inner_measured
        elif isinstance(operation, Gate):
            applications += 1
            expanded = definitions.get(str(operation.name))
            widths.update(expanded if expanded is not None else {len(instruction.qubits): 1})
        elif operation.name == "measure":
            measured += 1
    return applications, widths, measured


# Gates that map Pauli operators to Pauli operators, by their qiskit names.
_CLIFFORD_GATES = frozenset(
    {"id", "x", "y", "z", "h", "s", "sdg", "sx", "sxdg", "cx", "cy", "cz", "swap", "iswap", "ecr", "dcx"}
)


def _is_clifford(circuit: QuantumCircuit) -> bool:
    """Whether every gate, in every block, is a Clifford gate (so a stabilizer simulation can run it)."""
    for instruction in circuit.data:
        operation = instruction.operation
        if isinstance(operation, ControlFlowOp):
            if not all(_is_clifford(block) for block in operation.blocks):
                return False
        elif isinstance(operation, Gate) and operation.name not in _CLIFFORD_GATES:
            return False
    return True


def _size(widths: Counter[int], measurements: int) -> ProgramSize:
    return ProgramSize(
        one_qubit_gates=widths[1],
        two_qubit_gates=sum(two_qubit_equivalents(width) * count for width, count in widths.items() if width > 1),
        measurements=measurements,
    )

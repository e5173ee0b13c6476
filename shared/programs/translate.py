"""Inspect and translate programs; every input format goes through a qiskit QuantumCircuit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from qiskit import ClassicalRegister, QuantumCircuit
from qiskit.circuit import ControlFlowOp, Gate

from shared.domain.errors import Diagnostic, UnsupportedFormatError, UnsupportedProgramError
from shared.domain.jobs import ProgramSize, two_qubit_equivalents

from .formats import (
    HONEYWELL_OPENQASM,
    INPUT_FORMATS,
    IONQ_CIRCUIT,
    OPENQASM2,
    OPENQASM3,
    OUTPUT_FORMATS,
    PASS_THROUGH,
    QIR,
    RIGETTI_QUIL,
    ProgramInfo,
    decode_text,
)
from .ionq_json import circuit_to_ionq, dump_ionq, ionq_to_circuit, parse_ionq
from .limits import MAX_QUBITS
from .openqasm import QASM2_PROGRAM, QASM3_PROGRAM, dump_qasm2, read_qasm2, read_qasm3
from .qir import parse_qir, qir_to_circuit
from .quil import QUIL_PROGRAM, parse_quil


def inspect_program(data: bytes, input_format: str, max_qubits: int = MAX_QUBITS) -> ProgramInfo:
    """Validate a program fully and summarise it; IonQ programs measure every qubit (clbits = qubits).

    For QIR, clbits are the entry point's results and gates exclude measurements and resets. A text
    program using more than `max_qubits` qubits is refused before its circuit is built. The gate count
    is of applications as written; the size (what pricing counts) is of the gates that run, with
    every gate definition expanded.
    """
    _check_format(input_format, INPUT_FORMATS, "input")
    if input_format == QIR:
        qir = parse_qir(data)
        size = _size(Counter(qir.gate_widths), qir.measurements)
        clifford = _is_clifford(qir_to_circuit(qir))
        return ProgramInfo(qir.num_qubits, qir.num_results, qir.gate_count, size, clifford, qir.required_profile)
    if input_format == IONQ_CIRCUIT:
        program = parse_ionq(data)
        widths = [len(gate.qubits) + len(gate.controls) for gate in program.circuit]
        clifford = _is_clifford(ionq_to_circuit(program))
        return ProgramInfo(
            program.qubits, program.qubits, len(program.circuit), _size(Counter(widths), program.qubits), clifford
        )
    circuit, definitions = _load_text(data, input_format, max_qubits)
    applications, expanded, measured = _gate_widths(circuit, definitions)
    size = _size(expanded, measured)
    return ProgramInfo(int(circuit.num_qubits), int(circuit.num_clbits), applications, size, _is_clifford(circuit))


def translate_program(data: bytes, input_format: str, output_format: str) -> bytes:
    """Translate to IonQ JSON or OpenQASM 2; same-format translation validates and normalises.

    IonQ JSON to IonQ JSON keeps the program's gateset (IonQ runs native-gate programs as written);
    from other formats IonQ JSON is produced in the qis gateset. QIR and Quil are validated and
    passed through unchanged (the provider runs them natively); they are not produced from other formats.
    """
    _check_format(input_format, INPUT_FORMATS, "input")
    _check_format(output_format, OUTPUT_FORMATS, "output")
    if output_format in PASS_THROUGH:
        if input_format != output_format:
            raise UnsupportedFormatError(
                f"Programs in {input_format!r} cannot be translated to {output_format!r}; "
                f"only {output_format!r} input is run as {output_format!r}."
            )
        inspect_program(data, input_format)
        return data
    if input_format == output_format == IONQ_CIRCUIT:
        return dump_ionq(parse_ionq(data))
    circuit = load_circuit(data, input_format)
    if output_format == HONEYWELL_OPENQASM and input_format in (OPENQASM2, HONEYWELL_OPENQASM):
        return data
    if circuit.parameters:
        names = ", ".join(sorted(str(parameter.name) for parameter in circuit.parameters))
        raise UnsupportedProgramError(
            f"The program has unbound input parameters ({names}); give them values before submitting.",
            diagnostics=[Diagnostic(code="UnboundParameters", message=f"unbound parameters: {names}")],
        )
    if output_format == IONQ_CIRCUIT:
        return dump_ionq(circuit_to_ionq(circuit))
    return dump_qasm2(circuit).encode()


def load_circuit(data: bytes, input_format: str) -> QuantumCircuit:
    """Parse a program; an IonQ program (either gateset) gets its implicit final measurement of every qubit into `c`."""
    _check_format(input_format, INPUT_FORMATS, "input")
    if input_format == QIR:
        return qir_to_circuit(parse_qir(data))
    if input_format == IONQ_CIRCUIT:
        circuit = ionq_to_circuit(parse_ionq(data))
        results = ClassicalRegister(circuit.num_qubits, "c")
        circuit.add_register(results)
        circuit.measure(circuit.qubits, results)
        return circuit
    return _load_text(data, input_format, MAX_QUBITS)[0]


def _load_text(data: bytes, input_format: str, max_qubits: int) -> tuple[QuantumCircuit, Mapping[str, Counter[int]]]:
    """An OpenQASM or Quil program's circuit, and the gates (by width) each of its gate definitions expands to."""
    if input_format == OPENQASM3:
        circuit, shape = read_qasm3(decode_text(data, QASM3_PROGRAM), max_qubits)
        return circuit, shape.definitions
    if input_format == RIGETTI_QUIL:
        return parse_quil(decode_text(data, QUIL_PROGRAM), max_qubits), {}
    circuit, shape = read_qasm2(decode_text(data, QASM2_PROGRAM), max_qubits)
    return circuit, shape.definitions


def _check_format(name: str, known: frozenset[str], role: str) -> None:
    if name not in known:
        expected = ", ".join(sorted(known))
        raise UnsupportedFormatError(f"Unknown {role} format {name!r}; expected one of {expected}.")


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

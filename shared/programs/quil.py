"""Rigetti Quil (`rigetti.quil.v1`): parsed with quil-rs, checked gate by gate, loaded into a circuit.

quil-rs reports syntax errors with a position but accepts wrong arities, unknown gates and undeclared
memory; each instruction is therefore parsed again on its own line so that every finding names its
line and column.

Gate parameters may read REAL or INTEGER memory (parametric Quil): a run fills that memory from
`inputParams.substitutions`, one set of values per run (`memory_sets`); memory nothing fills reads 0.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Gate
from qiskit.circuit.library import (
    CCXGate,
    CPhaseGate,
    CXGate,
    CZGate,
    HGate,
    IGate,
    PhaseGate,
    RXGate,
    RYGate,
    RZGate,
    SGate,
    SwapGate,
    TGate,
    XGate,
    YGate,
    ZGate,
    iSwapGate,
)
from quil.expression import EvaluationError, Expression
from quil.program import Program, ProgramError

from shared.domain.errors import Diagnostic, InvalidRequestError, UnsupportedProgramError

from .limits import MAX_CLASSICAL_BITS, MAX_QUBITS
from .prescan import check_nesting
from .text import invalid_program

QUIL_PROGRAM = "The Quil program"


@dataclass(frozen=True)
class _GateSpec:
    params: int
    qubits: int
    make: Callable[..., Gate]


GATES: dict[str, _GateSpec] = {
    "I": _GateSpec(0, 1, IGate),
    "X": _GateSpec(0, 1, XGate),
    "Y": _GateSpec(0, 1, YGate),
    "Z": _GateSpec(0, 1, ZGate),
    "H": _GateSpec(0, 1, HGate),
    "S": _GateSpec(0, 1, SGate),
    "T": _GateSpec(0, 1, TGate),
    "RX": _GateSpec(1, 1, RXGate),
    "RY": _GateSpec(1, 1, RYGate),
    "RZ": _GateSpec(1, 1, RZGate),
    "PHASE": _GateSpec(1, 1, PhaseGate),
    "CNOT": _GateSpec(0, 2, CXGate),
    "CZ": _GateSpec(0, 2, CZGate),
    "CCNOT": _GateSpec(0, 3, CCXGate),
    "CPHASE": _GateSpec(1, 2, CPhaseGate),
    "SWAP": _GateSpec(0, 2, SwapGate),
    "ISWAP": _GateSpec(0, 2, iSwapGate),
}
MEASURABLE_TYPES = frozenset({"Bit", "Octet"})
PARAMETER_TYPES = frozenset({"Real", "Integer"})  # what gate parameters read and substitutions fill
SUBSTITUTIONS = "inputParams.substitutions"
_SYNTAX = re.compile(r"at line (\d+), column (\d+)[^:]*: (.*)", re.DOTALL)
_UNSUPPORTED_BLOCKS = ("DEFGATE", "DEFCIRCUIT", "DEFCAL", "DEFFRAME", "DEFWAVEFORM", "LABEL", "JUMP")


def parse_quil(
    text: str, max_qubits: int = MAX_QUBITS, memory: Mapping[str, Sequence[float]] | None = None
) -> QuantumCircuit:
    """A circuit with one classical register per declared BIT/OCTET region, named after it.

    Its qubits (the highest index used, plus one) and classical bits are checked against `max_qubits` and
    MAX_CLASSICAL_BITS, and its nesting against the limits of `prescan.py`, before anything is built.
    Gate parameters that read memory take its values from `memory` (a set from `memory_sets`); memory
    it does not fill reads 0.
    """
    code = "\n".join(line.split("#", 1)[0].ljust(len(line)) for line in text.split("\n"))  # comments blanked
    if not code.strip():
        empty = Diagnostic(code="EmptyProgram", message="the program is empty", line=1, column=1)
        raise invalid_program(QUIL_PROGRAM, [empty])
    check_nesting(text, code, per_line=True)
    try:
        program = Program.parse(text)
    except ProgramError as exc:
        raise invalid_program(QUIL_PROGRAM, [_syntax_diagnostic(str(exc))]) from None
    regions = _regions(program)
    values = {
        name: list((memory or {}).get(name, [0.0] * length))
        for name, (data_type, length) in regions.items()
        if data_type in PARAMETER_TYPES
    }
    builder = _Builder(regions, values)
    findings: list[Diagnostic] = []
    declared = 0
    too_wide: tuple[int, int] | None = None  # where the qubits first pass max_qubits
    for number, line in enumerate(text.splitlines(), start=1):
        statement = line.split("#", 1)[0]
        column = len(statement) - len(statement.lstrip()) + 1
        if statement.lstrip().startswith("DECLARE"):
            declared += _measurable_bits(statement, regions)
            if declared > MAX_CLASSICAL_BITS:
                message = f"the program declares {declared} classical bits; the limit is {MAX_CLASSICAL_BITS}"
                raise _too_large("TooManyClassicalBits", message, number, column)
            continue
        if not statement.strip():
            continue
        if statement.lstrip().upper().startswith(_UNSUPPORTED_BLOCKS):
            raise UnsupportedProgramError(
                f"{QUIL_PROGRAM} uses gate or circuit definitions, labels or jumps (line {number}); "
                "only the standard gates, MEASURE, RESET and PRAGMA are supported.",
                diagnostics=[Diagnostic(code="UnsupportedQuil", message="unsupported", line=number, column=column)],
            )
        for instruction in Program.parse(statement).body_instructions:
            problem = builder.add(instruction._0)  # type: ignore[attr-defined]  # the variant's value, not in the stubs
            if problem is not None:
                findings.append(Diagnostic(code="InvalidQuil", message=problem, line=number, column=column))
        if too_wide is None and builder.width > max_qubits:
            too_wide = (number, column)
    if findings:
        raise invalid_program(QUIL_PROGRAM, findings)
    if too_wide is not None:
        message = f"the program uses {builder.width} qubits; the limit is {max_qubits}"
        raise _too_large("TooManyQubits", message, *too_wide)
    return builder.circuit()


def memory_sets(text: str, substitutions: object) -> list[dict[str, list[float]]]:
    """The memory of each run that `inputParams.substitutions` asks for: {region: [value set, ...]}.

    Each named region must be declared REAL or INTEGER (whole numbers) in the program, each value set must
    be as long as the region, and every region must have as many sets as the others; the error names
    `inputParams.substitutions.<region>`. No substitutions is one run with memory at 0.
    """
    if substitutions is None:
        return [{}]
    if not isinstance(substitutions, dict):
        raise InvalidRequestError(f"{SUBSTITUTIONS} must be an object of value sets per region.", target=SUBSTITUTIONS)
    try:
        regions = _regions(Program.parse(text))
    except ProgramError as exc:
        raise invalid_program(QUIL_PROGRAM, [_syntax_diagnostic(str(exc))]) from None
    runs: int | None = None
    columns: dict[str, list[list[float]]] = {}
    for name, sets in substitutions.items():
        path = f"{SUBSTITUTIONS}.{name}"
        data_type, length = regions.get(name, ("", 0))
        if data_type not in PARAMETER_TYPES:
            declared = [n for n, (kind, _) in regions.items() if kind in PARAMETER_TYPES]
            found = f"a {data_type.upper()} region" if data_type else "not DECLAREd"
            raise InvalidRequestError(
                f"{path}: {name} is {found}; substitutions fill REAL or INTEGER memory, which the program declares "
                f"as: {', '.join(declared) or 'none'}.",
                target=path,
            )
        if not isinstance(sets, list) or not sets:
            raise InvalidRequestError(f"{path} must be a non-empty list of value sets.", target=path)
        if runs is not None and len(sets) != runs:
            raise InvalidRequestError(
                f"{path} has {len(sets)} value sets; every region needs the same number ({runs}).", target=path
            )
        runs = len(sets)
        columns[name] = [_value_set(f"{path}[{i}]", values, data_type, length) for i, values in enumerate(sets)]
    return [{name: column[run] for name, column in columns.items()} for run in range(runs or 1)]


def _value_set(path: str, values: object, data_type: str, length: int) -> list[float]:
    if not isinstance(values, list) or len(values) != length:
        raise InvalidRequestError(f"{path} must be a list of {length} values, as the region is declared.", target=path)
    for value in values:
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if isinstance(value, bool) or not isinstance(value, int | float) or (data_type == "Integer" and not whole):
            kind = "whole numbers (INTEGER memory)" if data_type == "Integer" else "numbers"
            raise InvalidRequestError(f"{path} must hold {kind}; got {value!r}.", target=path)
    return [float(value) for value in values]


def _regions(program: Program) -> dict[str, tuple[str, int]]:
    """Each declared memory region's type (`Bit`, `Octet`, `Real`, `Integer`) and length."""
    return {
        name: (str(declaration.size.data_type), int(declaration.size.length))
        for name, declaration in program.declarations.items()
    }


def _memory_read(expression: Expression) -> Iterator[tuple[str, int]]:
    """The memory an expression reads, as (region, index)."""
    if isinstance(expression, Expression.Address):
        yield str(expression._0.name), int(expression._0.index)
    elif isinstance(expression, Expression.Infix):
        yield from _memory_read(expression._0.left)
        yield from _memory_read(expression._0.right)
    elif isinstance(expression, Expression.Prefix | Expression.FunctionCall):
        yield from _memory_read(expression._0.expression)


def _measurable_bits(statement: str, regions: dict[str, tuple[str, int]]) -> int:
    """The bits a DECLARE line adds to the program's classical registers (BIT and OCTET regions only)."""
    name = statement.split()[1] if len(statement.split()) > 1 else ""
    data_type, length = regions.get(name, ("", 0))
    return length if data_type in MEASURABLE_TYPES else 0


def _too_large(code: str, message: str, line: int, column: int) -> UnsupportedProgramError:
    return UnsupportedProgramError(
        f"The program is larger than this service accepts: line {line}, column {column}: {message}.",
        diagnostics=[Diagnostic(code=code, message=message, line=line, column=column)],
    )


class _Builder:
    def __init__(self, regions: dict[str, tuple[str, int]], memory: dict[str, list[float]]) -> None:
        self._regions = regions
        self._memory = memory
        self._steps: list[tuple[str, Gate | None, list[int], tuple[str, int] | None]] = []
        self._width = 0

    def add(self, instruction: object) -> str | None:
        kind = type(instruction).__name__
        if kind == "Gate":
            return self._gate(instruction)
        if kind == "Measurement":
            return self._measure(instruction)
        if kind == "Reset":
            qubit = instruction.qubit  # type: ignore[attr-defined]
            qubits = [] if qubit is None else [int(qubit._0)]
            self._use(qubits)
            self._steps.append(("reset", None, qubits, None))
            return None
        if kind == "Pragma":
            return None
        return f"{kind} instructions are not supported"

    def _gate(self, gate: object) -> str | None:
        name = str(gate.name)  # type: ignore[attr-defined]
        spec = GATES.get(name)
        if spec is None:
            # In the words the QVM uses for it, which clients of rigetti.sim.qvm match on.
            return (
                f"unknown gate {name}: the program could not be executed because the operator {name} is not known "
                f"(known gates: {', '.join(GATES)})"
            )
        modifiers = [str(m) for m in gate.modifiers]  # type: ignore[attr-defined]
        if "Forked" in modifiers:
            return "FORKED is not supported"
        controls = modifiers.count("Controlled")
        qubits = [int(q._0) for q in gate.qubits]  # type: ignore[attr-defined]
        if len(qubits) != spec.qubits + controls:
            return f"{name} takes {spec.qubits + controls} qubit(s) here, got {len(qubits)}"
        if len(set(qubits)) != len(qubits):
            return f"{name} is applied to the same qubit twice"
        parameters = list(gate.parameters)  # type: ignore[attr-defined]
        if len(parameters) != spec.params:
            return f"{name} takes {spec.params} parameter(s), got {len(parameters)}"
        for region, index in (read for p in parameters for read in _memory_read(p)):
            problem = self._readable(region, index)
            if problem is not None:
                return f"{name} reads {problem}"
        try:
            values = [p.evaluate({}, self._memory) for p in parameters]
        except EvaluationError:  # a %variable: Quil programs run here take values through memory only
            return f"the parameters of {name} must be numbers or read REAL or INTEGER memory"
        if any(value.imag for value in values):
            return f"the parameters of {name} must be real"
        operation: Gate = spec.make(*(value.real for value in values))
        for modifier in reversed(modifiers):  # the modifier nearest the gate applies first
            operation = operation.inverse() if modifier == "Dagger" else operation.control(1)
        self._use(qubits)
        self._steps.append(("gate", operation, qubits, None))
        return None

    def _measure(self, measurement: object) -> str | None:
        qubit = int(measurement.qubit._0)  # type: ignore[attr-defined]
        target = measurement.target  # type: ignore[attr-defined]
        self._use([qubit])
        if target is None:
            return None
        region, index = str(target.name), int(target.index)
        if region not in self._regions:
            return f"MEASURE into {region}[{index}], which is not DECLAREd"
        data_type, length = self._regions[region]
        if data_type not in MEASURABLE_TYPES:
            return f"MEASURE into {region}, a {data_type.upper()} region; measure into BIT or OCTET"
        if not 0 <= index < length:
            return f"{region}[{index}] is out of range: {region} has {length} element(s)"
        self._steps.append(("measure", None, [qubit], (region, index)))
        return None

    def _readable(self, region: str, index: int) -> str | None:
        """Why a gate parameter cannot read region[index], or None."""
        if region not in self._regions:
            return f"{region}[{index}], which is not DECLAREd"
        data_type, length = self._regions[region]
        if data_type not in PARAMETER_TYPES:
            return f"{region}, a {data_type.upper()} region; parameters read REAL or INTEGER memory"
        if not 0 <= index < length:
            return f"{region}[{index}], out of range: {region} has {length} element(s)"
        return None

    @property
    def width(self) -> int:
        """The qubits used so far: the highest index, plus one."""
        return self._width

    def _use(self, qubits: list[int]) -> None:
        self._width = max([self._width, *(q + 1 for q in qubits)])

    def circuit(self) -> QuantumCircuit:
        qubits = QuantumRegister(max(self._width, 1), "q")
        registers = {
            name: ClassicalRegister(length, name)
            for name, (data_type, length) in self._regions.items()
            if data_type in MEASURABLE_TYPES
        }
        circuit = QuantumCircuit(qubits, *registers.values())
        for kind, operation, targets, memory in self._steps:
            if isinstance(operation, Gate):
                circuit.append(operation, [qubits[q] for q in targets])
            elif kind == "reset":
                circuit.reset(qubits[:] if not targets else [qubits[q] for q in targets])
            elif memory is not None:
                circuit.measure(qubits[targets[0]], registers[memory[0]][memory[1]])
        return circuit


def _syntax_diagnostic(message: str) -> Diagnostic:
    found = _SYNTAX.search(message)
    if found is None:
        return Diagnostic(code="QuilSyntax", message=message.strip())
    line, column, detail = found.groups()
    return Diagnostic(code="QuilSyntax", message=detail.strip(), line=int(line), column=int(column))

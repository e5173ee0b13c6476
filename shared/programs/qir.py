"""QIR (`qir.v1`, LLVM text or bitcode, base and adaptive profile): safe parsing, circuits and output records.

pyqir can crash the interpreter on unusual input, so QIR is parsed in a child process
(`qir_worker.py`, run as a script) that returns a plain JSON description; a crash, hang or
resource overrun there is an InvalidProgramError here, and this process carries on.

Output records follow the QIR output schema: `tuple_record_output(n)` and `array_record_output(n)`
open a container of the next n records, `result_record_output(r)` records one result. Several
top-level records are read as a tuple; a program that records nothing outputs all its results.

Adaptive-profile programs (measurement results read back, forward branches that nest as if/else,
the i1/integer computation on read results that Adaptive_RI allows) become circuits with
`if_else` blocks whose conditions are expressions on result bits; loops, integer arithmetic and
integer output are refused by the parser with the instruction's position.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from qiskit import QuantumCircuit
from qiskit.circuit import Clbit
from qiskit.circuit.classical import expr
from qiskit.circuit.library import (
    CCXGate,
    CXGate,
    CYGate,
    CZGate,
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
    SXGate,
    TdgGate,
    TGate,
    XGate,
    YGate,
    ZGate,
)

from shared.domain.catalog import QirProfile
from shared.domain.errors import Diagnostic, InvalidProgramError, TransientJobError, UnsupportedProgramError

from .limits import MAX_OUTPUT_DEPTH
from .text import decode_text, invalid_program

logger = logging.getLogger(__name__)

QIR_PROGRAM = "The QIR program"
CODE = "InvalidQir"
WORKER = Path(__file__).with_name("qir_worker.py")
PARSE_TIMEOUT = 20.0
MAX_PARSERS = 2  # parser processes at once; a parse waits its turn, at most PARSE_TIMEOUT
# What a parser process keeps of this one's environment: nothing secret (no keys, no identity endpoint).
_INHERITED_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")
_PARSERS = threading.BoundedSemaphore(MAX_PARSERS)
MAX_QUBITS = 10_000
MAX_RESULTS = 100_000
_BITCODE_MAGIC = (b"BC\xc0\xde", b"\xde\xc0\x17\x0b")
_LLVM_POSITION = re.compile(r"[^\n]*?:(\d+):(\d+): error: ([^\n]*)")

Outcome: TypeAlias = int | list["Outcome"] | dict[str, "Outcome"]
_CACHED_PARSES = 8

_GATES = {
    "h": HGate,
    "x": XGate,
    "y": YGate,
    "z": ZGate,
    "s": SGate,
    "s__adj": SdgGate,
    "t": TGate,
    "t__adj": TdgGate,
    "sx": SXGate,
    "rx": RXGate,
    "ry": RYGate,
    "rz": RZGate,
    "cx": CXGate,
    "cnot": CXGate,
    "cy": CYGate,
    "cz": CZGate,
    "swap": SwapGate,
    "ccx": CCXGate,
    "rxx": RXXGate,
    "ryy": RYYGate,
    "rzz": RZZGate,
}
_MEASUREMENTS = frozenset({"m", "mz", "mresetz"})
_NOT_GATES = _MEASUREMENTS | {"reset", "barrier"}


class _Description(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class QirOperation(_Description):
    """One QIS call: its QIR name (`cx`, `s__adj`, `mz`, ...), angles, qubit ids and result ids."""

    name: str
    params: tuple[float, ...]
    qubits: tuple[int, ...]
    results: tuple[int, ...]


class QirCondition(_Description):
    """A condition on result bits: exactly one of a result id, a negation, a conjunction, a disjunction or a xor."""

    result: int | None = None
    not_: QirCondition | None = Field(None, alias="not")
    and_: tuple[QirCondition, QirCondition] | None = Field(None, alias="and")
    or_: tuple[QirCondition, QirCondition] | None = Field(None, alias="or")
    xor: tuple[QirCondition, QirCondition] | None = None


class QirBranch(_Description):
    """`if` the condition holds run `then`, otherwise `else` (a nested body each)."""

    if_: QirCondition = Field(alias="if")
    then: tuple[QirItem, ...]
    else_: tuple[QirItem, ...] = Field(alias="else")


QirItem: TypeAlias = QirOperation | QirBranch
QirCondition.model_rebuild()
QirBranch.model_rebuild()


class QirRecord(_Description):
    """One output recording call, flat, in program order."""

    kind: Literal["result", "array", "tuple"]
    label: str | None
    index: int | None = None
    count: int | None = None


class _WorkerProgram(_Description):
    entry_point: str
    profile: str | None
    required_profile: QirProfile
    qir_major_version: int | None
    num_qubits: int
    num_results: int
    body: tuple[QirItem, ...]
    output: tuple[QirRecord, ...]


class _WorkerError(_Description):
    kind: Literal["parse", "invalid", "unsupported"]
    code: str
    message: str
    line: int | None = None
    column: int | None = None


class _WorkerReply(_Description):
    ok: _WorkerProgram | None = None
    error: _WorkerError | None = None
    seconds: float


@dataclass(frozen=True)
class ResultNode:
    index: int
    label: str | None


@dataclass(frozen=True)
class ContainerNode:
    kind: Literal["array", "tuple"]
    items: tuple[OutputNode, ...]
    label: str | None


OutputNode: TypeAlias = ResultNode | ContainerNode


@dataclass(frozen=True)
class QirProgram:
    """A parsed QIR entry point: sizes, gates and branches in order, and the output structure.

    `profile` is what the program declares (`qir_profiles`); `required_profile` what it uses:
    "adaptive" when it reads a measurement result or branches on a run-time value.
    """

    entry_point: str
    profile: str | None
    required_profile: QirProfile
    num_qubits: int
    num_results: int
    body: tuple[QirItem, ...]
    output: OutputNode | None  # None: nothing is recorded, the output is every result in index order
    parse_seconds: float  # in the child: parse and walk
    wall_seconds: float  # in this process: child start, parse, reply

    @property
    def operations(self) -> tuple[QirOperation, ...]:
        """Every operation of the program, both sides of each branch included, in program order."""
        return tuple(_flatten(self.body))

    @property
    def gate_count(self) -> int:
        """Gate applications, without measurements, resets and barriers (as for the other formats)."""
        return len(self.gate_widths)

    @property
    def gate_widths(self) -> list[int]:
        """How many qubits each gate application acts on, in order."""
        return [len(op.qubits) for op in self.operations if op.name not in _NOT_GATES]

    @property
    def measurements(self) -> int:
        return sum(1 for op in self.operations if op.name in _MEASUREMENTS)

    def outcome(self, results: Sequence[int]) -> Outcome:
        """One shot's output value from its result bits (indexed by result id)."""
        if self.output is None:
            return list(results)
        return _outcome(self.output, results)


def parse_qir(data: bytes, *, timeout: float = PARSE_TIMEOUT, worker: Sequence[str] | None = None) -> QirProgram:
    """Parse and validate QIR text or bitcode in a child process; `worker` replaces its command line.

    The last few programs parsed are remembered, so the steps that read one program in a process
    (validate, translate, run on the local host) share one parse.
    """
    if worker is None:
        return _parse_remembered(data, timeout)
    return _parse(data, timeout, worker)


@lru_cache(maxsize=_CACHED_PARSES)
def _parse_remembered(data: bytes, timeout: float) -> QirProgram:
    return _parse(data, timeout, None)


def _parse(data: bytes, timeout: float, worker: Sequence[str] | None) -> QirProgram:
    text = ""
    if not data.startswith(_BITCODE_MAGIC):
        text = decode_text(data, QIR_PROGRAM)  # a positioned diagnostic for a bad byte
        if not text.strip():
            empty = Diagnostic(code="EmptyProgram", message="the program is empty", line=1, column=1)
            raise invalid_program(QIR_PROGRAM, [empty])
    # -P: the script's folder is not put on sys.path; the parent's sys.path is (Functions puts
    # packages on PYTHONPATH). faulthandler prints a crashing parse's stack to stderr for the log.
    command = list(worker) if worker is not None else [sys.executable, "-P", "-X", "faulthandler", str(WORKER)]
    environment = {name: os.environ[name] for name in _INHERITED_ENVIRONMENT if name in os.environ}
    environment["PYTHONPATH"] = os.pathsep.join(path for path in sys.path if path)
    if not _PARSERS.acquire(timeout=timeout):
        raise TransientJobError(f"All {MAX_PARSERS} QIR parser processes stayed busy for {timeout:g} s; try again.")
    started = time.perf_counter()
    try:
        finished = subprocess.run(
            [*command, str(timeout)], input=data, capture_output=True, timeout=timeout, check=False, env=environment
        )
    except subprocess.TimeoutExpired:
        raise _unsafe(f"parsing took longer than {timeout:g} s and was stopped") from None
    except OSError as exc:
        raise TransientJobError(f"Cannot start the QIR parser process: {exc}") from exc
    finally:
        _PARSERS.release()
    wall = time.perf_counter() - started
    if finished.returncode < 0:
        raise _unsafe(f"the parser process died with signal {_signal_name(-finished.returncode)}", finished.stderr)
    try:
        reply = _WorkerReply.model_validate_json(finished.stdout) if finished.returncode == 0 else None
    except ValidationError:
        reply = None
    if reply is None:
        raise _unsafe(f"the parser process failed (exit code {finished.returncode})", finished.stderr)
    logger.debug("Parsed QIR in %.1f ms (%.1f ms with the process)", reply.seconds * 1e3, wall * 1e3)
    if reply.error is not None:
        raise _rejected(reply.error, text)
    if reply.ok is None:
        raise _unsafe("the parser process gave no answer", finished.stderr)
    return _program(reply.ok, reply.seconds, wall)


def qir_to_circuit(program: QirProgram) -> QuantumCircuit:
    """The program as a circuit: qubit i is qubit i, result r is clbit r (mresetz: measure, then reset);
    a branch is an `if_else` (or `if_test`) on its condition over result bits, nested as in the program."""
    circuit = QuantumCircuit(program.num_qubits, program.num_results)
    _append(circuit, program.body)
    return circuit


def _append(circuit: QuantumCircuit, body: Sequence[QirItem]) -> None:
    for op in body:
        if isinstance(op, QirBranch):
            condition = _condition(circuit, op.if_)
            if not op.else_:
                with circuit.if_test(condition):
                    _append(circuit, op.then)
                continue
            with circuit.if_test(condition) as otherwise:
                _append(circuit, op.then)
            with otherwise:
                _append(circuit, op.else_)
        elif op.name in _GATES:
            circuit.append(_GATES[op.name](*op.params), list(op.qubits))
        elif op.name in ("m", "mz", "mresetz"):
            circuit.measure(op.qubits[0], op.results[0])
            if op.name == "mresetz":
                circuit.reset(op.qubits[0])
        elif op.name == "reset":
            circuit.reset(op.qubits[0])
        else:  # barrier: QIR's takes no qubits
            circuit.barrier()


def _condition(circuit: QuantumCircuit, condition: QirCondition) -> tuple[Clbit, int] | expr.Expr:
    """A single result (or its negation) as qiskit's (clbit, value) test; anything else as an expression."""
    if condition.result is not None:
        return (circuit.clbits[condition.result], 1)
    if condition.not_ is not None and condition.not_.result is not None:
        return (circuit.clbits[condition.not_.result], 0)
    return _expression(circuit, condition)


def _expression(circuit: QuantumCircuit, condition: QirCondition) -> expr.Expr:
    if condition.result is not None:
        return expr.lift(circuit.clbits[condition.result])
    if condition.not_ is not None:
        return expr.logic_not(_expression(circuit, condition.not_))
    if condition.and_ is not None:
        return expr.logic_and(*(_expression(circuit, c) for c in condition.and_))
    if condition.or_ is not None:
        return expr.logic_or(*(_expression(circuit, c) for c in condition.or_))
    if condition.xor is not None:
        return expr.bit_xor(*(_expression(circuit, c) for c in condition.xor))
    raise _unsafe("the parser process gave a branch condition with no operator")


def _flatten(body: Sequence[QirItem]) -> Iterator[QirOperation]:
    for item in body:
        if isinstance(item, QirBranch):
            yield from _flatten(item.then)
            yield from _flatten(item.else_)
        else:
            yield item


def display_outcome(value: Outcome) -> str:
    """An outcome as Q# and Azure Quantum print it: `1`, `[0, 1]`, `([0, 1], 0)`."""
    if isinstance(value, list):
        return "[" + ", ".join(map(display_outcome, value)) + "]"
    if isinstance(value, dict):
        return "(" + ", ".join(display_outcome(value[f"Item{i + 1}"]) for i in range(len(value))) + ")"
    return str(value)


def _outcome(node: OutputNode, results: Sequence[int]) -> Outcome:
    if isinstance(node, ResultNode):
        return results[node.index]
    items = [_outcome(item, results) for item in node.items]
    if node.kind == "array":
        return items
    return {f"Item{i + 1}": item for i, item in enumerate(items)}


def _program(raw: _WorkerProgram, seconds: float, wall: float) -> QirProgram:
    for size, limit, what in ((raw.num_qubits, MAX_QUBITS, "qubits"), (raw.num_results, MAX_RESULTS, "results")):
        if size > limit:
            raise UnsupportedProgramError(
                f"The QIR program uses {size} {what}; this service handles at most {limit}.",
                diagnostics=[Diagnostic(code="TooLarge", message=f"{size} {what} (at most {limit})")],
            )
    return QirProgram(
        entry_point=raw.entry_point,
        profile=raw.profile,
        required_profile=raw.required_profile,
        num_qubits=raw.num_qubits,
        num_results=raw.num_results,
        body=raw.body,
        output=_output_tree(raw.output),
        parse_seconds=seconds,
        wall_seconds=wall,
    )


def _output_tree(records: Sequence[QirRecord]) -> OutputNode | None:
    """Nest the flat recording calls; several top-level records form a tuple.

    Containers nest at most MAX_OUTPUT_DEPTH deep, so reading (and later printing) an outcome recurses a
    bounded number of times.
    """
    if not records:
        return None
    position = 0

    def take(depth: int) -> OutputNode:
        nonlocal position
        if position >= len(records):
            raise _bad_output("a tuple or array announces more items than are recorded after it")
        record = records[position]
        position += 1
        if record.kind == "result":
            return ResultNode(index=record.index or 0, label=record.label)
        if depth >= MAX_OUTPUT_DEPTH:
            message = f"output records (tuples and arrays) nest more than {MAX_OUTPUT_DEPTH} deep"
            raise UnsupportedProgramError(
                f"This service cannot run the QIR program: {message}.",
                diagnostics=[Diagnostic(code="OutputNestedTooDeep", message=message)],
            )
        items = tuple(take(depth + 1) for _ in range(record.count or 0))
        return ContainerNode(kind=record.kind, items=items, label=record.label)

    top: list[OutputNode] = []
    while position < len(records):
        top.append(take(0))
    return top[0] if len(top) == 1 else ContainerNode(kind="tuple", items=tuple(top), label=None)


def _bad_output(message: str) -> InvalidProgramError:
    return invalid_program(QIR_PROGRAM, [Diagnostic(code="InvalidOutputRecording", message=message)])


def _rejected(error: _WorkerError, text: str) -> InvalidProgramError:
    if error.kind == "unsupported":
        diagnostic = Diagnostic(code=error.code, message=error.message, line=error.line, column=error.column)
        return UnsupportedProgramError(
            f"This service cannot run the QIR program: {error.message}", diagnostics=[diagnostic]
        )
    message, line, column = error.message.strip(), error.line, error.column
    position = _LLVM_POSITION.match(message)
    if position is not None:
        line, column, message = int(position[1]), int(position[2]), position[3].strip()
        if message.startswith("expected"):
            line, column = _after_previous_code(text, line, column)
    elif error.kind == "parse":
        message = f"not valid LLVM IR or bitcode: {message}"
    return invalid_program(QIR_PROGRAM, [Diagnostic(code=error.code, message=message, line=line, column=column)])


def _after_previous_code(text: str, line: int, column: int) -> tuple[int, int]:
    """Where a missing token belongs: LLVM reports `expected ...` at the next token, which may start a later line."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines) or lines[line - 1][: column - 1].strip():
        return line, column
    for number in range(line - 1, 0, -1):
        code = lines[number - 1].split(";", 1)[0].rstrip()
        if code:
            return number, len(code) + 1
    return line, column


def _unsafe(reason: str, stderr: bytes = b"") -> InvalidProgramError:
    detail = stderr.decode("utf-8", "replace").strip().splitlines()
    if detail:
        logger.warning("QIR parser process: %s; its last output: %s", reason, " | ".join(detail[-5:]))
    message = f"the QIR could not be parsed safely: {reason}"
    return InvalidProgramError(
        f"{QIR_PROGRAM} is not valid: {message}", diagnostics=[Diagnostic(code="QirParserFailed", message=message)]
    )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)

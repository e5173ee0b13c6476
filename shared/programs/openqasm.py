"""OpenQASM 2 and 3 text to qiskit circuits, with 1-based line/column diagnostics.

OpenQASM 2 is parsed by qiskit's Rust parser, whose errors carry positions, plus one check it skips.
For OpenQASM 3, qdk reports syntax errors with positions (qiskit's ANTLR importer gives none), then
qiskit's importer judges the rest, so qdk's stricter typing never rejects a program qiskit can run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from types import TracebackType
from typing import Any

os.environ.setdefault("QDK_PYTHON_TELEMETRY", "none")

import qiskit.qasm2
import qiskit.qasm3
from qdk.openqasm.semantic import Severity, analyze
from qiskit import QuantumCircuit
from qiskit.exceptions import QiskitError

from shared.domain.errors import Diagnostic, UnsupportedProgramError

from .limits import MAX_QUBITS
from .prescan import QasmShape, check_nesting, scan_openqasm
from .text import code_only, invalid_program, position_at

QASM2_PROGRAM = "The OpenQASM 2 program"
QASM3_PROGRAM = "The OpenQASM 3 program"
CODE = "InvalidOpenQasm"

_QASM2_ERROR = re.compile(r"<input>:(\d+),(\d+): (.*)", re.DOTALL)
_IMPORTER_POSITION = re.compile(r"(?:L(\d+):C(\d+)|\d+,\d+): ")
_MISSING_SEMICOLON = re.compile(r"(?:needed|expected|expecting to see) [`']?;")
_IMPORTER_UNSUPPORTED = re.compile(r"\bnot (?:currently )?supported\b|\bonly .* supported\b")
_QDK_SYNTAX_CODES = ("Qdk.Qasm.Lex.", "Qdk.Qasm.Parser.")
_QELIB1_PARAMETERS = {
    "U": 3,
    **{gate.name: gate.num_params for gate in qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS},
}
_GATE_DECLARATION = re.compile(r"\b(?:gate|opaque)\s+([A-Za-z_]\w*)\s*(\([^)]*\))?")
_BARE_CALL = re.compile(r"(?:^|(?<=[;{})]))\s*([A-Za-z_]\w*)\s+(?=[A-Za-z_])")
_SINGLE_EQUALS = re.compile(r"(?<![=!<>])=(?!=)")
_CALL_HEAD = re.compile(r"\s*[A-Za-z_]\w*\s*(?:\([^)]*\))?")
_ARGUMENT = re.compile(r"\s*[A-Za-z_]\w*\s*(?:\[\s*\d+\s*\])?")
_COMMA = re.compile(r"\s*,")
_EMPTY = Diagnostic(code="EmptyProgram", message="the program is empty", line=1, column=1)


def parse_qasm2(text: str, max_qubits: int = MAX_QUBITS) -> QuantumCircuit:
    """Parse OpenQASM 2 with every qelib1 gate; includes other than qelib1.inc are not read from disk."""
    return read_qasm2(text, max_qubits)[0]


def read_qasm2(text: str, max_qubits: int = MAX_QUBITS) -> tuple[QuantumCircuit, QasmShape]:
    """The circuit and its shape; the shape is checked against the limits first (`prescan.py`)."""
    shape = _prescan(text, QASM2_PROGRAM, 2, max_qubits)
    missing = _calls_without_parameters(text)
    if missing:
        raise invalid_program(QASM2_PROGRAM, missing)
    try:
        loaded = qiskit.qasm2.loads(text, include_path=(), custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    except qiskit.qasm2.QASM2ParseError as exc:
        raise invalid_program(QASM2_PROGRAM, [_qasm2_diagnostic(text, str(exc.message))]) from None
    return loaded, shape


def parse_qasm3(text: str, max_qubits: int = MAX_QUBITS) -> QuantumCircuit:
    """Parse OpenQASM 3; raise UnsupportedProgramError for valid features qiskit cannot import."""
    return read_qasm3(text, max_qubits)[0]


def read_qasm3(text: str, max_qubits: int = MAX_QUBITS) -> tuple[QuantumCircuit, QasmShape]:
    """The circuit and its shape; the shape is checked against the limits first (`prescan.py`)."""
    shape = _prescan(text, QASM3_PROGRAM, 3, max_qubits)
    analysis = analyze(text)
    errors = [d for d in analysis.diagnostics if d.severity == Severity.Error]
    syntax = [d for d in errors if str(d.code).startswith(_QDK_SYNTAX_CODES)]
    if syntax:
        raise invalid_program(QASM3_PROGRAM, _qdk_diagnostics(text, analysis, syntax))
    try:
        return qiskit.qasm3.loads(text), shape
    except Exception as exc:  # the importer raises QiskitError, IndexError, TypeError, ...
        failure = exc
    diagnostic = _importer_diagnostic(text, failure)
    # A TypeError is the importer meeting a construct it does not handle, e.g. a loop variable as index.
    if isinstance(failure, TypeError) or _IMPORTER_UNSUPPORTED.search(diagnostic.message):
        raise UnsupportedProgramError(
            f"This service cannot import the OpenQASM 3 program: {diagnostic.render()}",
            diagnostics=[diagnostic.model_copy(update={"code": "UnsupportedOpenQasm"})],
        )
    raise invalid_program(QASM3_PROGRAM, _qdk_diagnostics(text, analysis, errors) or [diagnostic])


def _prescan(text: str, what: str, version: int, max_qubits: int) -> QasmShape:
    """Comments closed, not empty, nesting and size in the limits: before a parser reads the text."""
    code = code_only(text, what)
    if not code.strip():
        raise invalid_program(what, [_EMPTY])
    check_nesting(text, code, per_line=False)
    single = frozenset(_QELIB1_PARAMETERS) if version == 2 else frozenset()
    return scan_openqasm(text, code, version=version, max_qubits=max_qubits, single=single)


def _calls_without_parameters(text: str) -> list[Diagnostic]:
    """Calls such as `rx q[0];`: qiskit skips the parameter count when the parentheses are missing."""
    code = code_only(text)
    takes = dict(_QELIB1_PARAMETERS)
    for declaration in _GATE_DECLARATION.finditer(code):
        parameters = (declaration[2] or "").strip("()").split(",")
        takes[declaration[1]] = len([name for name in parameters if name.strip()])
    found = []
    for call in _BARE_CALL.finditer(code):
        if takes.get(call[1]):
            line, column = position_at(text, call.start(1))
            message = f"{call[1]!r} takes {takes[call[1]]} parameter(s), but got none"
            found.append(Diagnostic(code=CODE, message=message, line=line, column=column))
    return found


def _qasm2_diagnostic(text: str, message: str) -> Diagnostic:
    match = _QASM2_ERROR.fullmatch(message)
    if match is None:
        # qiskit gives no position for `if (c = 1)`; the offending '=' is easy to find.
        single_equals = _SINGLE_EQUALS.search(code_only(text)) if "single equals" in message else None
        if single_equals is None:
            return Diagnostic(code=CODE, message=message)
        line, column = position_at(text, single_equals.start())
        return Diagnostic(code=CODE, message=message, line=line, column=column)
    line, column, detail = int(match[1]), int(match[2]) + 1, match[3]
    if "end-of-file" in detail:
        line, column = _after_previous_token(text, len(text))
    elif _MISSING_SEMICOLON.search(detail):
        line, column = _after_previous_token(text, _offset(text, line, column))
        detail = f"missing ';' at the end of the statement ({detail})"
    elif "end of the argument list" in detail:
        line, column = position_at(text, _argument_list_break(code_only(text), _offset(text, line, column)))
    return Diagnostic(code=CODE, message=detail, line=line, column=column)


def _argument_list_break(code: str, offset: int) -> int:
    """The first token that breaks the argument list `a, b[1], c` of the call at offset.

    qiskit reports a broken argument list (`cx q[0] q[1];`) at the call's gate name.
    """
    head = _CALL_HEAD.match(code, offset)
    position = head.end() if head else offset
    pattern, other = _ARGUMENT, _COMMA
    while (found := pattern.match(code, position)) is not None:
        position, pattern, other = found.end(), other, pattern
    return len(code) - len(code[position:].lstrip())


def _qdk_diagnostics(text: str, analysis: Any, diagnostics: Iterable[Any]) -> list[Diagnostic]:
    """qdk's diagnostics at 1-based positions, one per position (qdk repeats itself at a bad call)."""
    found: dict[tuple[int | None, int | None], Diagnostic] = {}
    for item in diagnostics:
        message = str(item.message)
        line: int | None = None
        column: int | None = None
        if item.labels:
            start = analysis.document.source_map.range_from_span(item.labels[0].span).start
            line, column = int(start.line) + 1, int(start.column) + 1
            if _MISSING_SEMICOLON.search(message):
                line, column = _after_previous_token(text, _offset(text, line, column))
                message = f"missing ';' at the end of the statement ({message})"
        found.setdefault((line, column), Diagnostic(code=CODE, message=message, line=line, column=column))
    return list(found.values())


def _importer_diagnostic(text: str, exc: BaseException) -> Diagnostic:
    """qiskit's importer error, at the best position its exception chain offers.

    In order of trust: the token ANTLR stopped at, a lexer's "L<line>:C<column>:" prefix, then the
    innermost AST node on the failing call stack. The converter's own "line,column:" prefix is not
    used (some nodes carry absolute offsets there), and errors such as IndexError carry none.
    """
    raw = str(exc.message) if isinstance(exc, QiskitError) else str(exc)
    prefix = _IMPORTER_POSITION.match(raw)
    message = raw[prefix.end() :] if prefix else raw
    candidates: list[tuple[int, int]] = []
    for error in _chain(exc):
        token = getattr(error, "offendingToken", None)
        if token is not None:
            candidates.append((int(token.line), int(token.column) + 1))
            message = message or f"unexpected {token.text!r}"
    if prefix and prefix[1]:
        candidates.append((int(prefix[1]), int(prefix[2]) + 1))
    candidates.extend(reversed(_visited_nodes(exc)))
    lines = text.split("\n")
    line, column = next(
        ((ln, col) for ln, col in candidates if 1 <= ln <= len(lines) and 1 <= col <= len(lines[ln - 1]) + 1),
        (None, None),
    )
    return Diagnostic(code=CODE, message=message or type(exc).__name__, line=line, column=column)


def _chain(exc: BaseException) -> list[BaseException]:
    """An exception and the ones it was raised from, outermost first."""
    chain: list[BaseException] = []
    error: BaseException | None = exc
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def _visited_nodes(exc: BaseException) -> list[tuple[int, int]]:
    """Start positions of the AST `node`s being visited on the failing call stacks, outermost first."""
    found: list[tuple[int, int]] = []
    for error in _chain(exc):
        tb: TracebackType | None = error.__traceback__
        while tb is not None:
            span = getattr(tb.tb_frame.f_locals.get("node"), "span", None)
            if span is not None:
                found.append((int(span.start_line), int(span.start_column) + 1))
            tb = tb.tb_next
    return found


def _offset(text: str, line: int, column: int) -> int:
    """Character offset of a 1-based (line, column); past the end clamps to the end."""
    lines = text.split("\n")
    return min(len(text), sum(len(each) + 1 for each in lines[: line - 1]) + column - 1)


def _after_previous_token(text: str, offset: int) -> tuple[int, int]:
    """Position just after the last token before offset: where a missing `;` belongs."""
    return position_at(text, len(code_only(text[:offset]).rstrip()))


def dump_qasm2(circuit: QuantumCircuit) -> str:
    """OpenQASM 2 text; UnsupportedProgramError when the circuit has no OpenQASM 2 form."""
    try:
        return str(qiskit.qasm2.dumps(circuit))
    except qiskit.qasm2.QASM2ExportError as exc:
        message = str(exc.message)
        raise UnsupportedProgramError(
            f"The program cannot be written as OpenQASM 2: {message}",
            diagnostics=[Diagnostic(code="NotExpressibleInOpenQasm2", message=message)],
        ) from None

"""Linear scans of a program's text that find its size before a parser builds anything.

The parsers allocate registers as they read declarations, expand gate definitions only when a
program is translated or run, and (in native code) recurse on nested brackets. These scans read
the text once, keep only a few numbers per register and per gate definition, and refuse a program
that passes a limit of `limits.py` with a diagnostic at the declaration, definition or statement
that passes it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import NoReturn

from shared.domain.errors import Diagnostic, UnsupportedProgramError

from .limits import (
    MAX_CLASSICAL_BITS,
    MAX_DEFINITION_DEPTH,
    MAX_EXPANDED_GATES,
    MAX_JSON_DEPTH,
    MAX_NESTING_DEPTH,
    MAX_STATEMENT_OPERATORS,
)
from .text import position_at

_BRACKET_OR_OPERATOR = re.compile(r"[()\[\]{}+\-*/%^~!&|<>=;\n]")
_OPEN = frozenset("([{")
_CLOSE = frozenset(")]}")
_JSON_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*+"|[\[\]{}]')
_PIECE = re.compile(r"([^;{}]*+)([;{}])")
_QASM2_REGISTER = re.compile(r"\b(qreg|creg)\s+([A-Za-z_]\w*+)\s*\[")
_QASM3_REGISTER = re.compile(r"\b(qreg|creg)\s+([A-Za-z_]\w*+)\s*\[|\b(qubit|bit)\b\s*(\[)?")
_NAME = re.compile(r"\s*([A-Za-z_]\w*+)")
_PHYSICAL_QUBIT = re.compile(r"\$(\d{1,12}+)")
_INTEGER = re.compile(r"\s*(0[xX][0-9a-fA-F_]++|0[oO][0-7_]++|0[bB][01_]++|\d[\d_]*+)\s*")
_BASES = {"x": 16, "o": 8, "b": 2}
_SIZE_WINDOW = 64  # characters between a register's [ and ]: an integer literal fits with room to spare
_GATE_HEADER = re.compile(r"\s*gate\s+([A-Za-z_]\w*+)")
_MODIFIERS = re.compile(r"\s*(?:(?:ctrl|negctrl|inv|pow)\s*(?:\([^()]*+\))?\s*@\s*)*+")
_CONDITION = re.compile(r"\s*if\s*\([^()]*+\)")
_CALL = re.compile(r"([A-Za-z_]\w*+)\s*(\([^;]*\))?")
_NOT_GATES = frozenset(
    {
        "barrier",
        "bit",
        "box",
        "const",
        "creg",
        "def",
        "delay",
        "else",
        "for",
        "if",
        "include",
        "input",
        "let",
        "measure",
        "OPENQASM",
        "opaque",
        "output",
        "qreg",
        "qubit",
        "reset",
        "return",
        "while",
    }
)


@dataclass
class _Expansion:
    """Gate applications after expansion, by width (number of qubits), and how deep the definitions nest."""

    widths: Counter[int] = field(default_factory=Counter)
    depth: int = 0

    @property
    def gates(self) -> int:
        return sum(self.widths.values())

    def add(self, other: Counter[int], times: int) -> None:
        for width, count in other.items():
            self.widths[width] += count * times


@dataclass(frozen=True)
class QasmShape:
    """What an OpenQASM program's scan keeps for pricing: the gates (by width) each gate it defines expands to."""

    definitions: dict[str, Counter[int]]


def check_nesting(text: str, code: str, *, per_line: bool) -> None:
    """Brackets nest at most MAX_NESTING_DEPTH deep; a statement (`;`, `{`, `}` end one, or each line when
    `per_line`) has at most MAX_STATEMENT_OPERATORS operator characters. `code` is `text` with comments blanked."""
    depth = operators = 0
    for found in _BRACKET_OR_OPERATOR.finditer(code):
        char = found[0]
        if char == "\n" and not per_line:
            continue
        if char in _OPEN:
            depth += 1
            if depth > MAX_NESTING_DEPTH:
                _refuse(text, found.start(), "NestedTooDeep", f"brackets nest more than {MAX_NESTING_DEPTH} deep")
        elif char in _CLOSE:
            depth = max(depth - 1, 0)
        if char in "{};\n":
            operators = 0
        elif char not in _OPEN and char not in _CLOSE:
            operators += 1
            if operators > MAX_STATEMENT_OPERATORS:
                message = f"the statement has more than {MAX_STATEMENT_OPERATORS} operators"
                _refuse(text, found.start(), "ExpressionTooLong", message)


def check_json_depth(text: str) -> None:
    """Arrays and objects nest at most MAX_JSON_DEPTH deep (strings skipped): before json.loads recurses."""
    depth = 0
    for found in _JSON_STRING_OR_BRACKET.finditer(text):
        char = found[0]
        if char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                message = f"arrays and objects nest more than {MAX_JSON_DEPTH} deep"
                _refuse(text, found.start(), "NestedTooDeep", message)
        elif char in "]}":
            depth = max(depth - 1, 0)


def scan_openqasm(text: str, code: str, *, version: int, max_qubits: int, single: frozenset[str]) -> QasmShape:
    """Registers, physical qubits and gate definitions of an OpenQASM program, checked against the limits.

    `code` is `text` with comments blanked; `single` names the gates that stay one gate even when the program
    defines them (qiskit reads those as its own library gates).
    """
    program = _expand(text, code, _registers(text, code, version, max_qubits), single)
    return QasmShape({name: expansion.widths for name, expansion in program.definitions.items()})


def _registers(text: str, code: str, version: int, max_qubits: int) -> dict[str, int]:
    """Register sizes by name; refuses a program whose qubits or classical bits pass a limit."""
    registers: dict[str, int] = {}
    totals = {"qubit": 0, "bit": 0}
    passed: dict[str, int] = {}
    limits = {"qubit": max_qubits, "bit": MAX_CLASSICAL_BITS}
    pattern = _QASM3_REGISTER if version == 3 else _QASM2_REGISTER
    for found in pattern.finditer(code):
        keyword = found[1] or found[3]
        kind = "qubit" if keyword in ("qreg", "qubit") else "bit"
        if found[1] is not None:  # qreg name[size]
            name = str(found[2])
            size = _size(text, code, found.end(), found.start())
        else:  # qubit[size] name, qubit name
            after = found.end()
            size = 1
            if found[4] is not None:
                size = _size(text, code, after, found.start())
                after = code.find("]", after) + 1
            named = _NAME.match(code, after)
            if named is None:  # a type in a cast or a parameter list, not a declaration
                continue
            name = named[1]
        registers[name] = size
        totals[kind] += size
        if totals[kind] > limits[kind] and kind not in passed:
            passed[kind] = found.start()
    if version == 3:  # physical qubits $0, $1, ...: as many as the highest index, plus one
        highest = max(_PHYSICAL_QUBIT.finditer(code), key=lambda found: int(found[1]), default=None)
        if highest is not None:
            totals["qubit"] += int(highest[1]) + 1
            if totals["qubit"] > max_qubits and "qubit" not in passed:
                passed["qubit"] = highest.start()
    if "qubit" in passed:
        used = totals["qubit"]
        _refuse(text, passed["qubit"], "TooManyQubits", f"the program uses {used} qubits; the limit is {max_qubits}")
    if "bit" in passed:
        used = totals["bit"]
        message = f"the program declares {used} classical bits; the limit is {MAX_CLASSICAL_BITS}"
        _refuse(text, passed["bit"], "TooManyClassicalBits", message)
    return registers


def _size(text: str, code: str, start: int, declaration: int) -> int:
    """The integer literal between `[` (just before `start`) and the next `]`."""
    close = code.find("]", start, start + _SIZE_WINDOW)
    literal = _INTEGER.fullmatch(code, start, close) if close != -1 else None
    if literal is None:
        _refuse(text, declaration, "RegisterSizeNotLiteral", "write register sizes as integer literals")
    digits = literal[1].replace("_", "").lower()
    if len(digits) > 1 and digits[0] == "0" and digits[1] in _BASES:
        return int(digits[2:], _BASES[digits[1]])
    return int(digits)


@dataclass
class _Program:
    """The expansion of each gate definition read so far, and of the program's top-level statements."""

    definitions: dict[str, _Expansion] = field(default_factory=dict)
    top: _Expansion = field(default_factory=_Expansion)


def _expand(text: str, code: str, registers: dict[str, int], single: frozenset[str]) -> _Program:
    """Count the gates the program applies once every definition and broadcast is expanded, without
    expanding: each definition's count is kept (memoised) and a call adds it, so the work is linear."""
    program = _Program()
    defining: tuple[str, int, _Expansion] | None = None  # name, header offset, body so far
    braces = body_braces = 0
    for piece in _PIECE.finditer(code):
        statement, end = piece[1], piece[2]
        if end == "{":
            braces += 1
            header = _GATE_HEADER.match(statement)
            if defining is None and header is not None:
                defining = (header[1], piece.start(1) + statement.index("gate"), _Expansion())
                body_braces = braces
            continue
        if end == ";":
            if defining is not None:
                _count_call(statement, program, defining[2], registers=None)
            else:
                _count_call(statement, program, program.top, registers=registers)
                if program.top.gates > MAX_EXPANDED_GATES:
                    _refuse(text, piece.start(1) + _indent(statement), "TooManyGates", _too_many(program.top.gates))
            continue
        braces = max(braces - 1, 0)
        if defining is not None and braces < body_braces:
            name, offset, expansion = defining
            defining = None
            expansion.depth += 1
            if expansion.depth > MAX_DEFINITION_DEPTH:
                message = f"gate {name} nests definitions {expansion.depth} deep; the limit is {MAX_DEFINITION_DEPTH}"
                _refuse(text, offset, "DefinitionsTooDeep", message)
            if expansion.gates > MAX_EXPANDED_GATES:
                _refuse(text, offset, "TooManyGates", f"gate {name} expands to {_too_many(expansion.gates)}")
            if name not in single:
                program.definitions[name] = expansion
    return program


def _count_call(statement: str, program: _Program, into: _Expansion, *, registers: dict[str, int] | None) -> None:
    """Add one statement's gates to `into`: a defined gate's expansion, or one gate on as many qubits as it names;
    at the top level (`registers` given) times the largest register it names whole (OpenQASM broadcasts)."""
    condition = _CONDITION.match(statement)  # OpenQASM 2: `if (c == 1) g q;` applies g (at most once)
    start = condition.end() if condition is not None else 0
    modifiers = _MODIFIERS.match(statement, start)
    call = _CALL.match(statement, modifiers.end() if modifiers is not None else start)
    if call is None or call[1] in _NOT_GATES:
        return
    rest = statement[call.end() :]
    if rest.lstrip().startswith(("=", "[", "->")):  # an assignment or an indexed name: not a gate call
        return
    arguments = [argument.strip() for argument in rest.split(",")] if rest.strip() else []
    times = max((registers.get(argument, 1) for argument in arguments), default=1) if registers is not None else 1
    defined = program.definitions.get(call[1])
    if defined is None:
        into.widths[len(arguments)] += times
        return
    into.add(defined.widths, times)
    into.depth = max(into.depth, defined.depth)


def _indent(statement: str) -> int:
    return len(statement) - len(statement.lstrip())


def _too_many(gates: int) -> str:
    return f"{gates} gate applications once definitions and broadcasts are expanded; the limit is {MAX_EXPANDED_GATES}"


def _refuse(text: str, offset: int, code: str, message: str) -> NoReturn:
    line, column = position_at(text, offset)
    raise UnsupportedProgramError(
        f"The program is larger than this service accepts: line {line}, column {column}: {message}.",
        diagnostics=[Diagnostic(code=code, message=message, line=line, column=column)],
    )

"""The service's limits on a program's size, and where a program asks for more qubits than a target has.

Every limit a parser enforces before it builds anything is one of the constants below; `prescan.py`
checks them in one linear pass over the text. The parsers turn a program into a circuit and the
positions are gone by the time its size is compared with a target's limit, so each format's
`QubitDeclarations` finds, in the program's own text, the first declaration or use that takes it past
the limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from shared.domain.catalog import load_catalog
from shared.domain.errors import Diagnostic

from .text import code_only, position_at

# The bounds every program is checked against are catalog data (`programLimits`, shown in providerStatus).
_LIMITS = load_catalog().program_limits
MAX_QUBITS = _LIMITS.max_qubits
"""Qubits any text program may use (OpenQASM, Quil) when no target's smaller limit is given."""
MAX_CLASSICAL_BITS = _LIMITS.max_classical_bits
"""Classical bits a text program may declare (OpenQASM creg/bit, Quil BIT/OCTET): outputs grow with shots x bits."""
MAX_EXPANDED_GATES = _LIMITS.max_expanded_gates
"""Gate applications an OpenQASM program may have once its gate definitions and register broadcasts are expanded."""
MAX_DEFINITION_DEPTH = _LIMITS.max_definition_depth
"""How deep OpenQASM gate definitions may call one another (a definition calling only built-in gates is depth 1)."""
MAX_NESTING_DEPTH = _LIMITS.max_nesting_depth
"""How deep brackets ( [ { may nest in an OpenQASM or Quil program (the native parsers recurse on them)."""
MAX_STATEMENT_OPERATORS = _LIMITS.max_statement_operators
"""Operator characters (+ - * / % ^ ~ ! & | < > =) one OpenQASM statement or Quil line may have (ditto)."""
MAX_JSON_DEPTH = _LIMITS.max_json_depth
"""How deep arrays and objects may nest in an IonQ JSON program (an IonQ circuit needs 3)."""
MAX_OUTPUT_DEPTH = _LIMITS.max_output_depth
"""How deep a QIR program's output records (tuple_record_output, array_record_output) may nest."""
MAX_PULSE_OPERATIONS = _LIMITS.max_pulse_operations
"""Operations a pulse sequence (pasqal.pulser.v1) may have."""
MAX_SEQUENCE_NANOSECONDS = _LIMITS.max_sequence_nanoseconds
"""A pulse sequence's operations' durations added up (ns): an emulation samples every nanosecond of it."""
MAX_LAYOUT_TRAPS = _LIMITS.max_layout_traps
"""Traps a pulse sequence's register layout may have."""

CODE = "TooManyQubits"
_QASM_REGISTER = re.compile(r"\b(?:qreg\s+\w+\s*\[\s*(\d+)\s*\]|qubit\s*\[\s*(\d+)\s*\]\s*\w+|qubit\s+\w+)")
_QIR_ATTRIBUTE = re.compile(r'"required_num_qubits"="(\d+)"')
_QUIL_NOT_QUBITS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_QUIL_QUBIT = re.compile(r"(?<![\w.])(\d+)(?![\w.])")


@dataclass(frozen=True)
class QubitDeclarations:
    """Where a format declares its qubits, for the finding of a program that uses more than a target has.

    A JSON format names the field (`path`); a text format has `first_past(text, limit)`, the offset of the first
    declaration or use that takes the program past `limit` (None when it finds none).
    """

    path: str | None = None
    first_past: Callable[[str, int], int | None] | None = None

    def finding(self, data: bytes, used: int, limit: int) -> Diagnostic:
        """The finding for a (valid) program using `used` qubits where `limit` are available."""
        message = f"the program uses {used} qubits; the target has {limit}"
        if self.first_past is None:
            return Diagnostic(code=CODE, message=message, path=self.path)
        text = data.decode("utf-8", errors="replace")  # QIR bitcode has no text position and finds none
        offset = self.first_past(text, limit)
        if offset is None:
            return Diagnostic(code=CODE, message=message)
        line, column = position_at(text, offset)
        return Diagnostic(code=CODE, message=message, line=line, column=column)


def first_qasm_register_past(text: str, limit: int) -> int | None:
    """OpenQASM 2 and 3: the `qreg`/`qubit` declaration that takes the declared qubits past `limit`."""
    declared = 0
    for match in _QASM_REGISTER.finditer(code_only(text)):
        declared += int(match.group(1) or match.group(2) or 1)
        if declared > limit:
            return match.start()
    return None


def qir_qubit_attribute(text: str, limit: int) -> int | None:
    """QIR text: the entry point's `required_num_qubits` attribute (whatever `limit` is)."""
    found = _QIR_ATTRIBUTE.search(text)
    return None if found is None else found.start()


def first_quil_qubit_past(text: str, limit: int) -> int | None:
    """Quil: the start of the first instruction line that uses a qubit numbered `limit` or more."""
    offset = 0
    for line in text.splitlines(keepends=True):
        # Qubits are the bare integers of an instruction; parameters and memory references are not.
        code = _QUIL_NOT_QUBITS.sub(" ", line.split("#", 1)[0])
        if not code.lstrip().upper().startswith("DECLARE") and any(
            int(qubit) >= limit for qubit in _QUIL_QUBIT.findall(code)
        ):
            return offset
        offset += len(line)
    return None

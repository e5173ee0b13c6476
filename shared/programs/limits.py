"""Where a program asks for more qubits than a target has: the declaration (or use) to point a person at.

The parsers turn a program into a circuit and the positions are gone by the time its size is compared
with a target's limit, so this finds, in the program's own text, the first declaration or use that takes
it past the limit.
"""

from __future__ import annotations

import re

from shared.domain.errors import Diagnostic

from .formats import HONEYWELL_OPENQASM, IONQ_CIRCUIT, OPENQASM2, OPENQASM3, QIR, RIGETTI_QUIL, position_at

CODE = "TooManyQubits"
_QASM_REGISTER = re.compile(r"\b(?:qreg\s+\w+\s*\[\s*(\d+)\s*\]|qubit\s*\[\s*(\d+)\s*\]\s*\w+|qubit\s+\w+)")
_QIR_ATTRIBUTE = re.compile(r'"required_num_qubits"="(\d+)"')
_QUIL_NOT_QUBITS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_QUIL_QUBIT = re.compile(r"(?<![\w.])(\d+)(?![\w.])")


def qubit_limit_diagnostic(data: bytes, input_format: str, used: int, limit: int) -> Diagnostic:
    """The finding for a (valid) program using `used` qubits where `limit` are available."""
    message = f"the program uses {used} qubits; the target has {limit}"
    if input_format == IONQ_CIRCUIT:
        return Diagnostic(code=CODE, message=message, path="qubits")
    text = data.decode("utf-8", errors="replace")  # QIR bitcode has no text position and finds none
    offset = _offset(text, input_format, limit)
    if offset is None:
        return Diagnostic(code=CODE, message=message)
    line, column = position_at(text, offset)
    return Diagnostic(code=CODE, message=message, line=line, column=column)


def _offset(text: str, input_format: str, limit: int) -> int | None:
    if input_format in (OPENQASM2, HONEYWELL_OPENQASM, OPENQASM3):
        declared = 0
        for match in _QASM_REGISTER.finditer(_without_comments(text)):
            declared += int(match.group(1) or match.group(2) or 1)
            if declared > limit:
                return match.start()
        return None
    if input_format == QIR:
        found = _QIR_ATTRIBUTE.search(text)
        return None if found is None else found.start()
    if input_format == RIGETTI_QUIL:
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


def _without_comments(text: str) -> str:
    """The text with // and /* */ comments blanked out, offsets kept."""
    return re.sub(r"//[^\n]*|/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group()), text, flags=re.DOTALL)

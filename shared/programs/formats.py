"""Program format names, the program summary type and the error helpers shared by the parsers."""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from shared.domain.errors import Diagnostic, InvalidProgramError
from shared.domain.jobs import ProgramSize

IONQ_CIRCUIT = "ionq.circuit.v1"
OPENQASM2 = "openqasm.v2"
OPENQASM3 = "openqasm.v3"
HONEYWELL_OPENQASM = "honeywell.openqasm.v1"
QIR = "qir.v1"
RIGETTI_QUIL = "rigetti.quil.v1"

INPUT_FORMATS: frozenset[str] = frozenset({IONQ_CIRCUIT, OPENQASM2, OPENQASM3, HONEYWELL_OPENQASM, QIR, RIGETTI_QUIL})
# QIR and Quil are output formats only for input in the same format: validated and passed through unchanged.
PASS_THROUGH: frozenset[str] = frozenset({QIR, RIGETTI_QUIL})
OUTPUT_FORMATS: frozenset[str] = frozenset({IONQ_CIRCUIT, HONEYWELL_OPENQASM}) | PASS_THROUGH

MAX_DIAGNOSTICS = 20


@dataclass(frozen=True)
class ProgramInfo:
    """Size of a validated program: qubits, classical result bits and gate applications."""

    num_qubits: int
    num_clbits: int
    gate_count: int
    # What pricing counts, and whether a stabilizer simulation can run it; not part of a summary's identity.
    size: ProgramSize = field(default_factory=ProgramSize, compare=False)
    clifford: bool = field(default=False, compare=False)
    # The QIR profile the program needs: "adaptive" when it reads results back or branches on them.
    profile: str = field(default="base", compare=False)


def invalid_program(what: str, diagnostics: Sequence[Diagnostic]) -> InvalidProgramError:
    """An InvalidProgramError whose message names the first of (at most MAX_DIAGNOSTICS) findings."""
    kept = list(diagnostics[:MAX_DIAGNOSTICS])
    more = f" (and {len(diagnostics) - 1} more)" if len(diagnostics) > 1 else ""
    return InvalidProgramError(f"{what} is not valid: {kept[0].render()}{more}", diagnostics=kept)


def position_at(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset into text."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def decode_text(data: bytes, what: str) -> str:
    """Decode UTF-8 (a leading BOM is dropped); a bad byte becomes a diagnostic at its position."""
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8")
        line, column = position_at(before, len(before))
        raise invalid_program(
            what,
            [
                Diagnostic(
                    code="InvalidEncoding",
                    message=f"byte 0x{data[exc.start]:02x} is not valid UTF-8; programs must be UTF-8 text",
                    line=line,
                    column=column,
                )
            ],
        ) from None


_COMMENT_OR_STRING = re.compile(r'"|//|/\*')
_NOT_NEWLINE = re.compile(r"[^\n]")


def code_only(text: str, what: str | None = None) -> str:
    """The text with // and /* */ comments blanked out (same length and lines); strings are kept.

    One pass, linear in the text. An unterminated /* comment is blanked to the end; when `what` names the
    program, it is an InvalidProgramError at the comment's position instead.
    """
    parts: list[str] = []
    position = 0
    while (found := _COMMENT_OR_STRING.search(text, position)) is not None:
        start = found.start()
        parts.append(text[position:start])
        if found[0] == '"':
            close = text.find('"', start + 1)
            string_ends = close != -1 and text.find("\n", start + 1, close) == -1
            end = close + 1 if string_ends else start + 1  # a quote without its pair on the line is kept as is
            parts.append(text[start:end])
            position = end
            continue
        if found[0] == "//":
            end = text.find("\n", start)
            end = len(text) if end == -1 else end
        else:
            close = text.find("*/", start + 2)
            if close == -1 and what is not None:
                line, column = position_at(text, start)
                unterminated = Diagnostic(
                    code="UnterminatedComment", message="the /* comment is never closed", line=line, column=column
                )
                raise invalid_program(what, [unterminated])
            end = len(text) if close == -1 else close + 2
        parts.append(_NOT_NEWLINE.sub(" ", text[start:end]))
        position = end
    parts.append(text[position:])
    return "".join(parts)

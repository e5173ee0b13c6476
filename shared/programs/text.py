"""Text helpers the parsers share: decoding, comments blanked out, 1-based positions, and the error
that carries a program's findings."""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence

from shared.domain.errors import Diagnostic, InvalidProgramError

MAX_DIAGNOSTICS = 20


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

"""What the user sees: az-style tables, tab-separated lines or raw JSON on stdout; the wait display on stderr."""

from __future__ import annotations

import contextlib
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from rich.bar import Bar
from rich.cells import cell_len
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Column, Table
from rich.text import Text

Json = dict[str, Any]

JOB_COLUMNS = ("Name", "Id", "Status", "Target", "Submission time", "Completion time")
TARGET_COLUMNS = ("Provider", "Target", "Availability", "Qubits", "Input formats", "Emulation")
BAR_WIDTH = 40
_AS_WIDE_AS_NEEDED = 100_000  # tables are never cropped or wrapped to the terminal, as az prints them
_ONE_LINE = str.maketrans("\t\r\n", "   ")  # a cell never breaks a row


class Output(StrEnum):
    TABLE = "table"
    JSON = "json"
    TSV = "tsv"


def jobs(items: Sequence[Json], output: Output) -> None:
    if output is Output.JSON:
        _write(json.dumps(list(items), indent=2))
    else:
        _rows(JOB_COLUMNS, [_job_row(job) for job in items], output)


def job(item: Json, output: Output) -> None:
    if output is Output.JSON:
        _write(json.dumps(item, indent=2))
    else:
        _rows(JOB_COLUMNS, [_job_row(item)], output)


def targets(providers: Sequence[Json], output: Output) -> None:
    if output is Output.JSON:
        _write(json.dumps(list(providers), indent=2))
        return
    rows = [
        [
            str(provider.get("id", "")),
            str(target.get("id", "")),
            str(target.get("currentAvailability", "")),
            str(target.get("numQubits", "")),
            ", ".join((target.get("metadata") or {}).get("inputFormats") or []),
            str((target.get("metadata") or {}).get("emulation") or "no"),
        ]
        for provider in providers
        for target in provider.get("targets") or []
    ]
    _rows(TARGET_COLUMNS, rows, output)


@dataclass(frozen=True)
class Histogram:
    measure: str  # the column's title: "Probability" or "Count"
    bars: list[tuple[str, float]]  # (outcome, value), outcomes in order


def histogram(output_format: str, data: Any) -> Histogram | None:
    """The outcomes of a known output format; None for another format or an unexpected shape."""
    if output_format == "ionq.quantum-results.v1":
        return _ionq_histogram(data)
    if output_format == "honeywell.quantum-results.v1":
        return _honeywell_histogram(data)
    return None


def _ionq_histogram(data: Any) -> Histogram | None:
    """`{"histogram": {"3": 0.5}}`: outcome indexes as bitstrings, qubit 0 rightmost.

    The program's width is not in the output, so the widest index sets the width.
    """
    probabilities = data.get("histogram") if isinstance(data, dict) else None
    if not isinstance(probabilities, dict) or not probabilities:
        return None
    if not all(k.isascii() and k.isdigit() and isinstance(v, int | float) for k, v in probabilities.items()):
        return None
    width = max(int(k) for k in probabilities).bit_length() or 1
    return Histogram("Probability", sorted((format(int(k), f"0{width}b"), float(v)) for k, v in probabilities.items()))


def _honeywell_histogram(data: Any) -> Histogram | None:
    """`{"c": ["00", "11", ...]}`: one string per shot and register; registers joined by a space."""
    if not isinstance(data, dict) or not data:
        return None
    registers = list(data.values())
    if not all(isinstance(r, list) and all(isinstance(s, str) for s in r) for r in registers):
        return None
    if len({len(r) for r in registers}) != 1 or not registers[0]:
        return None  # registers of different lengths, or no shots
    counts = Counter(" ".join(shot) for shot in zip(*registers, strict=True))
    return Histogram("Count", sorted(counts.items()))


def job_output(item: Json, data: bytes, output: Output) -> None:
    """`-o json` writes the output as stored; table draws a bar per outcome, tsv lists them."""
    text = data.decode("utf-8", errors="replace")
    if output is Output.JSON:
        _write(text.rstrip("\n"))
        return
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        parsed = None
    found = histogram(str(item.get("outputDataFormat", "")), parsed)
    if found is None:
        _write(text.rstrip("\n"))
    elif output is Output.TSV:
        _rows(("Outcome", found.measure), [[outcome, str(value)] for outcome, value in found.bars], output)
    else:
        peak = max(value for _, value in found.bars) or 1.0
        table = Table("Outcome", Column(found.measure, justify="right"), "", box=None, pad_edge=False)
        for outcome, value in found.bars:
            shown = f"{value:.4f}" if found.measure == "Probability" else f"{value:g}"
            table.add_row(Text(outcome), shown, Bar(size=peak, begin=0, end=value, width=BAR_WIDTH))
        _stdout().print(table)


@contextlib.contextmanager
def waiting(job_id: str) -> Iterator[Callable[[str], None]]:
    """A live line on stderr while a job is waited for (spinner, status, time elapsed); gone when done."""
    console = Console(stderr=True)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    task = progress.add_task(f"job {job_id}", total=None)
    with progress:
        yield lambda status: progress.update(task, description=f"job {job_id} is {status}")


def _job_row(item: Json) -> list[str]:
    return [
        str(item.get("name") or ""),
        str(item.get("id") or ""),
        str(item.get("status") or ""),
        str(item.get("target") or ""),
        _utc(item.get("creationTime")),
        _utc(item.get("endExecutionTime")),
    ]


def _utc(value: Any) -> str:
    """An ISO 8601 time as `YYYY-MM-DD HH:MM:SS` in UTC; empty when there is none."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _rows(columns: Sequence[str], rows: Sequence[Sequence[str]], output: Output) -> None:
    rows = [[cell.translate(_ONE_LINE) for cell in row] for row in rows]
    if output is Output.TSV:
        for row in rows:
            _write("\t".join(row))
        return
    table = Table(*columns, box=None, pad_edge=False, padding=(0, 2, 0, 0))
    table.add_row(*("-" * max(cell_len(cell) for cell in column) for column in zip(columns, *rows, strict=True)))
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    _stdout().print(table)


def _stdout() -> Console:
    return Console(width=_AS_WIDE_AS_NEEDED)


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")

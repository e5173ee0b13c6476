"""What the user typed, turned into what the service takes: input parameters, formats, list filters."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

_OPENQASM = re.compile(rb"^\s*OPENQASM\s+(\d+)", re.MULTILINE)
_CONTENT_TYPES = {
    "ionq.circuit.v1": "application/json",
    "openqasm.v2": "application/qasm",
    "openqasm.v3": "application/qasm",
    "honeywell.openqasm.v1": "application/qasm",
}


def provider_of(target_id: str, providers: Sequence[dict[str, Any]]) -> str:
    """The provider that lists the target in the service's providerStatus (`echo-output` is
    `microsoft.test.firstparty`'s); a target no provider lists is taken as named by the part before its first
    dot (`ionq.simulator` → `ionq`), and the service says what it knows."""
    for provider in providers:
        if any(str(target.get("id", "")).lower() == target_id.lower() for target in provider.get("targets") or []):
            return str(provider["id"])
    return target_id.split(".", 1)[0].lower()


def job_params(values: Sequence[str]) -> dict[str, Any]:
    """Merge `--job-params` values: each a JSON object, or key=value pairs separated by spaces.

    A value that reads as JSON (`100`, `true`, `1.5`) is taken as such, anything else as a string.
    Raises ValueError naming what is wrong.
    """
    params: dict[str, Any] = {}
    for value in values:
        text = value.strip()
        if text.startswith("{"):
            try:
                params.update(json.loads(text))
            except json.JSONDecodeError as error:
                raise ValueError(f"{text!r} is not a valid JSON object ({error.msg}, column {error.colno})") from None
            continue
        for pair in text.split():
            key, sep, raw = pair.partition("=")
            if not sep or not key:
                raise ValueError(f"{pair!r} is neither key=value nor a JSON object")
            params[key] = _scalar(raw)
    return params


def _scalar(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def input_format(path: Path, program: bytes, target_id: str) -> str:
    """The format of an input file, from the file alone (`target_id` plays no part): `.json` is an IonQ
    circuit; OpenQASM by its `OPENQASM` header, 3 as `openqasm.v3` and 2 (or a `.qasm` file without a
    header) as `honeywell.openqasm.v1`, the OpenQASM 2 name the service's own blob drop picks first.
    Raises ValueError when the file says nothing that tells.
    """
    if path.suffix.lower() == ".json":
        return "ionq.circuit.v1"
    header = _OPENQASM.search(program)
    if header is None and path.suffix.lower() != ".qasm":
        raise ValueError(f"cannot tell the format of {path.name}; pass --job-input-format")
    if header is not None and header.group(1) == b"3":
        return "openqasm.v3"
    return "honeywell.openqasm.v1"


def content_type(input_data_format: str) -> str:
    return _CONTENT_TYPES.get(input_data_format, "application/octet-stream")


def job_filter(
    *,
    name_prefix: str | None,
    provider_ids: Sequence[str],
    target_ids: Sequence[str],
    statuses: Sequence[str],
    created_after: date | None,
) -> str | None:
    """The list filter in the SDK's grammar, e.g.
    `startswith(Name, 'bell') and (ProviderId eq 'ionq') and (State eq 'Succeeded' or State eq 'Failed')
    and CreationTime ge 2024-01-01`.
    """
    clauses = [f"startswith(Name, {_quoted(name_prefix)})"] if name_prefix else []
    for field, values in (("ProviderId", provider_ids), ("Target", target_ids), ("State", statuses)):
        if values:
            clauses.append("(" + " or ".join(f"{field} eq {_quoted(v)}" for v in values) + ")")
    if created_after is not None:
        clauses.append(f"CreationTime ge {created_after.isoformat()}")
    return " and ".join(clauses) or None


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"

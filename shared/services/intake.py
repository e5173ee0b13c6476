"""Blob drop: a program dropped into the `programs` container becomes exactly one job, valid or not.

The job id is derived from the blob's name and content, so the trigger firing twice for the same
blob finds the job it already made. Options come from blob metadata (keys are case-insensitive):

| key               | meaning                                              | default                         |
|-------------------|------------------------------------------------------|---------------------------------|
| `target`          | target id, e.g. `ionq.simulator` (required)          | -                               |
| `jobname`         | the job's name                                       | the blob's name                 |
| `shots`           | number of shots                                      | the target's default            |
| `inputdataformat` | e.g. `ionq.circuit.v1`, `openqasm.v3`                | from the file's extension/header|
| `inputparams`     | a JSON object of further input parameters            | `{}`                            |
| `priority`        | `Standard` or `High`                                 | `Standard`                      |
| `tags`            | comma-separated tags                                 | none                            |
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping

from pydantic import JsonValue, ValidationError

from shared.domain.callers import SERVICE
from shared.domain.catalog import TargetSpec
from shared.domain.errors import (
    Diagnostic,
    InputTooLargeError,
    InvalidRequestError,
    PermanentJobError,
    UnsupportedFormatError,
)
from shared.domain.jobs import Job
from shared.domain.storage import INPUT_BLOB, check_blob_name, job_container
from shared.services.pipeline import Pipeline
from shared.services.submit import JobSubmission, submit_failed, submit_job

logger = logging.getLogger(__name__)

DROP_NAMESPACE = uuid.UUID("6f1c2a52-9a1e-4c55-8d0e-6a0f3b7f4b11")
_KNOWN_KEYS = frozenset({"target", "jobname", "shots", "inputdataformat", "inputparams", "priority", "tags"})


def drop_job_id(container: str, blob_name: str, data: bytes) -> str:
    return str(uuid.uuid5(DROP_NAMESPACE, f"{container}/{blob_name}\n{hashlib.sha256(data).hexdigest()}"))


def intake_blob(
    p: Pipeline,
    container: str,
    blob_name: str,
    size: int | None,
    read: Callable[[], bytes],
    metadata: Mapping[str, str],
) -> Job:
    """A dropped blob as a job, its size (from its properties) checked before `read` fetches the body.

    A blob over the input limit, or one the trigger gave up reading (its `read` raises a PermanentJobError),
    becomes a Failed job that says so; its id comes from the blob's name and size, as its content is unread.
    """
    if size is not None and size > p.limits.max_input_bytes:
        too_large = InputTooLargeError(
            f"The program is {size} bytes; the limit is {p.limits.max_input_bytes}.", target="inputData"
        )
        return _unread(p, container, blob_name, f"{size} bytes", metadata, too_large)
    try:
        data = read()
    except PermanentJobError as error:
        return _unread(p, container, blob_name, "unreadable", metadata, error)
    return intake_program(p, container, blob_name, data, metadata)


def _unread(
    p: Pipeline, container: str, blob_name: str, what: str, metadata: Mapping[str, str], error: PermanentJobError
) -> Job:
    """The Failed job of a blob whose body was never read; one per blob name and `what` was wrong."""
    job_id = str(uuid.uuid5(DROP_NAMESPACE, f"{container}/{blob_name}\n{what}"))
    logger.info("Dropped blob %s/%s was not read: %s", container, blob_name, error.message)
    meta = {k.lower(): v for k, v in metadata.items()}
    input_uri = p.artifacts.blob_url(job_container(job_id), INPUT_BLOB)
    return submit_failed(p, job_id, _fallback(blob_name, meta, input_uri), error, cause=f"Dropped into {container}")


def intake_program(p: Pipeline, container: str, blob_name: str, data: bytes, metadata: Mapping[str, str]) -> Job:
    job_id = drop_job_id(container, blob_name, data)
    existing = p.jobs.get(job_id)
    if existing is not None:
        logger.info("Blob %s/%s was already taken in as job %s", container, blob_name, job_id)
        return existing
    cause = f"Dropped into {container}"
    meta = {k.lower(): v for k, v in metadata.items()}
    input_uri = p.artifacts.blob_url(job_container(job_id), INPUT_BLOB)
    try:
        if len(data) > p.limits.max_input_bytes:
            raise InputTooLargeError(
                f"The program is {len(data)} bytes; the limit is {p.limits.max_input_bytes}.",
                target="inputData",
            )
        p.artifacts.ensure_container(job_container(job_id))
        p.artifacts.put(job_container(job_id), INPUT_BLOB, data, "application/octet-stream", overwrite=False)
        check_blob_name(blob_name, target="blobName")
        submission = _submission(p, blob_name, data, meta, input_uri)
        return submit_job(p, job_id, submission, cause=cause, caller=SERVICE).job
    except PermanentJobError as error:
        logger.info("Dropped blob %s/%s is not a runnable job: %s", container, blob_name, error.message)
        return submit_failed(p, job_id, _fallback(blob_name, meta, input_uri), error, cause=cause)


def _submission(p: Pipeline, blob_name: str, data: bytes, meta: Mapping[str, str], input_uri: str) -> JobSubmission:
    unknown = sorted(set(meta) - _KNOWN_KEYS)
    if unknown:
        raise InvalidRequestError(
            f"Unknown metadata key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(_KNOWN_KEYS))}.",
            target="metadata",
        )
    if "target" not in meta:
        raise InvalidRequestError(
            "Metadata 'target' is required, e.g. target=ionq.simulator.", target="metadata.target"
        )
    provider = p.catalog.provider_of(meta["target"])
    target = p.catalog.target(provider.id, meta["target"])
    params: dict[str, JsonValue] = _json_object(meta.get("inputparams", "{}"))
    if "shots" in meta:
        params["shots"] = _whole_number(meta["shots"])
    fields: dict[str, object] = {
        "name": meta.get("jobname") or blob_name.rsplit("/", 1)[-1],
        "providerId": provider.id,
        "target": target.id,
        "inputDataUri": input_uri,
        "inputDataFormat": meta.get("inputdataformat") or _infer_format(p, blob_name, data, target),
        "inputParams": params,
        "priority": meta.get("priority"),
        "tags": [t.strip() for t in meta["tags"].split(",") if t.strip()] if "tags" in meta else None,
    }
    try:
        return JobSubmission.model_validate(fields)
    except ValidationError as error:
        raise InvalidRequestError(
            "The blob's metadata is not valid.",
            diagnostics=[
                Diagnostic(code="InvalidMetadata", message=e["msg"], path=".".join(str(x) for x in e["loc"]))
                for e in error.errors()
            ],
            target="metadata",
        ) from None


def _fallback(blob_name: str, meta: Mapping[str, str], input_uri: str) -> JobSubmission:
    try:
        check_blob_name(blob_name, target="blobName")
        name = blob_name.rsplit("/", 1)[-1][:256]
    except InvalidRequestError:
        name = "rejected-blob"
    return JobSubmission(
        name=name,
        provider_id="unknown",
        target=(meta.get("target") or "unknown")[:128],
        input_data_uri=input_uri,
        input_data_format=(meta.get("inputdataformat") or "unknown")[:128],
    )


def _infer_format(p: Pipeline, blob_name: str, data: bytes, target: TargetSpec) -> str:
    """From the blob's name and first bytes: the first of their kind's formats that the target takes."""
    sniffed = p.programs.sniff(blob_name, data)
    if sniffed is None:
        raise UnsupportedFormatError(
            "Cannot tell the program's format: set metadata 'inputdataformat', "
            f"one of {', '.join(target.input_formats)}.",
            target="metadata.inputdataformat",
        )
    for candidate in sniffed.formats:
        if candidate in target.input_formats:
            return candidate
    raise UnsupportedFormatError(
        f"{target.id} does not take {sniffed.kind} programs; it takes {', '.join(target.input_formats)}.",
        target="metadata.inputdataformat",
    )


def _json_object(text: str) -> dict[str, JsonValue]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidRequestError(
            f"Metadata 'inputparams' is not JSON: {error.msg} at column {error.colno}.",
            target="metadata.inputparams",
        ) from None
    if not isinstance(value, dict):
        raise InvalidRequestError("Metadata 'inputparams' must be a JSON object.", target="metadata.inputparams")
    return value


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidRequestError(
            f"Metadata 'shots' must be a whole number, got {text!r}.", target="metadata.shots"
        ) from None

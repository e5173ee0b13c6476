"""Where a job's data lives in Blob storage (Azure Quantum's layout), and what a client may touch there.

Every job has a container `job-{id}`: the client uploads `inputData`; the service alone writes
`rawOutputData`, and, only for a program or output too large to travel in a queue message (a claim
check), `translatedInput` and `providerOutput`. The job records the sha256 of the input it
validated and of the output it wrote, and the service checks them before each use.
"""

from __future__ import annotations

import hashlib
import re

from shared.domain.errors import InvalidRequestError

INPUT_BLOB = "inputData"
TRANSLATED_BLOB = "translatedInput"
OUTPUT_BLOB = "rawOutputData"
STAGED_OUTPUT_BLOB = "providerOutput"
JOB_CONTAINER_PREFIX = "job-"
_JOB_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def job_container(job_id: str) -> str:
    return f"{JOB_CONTAINER_PREFIX}{job_id}"


def job_of_container(container: str) -> str | None:
    """The job id whose container this is, or None for any other container."""
    if not container.startswith(JOB_CONTAINER_PREFIX):
        return None
    job_id = container[len(JOB_CONTAINER_PREFIX) :]
    return job_id if len(job_id) <= 36 and _JOB_ID.match(job_id) else None


def check_blob_name(name: str, *, target: str) -> None:
    """Refuse blob names that could be read as paths elsewhere: dot segments, backslashes, controls."""
    segments = name.split("/")
    problem = None
    if name.startswith("/") or name.endswith("/"):
        problem = "it starts or ends with '/'"
    elif any(s in {"", ".", ".."} for s in segments):
        problem = "it has an empty, '.' or '..' path segment"
    elif "\\" in name:
        problem = "it contains a backslash"
    elif any(ord(c) < 32 or ord(c) == 127 for c in name):
        problem = "it contains a control character"
    elif len(name) > 1024:
        problem = "it is longer than 1024 characters"
    if problem:
        raise InvalidRequestError(f"Blob name {name[:80]!r} is not accepted: {problem}.", target=target)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

"""What every service needs: the ports, the catalog and the limits, bundled once by bootstrap."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from shared.domain.catalog import Catalog
from shared.domain.errors import InvalidRequestError, JobNotFoundError, JobServiceError, StaleWriteError
from shared.domain.jobs import CostEstimate, ErrorData, Job
from shared.domain.pricing import Pricing, load_pricing
from shared.ports import ArtifactStore, Clock, JobStore, MessageSender, SessionStore
from shared.services.notify import PublishingJobStore

logger = logging.getLogger(__name__)

INPUT_BLOB = "inputData"
TRANSLATED_BLOB = "translatedInput"
OUTPUT_BLOB = "rawOutputData"
STAGED_OUTPUT_BLOB = "providerOutput"
_JOB_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Limits:
    max_input_bytes: int
    inline_message_bytes: int
    waiting_deadline: timedelta
    executing_deadline: timedelta
    max_redrives: int
    sas_ttl: timedelta


@dataclass(frozen=True)
class Pipeline:
    jobs: JobStore
    sessions: SessionStore
    artifacts: ArtifactStore
    sender: MessageSender
    clock: Clock
    catalog: Catalog
    limits: Limits
    pricing: Pricing = field(default_factory=load_pricing)
    # The same object as `jobs` when job events are published; the sweeper republishes through it.
    outbox: PublishingJobStore | None = None

    def full_cost(self, job: Job) -> CostEstimate:
        """What the job costs when it runs in full."""
        return self.pricing.cost(job.details.target, job.size, self.shots(job))

    def shots(self, job: Job) -> int:
        return job.shots or self.catalog.target(job.details.provider_id, job.details.target).default_shots

    def require(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise JobNotFoundError(f"Job '{job_id}' does not exist in this workspace.", target="jobId")
        return job


def inline(p: Pipeline, data: bytes) -> bytes | None:
    """The data itself when it is small enough to travel in a message, else None (read it from its blob)."""
    return data if len(data) <= p.limits.inline_message_bytes else None


def job_container(job_id: str) -> str:
    return f"job-{job_id}"


def input_location(p: Pipeline, job: Job) -> tuple[str, str]:
    """Where the job's input blob is: the container and name in its inputDataUri."""
    location = p.artifacts.locate(job.details.input_data_uri)
    if location is None:
        raise InvalidRequestError(
            f"inputDataUri {job.details.input_data_uri} is not in this workspace's storage.",
            target="inputDataUri",
        )
    return location


def normalize_job_id(raw: str, field: str = "jobId") -> str:
    """Job ids are at most 36 letters, digits and single hyphens (a UUID fits), case-insensitive.

    They name the blob container `job-{id}`, whose rules (lowercase, no doubled or edge hyphens)
    they therefore follow.
    """
    job_id = raw.strip().lower()
    if not 1 <= len(job_id) <= 36 or not _JOB_ID.match(job_id):
        raise InvalidRequestError(
            f"{field} '{raw[:60]}' is not valid: use 1-36 letters, digits and single inner hyphens, such as a UUID.",
            target=field,
        )
    return job_id


def error_data(error: JobServiceError) -> ErrorData:
    """The errorData a person reads on a failed job: what went wrong and, per finding, where."""
    details = tuple(ErrorData(code=d.code, message=d.render(), target=d.location()) for d in error.diagnostics)
    message = error.message
    if error.diagnostics and error.diagnostics[0].render() not in message:
        message = f"{message} {error.diagnostics[0].render()}"
    if len(error.diagnostics) > 1:
        message += f" (and {len(error.diagnostics) - 1} more)"
    return ErrorData(code=error.code, message=message, target=error.target, details=details)


T = TypeVar("T")


def retry_stale(operation: Callable[[], T], attempts: int = 5) -> T:
    """Run a read-modify-write again when a concurrent writer won the race."""
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except StaleWriteError:
            if attempt == attempts:
                raise
            logger.debug("Concurrent update, retrying (attempt %d)", attempt)
    raise AssertionError("unreachable")  # pragma: no cover

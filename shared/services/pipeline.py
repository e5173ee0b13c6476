"""What every service needs: the ports, the catalog and the limits, bundled once by bootstrap."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from shared.domain.catalog import Catalog
from shared.domain.errors import (
    InputChangedError,
    InvalidRequestError,
    JobNotFoundError,
    JobServiceError,
    StaleWriteError,
)
from shared.domain.jobs import CostEstimate, ErrorData, Job
from shared.domain.pricing import Pricing, load_pricing
from shared.domain.storage import check_blob_name, job_of_container, sha256
from shared.ports import ArtifactStore, Clock, JobStore, MessageSender, Programs, SessionStore
from shared.services.notify import PublishingJobStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    max_input_bytes: int
    inline_message_bytes: int
    waiting_deadline: timedelta
    executing_deadline: timedelta
    max_redrives: int
    sas_ttl: timedelta
    programs_container: str = "programs"


@dataclass(frozen=True)
class Pipeline:
    jobs: JobStore
    sessions: SessionStore
    artifacts: ArtifactStore
    sender: MessageSender
    clock: Clock
    catalog: Catalog
    limits: Limits
    programs: Programs
    pricing: Pricing = field(default_factory=load_pricing)
    # The same object as `jobs` when job events are published; the sweeper republishes through it.
    outbox: PublishingJobStore | None = None

    def full_cost(self, job: Job) -> CostEstimate:
        """What the job costs when it runs in full."""
        return self.pricing.cost(job.details.target, job.size, self.shots(job))

    def shots(self, job: Job) -> int:
        """The shots the job runs: inputParams.shots, else inputParams.count (older SDKs' name for it), else the
        default of its target for its input format, as the provider's."""
        count = job.details.input_params.get("count")
        if job.shots is not None:
            return job.shots
        if isinstance(count, int) and not isinstance(count, bool):
            return count
        target = self.catalog.target(job.details.provider_id, job.details.target)
        return target.default_shots_for(job.details.input_data_format)

    def require(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise JobNotFoundError(f"Job '{job_id}' does not exist in this workspace.", target="jobId")
        return job


def inline(p: Pipeline, data: bytes) -> bytes | None:
    """The data itself when it is small enough to travel in a message, else None (read it from its blob)."""
    return data if len(data) <= p.limits.inline_message_bytes else None


def input_blob(p: Pipeline, uri: str, field: str = "inputDataUri") -> tuple[str, str]:
    """(container, blob) of a program to read: a blob in a job container (`job-{id}`) of this workspace's storage.

    The service reads it with its own rights, so nothing outside the job containers may be named.
    """
    location = p.artifacts.locate(uri)
    if location is None or job_of_container(location[0]) is None:
        raise InvalidRequestError(
            f"{field} must name a blob in a job container (job-{{id}}) of this workspace's storage account: get the "
            "container's URL from storage/sasUri and upload the program there.",
            target=field,
        )
    check_blob_name(location[1], target=field)
    return location


def read_input(p: Pipeline, job: Job) -> bytes:
    """The job's input program, exactly as it was validated at submit (its sha256 is on the job)."""
    data = p.artifacts.get(*input_blob(p, job.details.input_data_uri), max_bytes=p.limits.max_input_bytes)
    if job.input_sha256 is not None and sha256(data) != job.input_sha256:
        raise InputChangedError(
            f"The input at {job.details.input_data_uri} changed after the job was submitted: its sha256 is no "
            f"longer {job.input_sha256}. Submit the program again as a new job.",
            target="inputDataUri",
        )
    return data


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

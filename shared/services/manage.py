"""What users do to jobs after submit: look, list, rename, cancel, delete; and the workspace views."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.errors import InputNotFoundError, InvalidRequestError, NotCancellableError, NotFoundError
from shared.domain.jobs import ACTIVE, CostEstimate, Job, JobStatus, Priority
from shared.domain.query import MAX_PAGE, JobQuery
from shared.services.pipeline import OUTPUT_BLOB, Pipeline, job_container, retry_stale

logger = logging.getLogger(__name__)

_CONTAINER = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$")


class JobUpdate(BaseModel):
    """The body of `PATCH jobs/{id}` (merge patch): only these fields may change."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=256)
    priority: Priority | None = None
    tags: tuple[str, ...] | None = Field(None, max_length=50)


@dataclass(frozen=True)
class Page:
    jobs: list[Job]
    next_skip: int | None


def list_jobs(p: Pipeline, query: JobQuery) -> Page:
    """One page of jobs, and where the next page starts if there is one."""
    rows = p.jobs.query(replace(query, top=min(query.top, MAX_PAGE) + 1))
    size = min(query.top, MAX_PAGE)
    more = len(rows) > size
    return Page(rows[:size], query.skip + size if more else None)


def update_job(p: Pipeline, job_id: str, update: JobUpdate) -> Job:
    changes = update.model_dump(exclude_unset=True)
    if any(value is None for value in changes.values()):
        raise InvalidRequestError("name, priority and tags cannot be set to null.", target="body")

    def apply() -> Job:
        return p.jobs.replace(p.require(job_id).with_details(**changes, last_updated_time=p.clock.now()))

    return retry_stale(apply)


def cancel_job(p: Pipeline, job_id: str) -> Job:
    """Cancel a Waiting job at once, an Executing one where its target allows; refuse a final one."""

    def apply() -> Job:
        job = p.require(job_id)
        if job.is_final:
            raise NotCancellableError(f"Job '{job_id}' is already {job.status}; a final job cannot be cancelled.")
        target = p.catalog.target(job.details.provider_id, job.details.target)
        if job.status is JobStatus.EXECUTING and not target.cancels_executing:
            raise NotCancellableError(f"Job '{job_id}' is Executing and {target.id} cannot stop a running job.")
        now = p.clock.now()
        cost, cause = _cancellation(p, job, now)
        return p.jobs.replace(job.transition_to(JobStatus.CANCELLED, at=now, cause=cause, cost=cost))

    job = retry_stale(apply)
    logger.info("Job %s is Cancelled", job_id, extra={"job_id": job_id})
    return job


def _cancellation(p: Pipeline, job: Job, now: datetime) -> tuple[CostEstimate, str]:
    """What a cancel bills, and the history's words for it: nothing before execution, the part that ran after."""
    began = job.details.begin_execution_time
    elapsed = (now - began).total_seconds() if job.status is JobStatus.EXECUTING and began else 0.0
    ran = p.pricing.part_ran(job.details.target, p.shots(job), elapsed) if elapsed else 0.0
    cost = p.pricing.cost(job.details.target, job.size, p.shots(job), ran=ran)
    if cost.estimated_total == 0:
        return cost, "Cancelled by the user"
    billed = f"{cost.estimated_total:.2f} {cost.currency_code}"
    return cost, f"Cancelled by the user after {ran:.0%} of its expected run; billed {billed} for that part"


def delete_job(p: Pipeline, job_id: str) -> None:
    """Older SDKs cancel by DELETE: an active job is cancelled; a final one is deleted with its blobs."""
    job = p.require(job_id)
    if job.status in ACTIVE:
        cancel_job(p, job_id)
        return
    p.artifacts.delete_container(job_container(job_id))
    p.jobs.delete(job_id)
    logger.info("Job %s deleted", job_id, extra={"job_id": job_id})


MAX_VIEW_BYTES = 8 * 1024 * 1024


def job_blob(p: Pipeline, job_id: str, which: str) -> tuple[bytes, str]:
    """A job's input program or output, for clients that cannot reach blob storage themselves (a browser).

    `which` is "input" or "output"; returns the bytes and the job's format for them.
    """
    job = p.require(job_id)
    if which == "input":
        location = p.artifacts.locate(job.details.input_data_uri)
        if location is None:
            raise InputNotFoundError(f"Job '{job_id}' has no input in this workspace's storage.")
        return p.artifacts.get(*location, max_bytes=MAX_VIEW_BYTES), job.details.input_data_format
    if job.status is not JobStatus.SUCCEEDED:
        raise NotFoundError(f"Job '{job_id}' is {job.status}; only a Succeeded job has output.", target="jobId")
    data = p.artifacts.get(job_container(job_id), OUTPUT_BLOB, max_bytes=MAX_VIEW_BYTES)
    return data, job.details.output_data_format


class SasRequest(BaseModel):
    model_config = ConfigDict(alias_generator=None, populate_by_name=True, frozen=True, extra="forbid")

    containerName: str = Field(min_length=3, max_length=63)  # noqa: N815 - the wire name
    blobName: str | None = Field(None, min_length=1, max_length=1024)  # noqa: N815 - the wire name


def sas_uri(p: Pipeline, request: SasRequest) -> str:
    """A short-lived SAS URL: for a container (created if needed) or for one blob in it (read only)."""
    if not _CONTAINER.match(request.containerName):
        raise InvalidRequestError(
            f"containerName '{request.containerName}' is not a valid container name: use 3-63 lowercase "
            "letters, digits and single hyphens, starting and ending with a letter or digit.",
            target="containerName",
        )
    if request.blobName is None:
        p.artifacts.ensure_container(request.containerName)
        return p.artifacts.container_sas_url(request.containerName, p.limits.sas_ttl)
    check_blob_name(request.blobName, target="blobName")
    return p.artifacts.blob_sas_url(request.containerName, request.blobName, p.limits.sas_ttl)


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

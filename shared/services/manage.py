"""What users do to jobs after submit: look, list, rename, cancel, delete; and the workspace views."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.callers import KEY_HOLDER, Caller
from shared.domain.errors import (
    ForbiddenError,
    IntegrityError,
    InvalidRequestError,
    NotCancellableError,
    NotFoundError,
)
from shared.domain.jobs import ACTIVE, CostEstimate, Job, JobStatus, Priority
from shared.domain.query import MAX_PAGE, Continuation, JobQuery
from shared.domain.storage import INPUT_BLOB, OUTPUT_BLOB, check_blob_name, job_container, job_of_container, sha256
from shared.services.pipeline import Pipeline, read_input, retry_stale

logger = logging.getLogger(__name__)


class JobUpdate(BaseModel):
    """The body of `PATCH jobs/{id}` (merge patch): only these fields may change."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=256)
    priority: Priority | None = None
    tags: tuple[str, ...] | None = Field(None, max_length=50)


@dataclass(frozen=True)
class Page:
    jobs: list[Job]
    next: Continuation | None


def list_jobs(p: Pipeline, query: JobQuery) -> Page:
    """One page of jobs, and where the next page starts if there is one."""
    size = min(query.top, MAX_PAGE)
    rows = p.jobs.query(replace(query, top=size + 1))[: size + 1]
    page = rows[:size]
    return Page(page, query.continuation([j.details for j in page]) if len(rows) > size else None)


def update_job(p: Pipeline, job_id: str, update: JobUpdate, caller: Caller = KEY_HOLDER) -> Job:
    changes = update.model_dump(exclude_unset=True)
    if any(value is None for value in changes.values()):
        raise InvalidRequestError("name, priority and tags cannot be set to null.", target="body")

    def apply() -> Job:
        job = p.require(job_id).modified_by(caller)
        return p.jobs.replace(job.with_details(**changes, last_updated_time=p.clock.now()))

    return retry_stale(apply)


def cancel_job(p: Pipeline, job_id: str, caller: Caller = KEY_HOLDER) -> Job:
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
        return p.jobs.replace(
            job.transition_to(JobStatus.CANCELLED, at=now, cause=cause, cost=cost).modified_by(caller)
        )

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


def delete_job(p: Pipeline, job_id: str, caller: Caller = KEY_HOLDER) -> None:
    """Older SDKs cancel by DELETE: an active job is cancelled; a final one is deleted with its blobs."""
    job = p.require(job_id)
    if job.status in ACTIVE:
        cancel_job(p, job_id, caller)
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
        return read_input(p, job), job.details.input_data_format
    if job.status is not JobStatus.SUCCEEDED:
        raise NotFoundError(f"Job '{job_id}' is {job.status}; only a Succeeded job has output.", target="jobId")
    data = p.artifacts.get(job_container(job_id), OUTPUT_BLOB, max_bytes=MAX_VIEW_BYTES)
    if job.output_sha256 is not None and sha256(data) != job.output_sha256:
        raise IntegrityError(f"The stored output of job '{job_id}' is not the output the service recorded.")
    return data, job.details.output_data_format


def output_url(p: Pipeline, job: Job) -> str:
    """The job's output blob with a read-only SAS for that blob alone, as Azure puts it in outputDataUri."""
    container, store = job_container(job.id), p.artifacts
    return f"{store.blob_url(container, OUTPUT_BLOB)}?{store.sas_token(container, OUTPUT_BLOB, 'r', p.limits.sas_ttl)}"


class SasRequest(BaseModel):
    model_config = ConfigDict(alias_generator=None, populate_by_name=True, frozen=True, extra="forbid")

    containerName: str = Field(min_length=3, max_length=63)  # noqa: N815 - the wire name
    blobName: str | None = Field(None, min_length=1, max_length=1024)  # noqa: N815 - the wire name


def sas_uri(p: Pipeline, request: SasRequest, caller: Caller = KEY_HOLDER) -> str:
    """A short-lived SAS URL granting the least that the SDK's flow needs, and only on job data.

    - A blob (`blobName` given) of a submitted job's container: read, to download the output.
    - A job container whose job does not exist yet: the container URL with a SAS that may only create
      `inputData` (no read, list or overwrite); the SDK uploads the program there, then submits.
    - A submitted job's container: read and list (attachments); nothing a client writes reaches a job
      after submit.
    - The programs container: create new blobs (drops), nothing else.
    Anything else (the host's own containers, deployment packages) is refused, and so is a grant to create
    blobs asked for by a reader of the workspace.
    """
    name, blob, ttl, store = request.containerName, request.blobName, p.limits.sas_ttl, p.artifacts
    if blob is not None:
        check_blob_name(blob, target="blobName")
        p.require(_job_of(p, name))
        return f"{store.blob_url(name, blob)}?{store.sas_token(name, blob, 'r', ttl)}"
    if name != p.limits.programs_container and p.jobs.get(_job_of(p, name)) is not None:
        return f"{store.container_url(name)}?{store.sas_token(name, None, 'rl', ttl)}"
    if not caller.contributor:
        raise ForbiddenError(f"{caller.name} is a reader of this workspace; only contributors upload programs.")
    if name == p.limits.programs_container:
        return f"{store.container_url(name)}?{store.sas_token(name, None, 'c', ttl)}"
    store.ensure_container(name)
    return f"{store.container_url(name)}?{store.sas_token(name, INPUT_BLOB, 'c', ttl)}"


def _job_of(p: Pipeline, container: str) -> str:
    job_id = job_of_container(container)
    if job_id is None:
        raise InvalidRequestError(
            f"containerName '{container}' is not a job container: SAS URLs are issued only for job containers "
            f"(job-{{id}}, with an id of 1-36 lowercase letters, digits and single inner hyphens) and for drops "
            f"into '{p.limits.programs_container}'.",
            target="containerName",
        )
    return job_id

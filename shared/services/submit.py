"""Submit: validate a job request, store the job as Waiting, and route it to its provider's queue.

A request that is wrong is refused (4xx) and writes nothing. A well-formed request whose program cannot run on
its target is accepted, as Azure accepts it, and stored Failed at once with the diagnostics in errorData.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, JsonValue

from shared.domain.callers import KEY_HOLDER, SERVICE, Caller
from shared.domain.errors import InvalidRequestError, JobExistsError, PermanentJobError
from shared.domain.ids import JobId, SessionId
from shared.domain.jobs import ItemRequest, Job, JobDetails, JobStatus, fingerprint
from shared.domain.messages import TranslateJob
from shared.domain.storage import INPUT_BLOB, OUTPUT_BLOB, job_container, sha256
from shared.services import quotas, sessions
from shared.services.pipeline import Pipeline, error_data, inline, input_blob
from shared.services.validate import check_program, check_request

logger = logging.getLogger(__name__)


class JobSubmission(ItemRequest):
    """The body of `PUT jobs/{id}`: the create-time fields of JobDetails."""

    id: JobId | None = None
    item_type: str | None = Field(None, pattern="^Job$")
    job_type: str | None = Field(None, pattern="^QuantumComputing$")
    session_id: SessionId | None = None
    container_uri: str | None = Field(None, max_length=2048)
    input_data_uri: str | None = Field(None, min_length=1, max_length=2048, description="default: job-{id}/inputData")
    input_data_format: str = Field(min_length=1, max_length=128)
    input_params: dict[str, JsonValue] = Field(default_factory=dict)
    metadata: dict[str, JsonValue] | None = None
    output_data_format: str | None = Field(None, max_length=128)


@dataclass(frozen=True)
class Submitted:
    job: Job
    created: bool


def submit_job(
    p: Pipeline, job_id: str, submission: JobSubmission, *, cause: str, caller: Caller = KEY_HOLDER
) -> Submitted:
    """Create the job, or return the stored one when the same request is replayed.

    The request is checked before anything is written: the target and formats, shots, quota, session
    and the input blob (it must be in this workspace's storage and within the size limit). A program
    that cannot run on the target makes a job that is Failed at once, its diagnostics in errorData.
    A different request for an existing id is a JobExistsError.
    """
    if submission.id is not None and submission.id != job_id:
        raise InvalidRequestError(f"The body's id '{submission.id}' differs from the path's '{job_id}'.", target="id")
    input_uri = _input_uri(p, job_id, submission)
    digest = fingerprint(_identity(submission, input_uri))
    existing = p.jobs.get(job_id)
    if existing is not None:
        return _replay(p, existing, digest)
    checked = check_request(
        p,
        submission.provider_id,
        submission.target,
        submission.input_data_format,
        submission.output_data_format,
        submission.input_params,
    )
    target = checked.target
    quotas.enforce(p, p.catalog.provider(submission.provider_id))
    session_id = submission.session_id
    if session_id is not None:
        sessions.admit(p, session_id, submission.provider_id, target.id)
    container, blob = input_blob(p, input_uri)
    program = p.artifacts.get(container, blob, max_bytes=p.limits.max_input_bytes)
    if container != job_container(job_id):
        p.artifacts.ensure_container(job_container(job_id))
    output_format = checked.route.recorded_output_format(submission.output_data_format)
    details = _details(p, job_id, submission, input_uri, caller, target.id, checked.params, output_format)
    job = Job.new(details, digest, cause).model_copy(update={"input_sha256": sha256(program)})
    try:
        info = check_program(p.programs, program, submission.input_data_format, target)
    except PermanentJobError as error:
        job = _rejected(job, error)
    else:
        job = job.model_copy(update={"size": info.size})
        job = job.with_details(cost_estimate=p.full_cost(job))
    # Accepting the job acknowledges its input: it must outlive a crash of storage as the job record does.
    p.artifacts.retain(container, blob, program, p.programs.content_type(submission.input_data_format))
    try:
        stored = p.jobs.create(job)
    except JobExistsError:
        raced = p.jobs.get(job_id)
        if raced is None:
            raise
        return _replay(p, raced, digest)
    if session_id is not None:
        sessions.joined(p, session_id)
    if stored.status is JobStatus.FAILED:
        logger.info("Job %s is Failed: its program cannot run on %s", job_id, target.id, extra={"job_id": job_id})
    else:
        logger.info("Job %s submitted to %s", job_id, target.id, extra={"job_id": job_id})
        route(p, stored, inline(p, program))
    return Submitted(stored, created=True)


def submit_failed(p: Pipeline, job_id: str, submission: JobSubmission, error: PermanentJobError, *, cause: str) -> Job:
    """Store a job that failed validation, so a dropped program that cannot run is still visible."""
    output_format = submission.output_data_format or "unknown"
    input_uri = _input_uri(p, job_id, submission)
    details = _details(
        p, job_id, submission, input_uri, SERVICE, submission.target, submission.input_params, output_format
    )
    job = Job.new(details, fingerprint(_identity(submission, input_uri)), cause)
    try:
        return p.jobs.create(_rejected(job, error))
    except JobExistsError:
        return p.require(job_id)


def route(p: Pipeline, job: Job, program: bytes | None = None) -> None:
    """Send the job to its provider's queue; duplicate detection makes a repeat harmless."""
    provider = p.catalog.provider(job.details.provider_id)
    message = TranslateJob(job_id=job.id, attempt=job.redrives, job_created=job.details.creation_time, program=program)
    p.sender.send(provider.queue, message)


def _replay(p: Pipeline, existing: Job, digest: str) -> Submitted:
    if existing.fingerprint != digest:
        raise JobExistsError(
            f"Job '{existing.id}' already exists with a different request; choose a new job id.",
            target="jobId",
        )
    if existing.status is JobStatus.WAITING:
        route(p, existing)
    return Submitted(existing, created=False)


def _rejected(job: Job, error: PermanentJobError) -> Job:
    """The new job Failed at once, never queued, its errorData saying what is wrong and where."""
    at = job.details.creation_time
    return job.transition_to(JobStatus.FAILED, at=at, cause="Rejected by validation", error=error_data(error))


def _input_uri(p: Pipeline, job_id: str, submission: JobSubmission) -> str:
    """The input's blob URL: as given, or by default the `inputData` blob of the job's own container."""
    return submission.input_data_uri or p.artifacts.blob_url(job_container(job_id), INPUT_BLOB)


def _identity(submission: JobSubmission, input_uri: str) -> dict[str, JsonValue]:
    """What tells a replay from a different request; an absent inputDataUri is its default."""
    payload = submission.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"id"})
    payload["inputDataUri"] = input_uri
    if submission.container_uri:
        payload["containerUri"] = _without_query(submission.container_uri)
    return payload


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _details(
    p: Pipeline,
    job_id: str,
    submission: JobSubmission,
    input_uri: str,
    caller: Caller,
    target_id: str,
    params: dict[str, JsonValue],
    output_format: str,
) -> JobDetails:
    """The job's own container `job-{id}` holds its translated input and output, wherever the input is."""
    now = p.clock.now()
    container = job_container(job_id)
    return JobDetails(
        id=job_id,
        name=submission.name or job_id,
        provider_id=submission.provider_id,
        target=target_id,
        session_id=submission.session_id,
        container_uri=p.artifacts.container_url(container),
        input_data_uri=_without_query(input_uri),
        input_data_format=submission.input_data_format,
        input_params=params,
        metadata=submission.metadata,
        output_data_uri=p.artifacts.blob_url(container, OUTPUT_BLOB),
        output_data_format=output_format,
        priority=submission.priority or "Standard",
        tags=submission.tags or (),
        creation_time=now,
        last_updated_time=now,
        created_by=caller.name,
        created_by_type=caller.kind,
        last_modified_by=caller.name,
        last_modified_by_type=caller.kind,
    )

"""The pipeline after submit: translate, run on the provider, record the outcome.

Each step is idempotent. It reads the job first and does nothing for a job that is already past
the step (or final), so a redelivered or duplicated message changes nothing. State changes are
conditional writes: a lost race raises StaleWriteError, a transient error, and the message is
delivered again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from shared.domain.catalog import Route
from shared.domain.errors import CannotTranslateOutputError, InputNotFoundError, PermanentJobError, SessionAbortedError
from shared.domain.jobs import CostEstimate, Job, JobStatus
from shared.domain.messages import JOB_RESULTS_QUEUE, SIMULATOR_QUEUE, JobOutcome, RunJob, TranslateJob
from shared.domain.storage import OUTPUT_BLOB, STAGED_OUTPUT_BLOB, TRANSLATED_BLOB, job_container, sha256
from shared.ports import ProviderBackend
from shared.services import sessions
from shared.services.pipeline import Pipeline, error_data, inline, read_input

logger = logging.getLogger(__name__)


def translate_job(p: Pipeline, message: TranslateJob) -> None:
    """Adapt a Waiting job's input to its provider's format and hand it to the provider."""
    job = p.jobs.get(message.job_id)
    if job is None or job.status is not JobStatus.WAITING or not message.is_for(job):
        _skip(message.job_id, job, "translate")
        return
    aborted = sessions.abort_reason(p, job)
    if aborted is not None:
        _fail(p, job, SessionAbortedError(aborted, target="sessionId"), "Session aborted")
        return
    target = p.catalog.target(job.details.provider_id, job.details.target)
    route = target.route_for(job.details.input_data_format)
    container = job_container(job.id)
    try:
        program = message.program or read_input(p, job)
        translated = p.programs.translate(program, job.details.input_data_format, route.provider_format)
    except PermanentJobError as error:
        _fail(p, job, error, "Translation failed")
        return
    carried = inline(p, translated)
    if carried is None:  # too large for the message: it travels by claim check
        p.artifacts.put(container, TRANSLATED_BLOB, translated, p.programs.content_type(route.provider_format))
    created = job.details.creation_time
    run = RunJob(job_id=job.id, attempt=job.redrives, job_created=created, program=carried)
    p.sender.send(SIMULATOR_QUEUE, run)


def run_job(p: Pipeline, backend: ProviderBackend, message: RunJob) -> None:
    """The provider's side: mark the job Executing, run it, report the outcome on job-results."""
    job = p.jobs.get(message.job_id)
    if job is None or job.is_final or not message.is_for(job):
        _skip(message.job_id, job, "run")
        return
    target = p.catalog.target(job.details.provider_id, job.details.target)
    if job.status is JobStatus.WAITING:
        job = p.jobs.replace(job.transition_to(JobStatus.EXECUTING, at=p.clock.now(), cause=f"Started on {target.id}"))
        logger.info("Job %s is Executing", job.id, extra={"job_id": job.id})
    began = job.details.begin_execution_time or p.clock.now()
    try:
        route = target.route_for(job.details.input_data_format)
        program = _program_to_run(p, job, message, route.provider_format)
        output = backend.run(target, route, program, p.shots(job), job.details.input_params)
        _check_output_format(job, target.id, route)
    except PermanentJobError as error:
        outcome = JobOutcome(
            job_id=job.id,
            attempt=message.attempt,
            job_created=message.job_created,
            succeeded=False,
            began_at=began,
            ended_at=p.clock.now(),
            error=error_data(error),
        )
    else:
        outcome = _success(p, job, message, output.data, output.usage, began)
    p.sender.send(JOB_RESULTS_QUEUE, outcome)


def _program_to_run(p: Pipeline, job: Job, message: RunJob, provider_format: str) -> bytes:
    """The translated program: carried in the message, or staged in `translatedInput` (a large one); a re-drive
    (which carries none) of a job whose program travelled in its message only translates the input again."""
    if message.program:
        return message.program
    try:
        return p.artifacts.get(job_container(job.id), TRANSLATED_BLOB, max_bytes=p.limits.max_input_bytes * 4)
    except InputNotFoundError:
        return p.programs.translate(read_input(p, job), job.details.input_data_format, provider_format)


def record_outcome(p: Pipeline, message: JobOutcome) -> None:
    """Write the output to `job-{id}/rawOutputData` and move the job to its final status."""
    job = p.jobs.get(message.job_id)
    if job is None or job.is_final or not message.is_for(job):
        _skip(message.job_id, job, "record")
        return
    if job.status is JobStatus.WAITING:
        job = job.transition_to(JobStatus.EXECUTING, at=message.began_at, cause="Provider reported its start")
    output_sha256 = None
    if message.succeeded:
        container = job_container(job.id)
        data = (
            message.output.encode()
            if message.output is not None
            else p.artifacts.get(container, message.output_blob or STAGED_OUTPUT_BLOB, max_bytes=2**31)
        )
        if not p.artifacts.put(container, OUTPUT_BLOB, data, "application/json", overwrite=False):
            # An earlier delivery of an outcome wrote the output first: that one stays, and is the one recorded.
            data = p.artifacts.get(container, OUTPUT_BLOB, max_bytes=2**31)
        output_sha256 = sha256(data)
    status, cause = (
        (JobStatus.SUCCEEDED, "Provider finished") if message.succeeded else (JobStatus.FAILED, "Provider failed")
    )
    # The actual cost: the whole run when it succeeded; a failed job is not billed.
    cost = p.full_cost(job) if message.succeeded else CostEstimate(currency_code=p.pricing.currency)
    final = job.transition_to(
        status,
        at=message.ended_at,
        cause=cause,
        error=message.error,
        usage=message.usage,
        cost=cost,
        began_at=message.began_at,
    )
    p.jobs.replace(final.model_copy(update={"output_sha256": output_sha256}))
    logger.info("Job %s is %s", job.id, final.status, extra={"job_id": job.id})


def _success(
    p: Pipeline, job: Job, message: RunJob, data: bytes, usage: dict[str, float], began: datetime
) -> JobOutcome:
    """The outcome carries the output inline when it is small text; otherwise (large, or bytes that are not
    UTF-8, as an echoed QIR bitcode) it is staged in a blob (claim check)."""
    ended = p.clock.now()
    carried = inline(p, data) if _is_text(data) else None
    if carried is None:
        p.artifacts.put(job_container(job.id), STAGED_OUTPUT_BLOB, data, "application/json")
    return JobOutcome(
        job_id=job.id,
        attempt=message.attempt,
        job_created=message.job_created,
        succeeded=True,
        began_at=began,
        ended_at=ended,
        output=None if carried is None else carried.decode(),
        output_blob=STAGED_OUTPUT_BLOB if carried is None else None,
        usage=usage,
    )


def _is_text(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def _fail(p: Pipeline, job: Job, error: PermanentJobError, cause: str) -> None:
    unbilled = CostEstimate(currency_code=p.pricing.currency)
    p.jobs.replace(
        job.transition_to(JobStatus.FAILED, at=p.clock.now(), cause=cause, error=error_data(error), cost=unbilled)
    )
    logger.info("Job %s Failed: %s", job.id, error.message, extra={"job_id": job.id})


def _check_output_format(job: Job, target_id: str, route: Route) -> None:
    """The output is in the job's outputDataFormat: a route that checks it only now has let a job ask for
    another (`Route.output_format_checked_after_run`), which fails here, after the run, as Azure's does."""
    wanted = job.details.output_data_format
    if not route.produces(wanted):
        raise CannotTranslateOutputError(
            f"The output returned by '{job.details.provider_id.lower()}' cannot be translated as specified by "
            f"'outputDataFormat': {target_id} returns {route.output_format}, not '{wanted}'. Please ensure that "
            "'outputDataFormat' is correct.",
            target="outputDataFormat",
        )


def _skip(job_id: str, job: Job | None, step: str) -> None:
    state = "missing" if job is None else job.status
    logger.info("Job %s: %s skipped, the job is %s", job_id, step, state, extra={"job_id": job_id})

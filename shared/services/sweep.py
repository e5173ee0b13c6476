"""The sweeper: nothing waits forever. Stuck jobs are re-driven a few times, then failed with a reason.

`recover` is the fast path after a crash of the whole local stack: run once at start, before anything is
served, it hands each job that was in flight since the last start to its next step at once instead of at
its deadline, and checks that the outputs of the jobs that succeeded since then are there and unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.domain.errors import InputNotFoundError, StaleWriteError
from shared.domain.jobs import ErrorData, Job, JobStatus
from shared.domain.messages import SIMULATOR_QUEUE, Message, RunJob
from shared.domain.query import MAX_PAGE, Compare, JobQuery, Op, OrderBy, QueryField
from shared.domain.storage import OUTPUT_BLOB, job_container, sha256
from shared.services import sessions
from shared.services.pipeline import Pipeline
from shared.services.submit import route

logger = logging.getLogger(__name__)

BATCH = 200
# Jobs of each status that `recover` looks at, newest first; any beyond are left to the sweep's deadlines.
RECOVERY_LIMIT = 1000
NEWEST_FIRST = OrderBy(QueryField.CREATION_TIME, descending=True)
# Events of a change this recent are left to the writer that made it.
REPUBLISH_GRACE = timedelta(seconds=10)


@dataclass(frozen=True)
class SweepReport:
    redriven: int
    failed: int
    republished: int
    sessions_ended: int


def sweep_stuck_jobs(p: Pipeline) -> SweepReport:
    now = p.clock.now()
    redriven = failed = 0
    for status, deadline in (
        (JobStatus.WAITING, p.limits.waiting_deadline),
        (JobStatus.EXECUTING, p.limits.executing_deadline),
    ):
        for job in p.jobs.older_than(status, now - deadline, BATCH):
            seconds = int(deadline.total_seconds())
            try:
                stuck = f"the job made no progress while {job.status} for {seconds} s"
                if _redrive_or_fail(p, job, stuck, code="JobTimedOut", cause="Timed out"):
                    redriven += 1
                else:
                    failed += 1
            except StaleWriteError:
                logger.info(
                    "Job %s moved while being swept; left for the next sweep",
                    job.id,
                    extra={"job_id": job.id},
                )
    republished = p.outbox.republish_pending(now, REPUBLISH_GRACE, BATCH) if p.outbox is not None else 0
    return SweepReport(redriven, failed, republished, sessions.time_out_idle(p, now, BATCH))


@dataclass(frozen=True)
class RecoveryReport:
    rerouted: int
    resent: int
    outputs_checked: int
    outputs_missing: int
    republished: int


def recover(p: Pipeline, since: datetime, limit: int = RECOVERY_LIMIT) -> RecoveryReport:
    """Reconcile jobs, queues and blobs after a crash; run before any trigger. Idempotent.

    Only jobs created at or after `since` (the previous start) are looked at: a crash loses no queued
    message, so what it can leave without one is a job created in the run that crashed, between its
    store write and its first send. Each Waiting job is routed again and each Executing job's run is
    sent again under the job's current attempt, so duplicate detection drops the repeat of a message
    sent within its window, whether still queued or handled: a handled translate or run sent its next
    message before it was settled, so the job has one. Past the window a repeat runs the step again,
    which changes nothing (each step checks the job first; the first output written stays).
    A Succeeded job's output must read back with the sha256 recorded on it; one that does not is logged,
    as the job stays Succeeded (a final job never changes). Events left pending are published.
    """
    rerouted = resent = checked = missing = 0
    for job in _created_since(p, JobStatus.WAITING, since, limit):
        route(p, job)
        rerouted += 1
    for job in _created_since(p, JobStatus.EXECUTING, since, limit):
        run = RunJob(job_id=job.id, attempt=job.redrives, job_created=job.details.creation_time)
        p.sender.send(SIMULATOR_QUEUE, run)
        resent += 1
    for job in _created_since(p, JobStatus.SUCCEEDED, since, limit):
        checked += 1
        if not _output_intact(p, job):
            missing += 1
    republished = p.outbox.republish_pending(p.clock.now(), timedelta(0), limit) if p.outbox is not None else 0
    report = RecoveryReport(rerouted, resent, checked, missing, republished)
    logger.info("Recovered jobs created since %s: %s", since.isoformat(), report)
    return report


def _created_since(p: Pipeline, status: JobStatus, since: datetime, limit: int) -> Iterator[Job]:
    """Jobs in `status` created at or after `since`, newest first, at most `limit` of them."""
    seen = 0
    while seen < limit:
        page = p.jobs.query(
            JobQuery(
                filter=Compare(QueryField.STATE, Op.EQ, status.value),
                orderby=NEWEST_FIRST,
                skip=seen,
                top=min(MAX_PAGE, limit - seen),
            )
        )
        for job in page:
            if job.details.creation_time < since:
                return
            yield job
        if len(page) < MAX_PAGE:
            return
        seen += len(page)
    logger.warning("%d or more %s jobs since %s: the sweeper takes any beyond", limit, status, since.isoformat())


def _output_intact(p: Pipeline, job: Job) -> bool:
    try:
        data = p.artifacts.get(job_container(job.id), OUTPUT_BLOB, max_bytes=2**31)
    except InputNotFoundError:
        logger.error("Job %s is Succeeded but its output is gone", job.id, extra={"job_id": job.id})
        return False
    if job.output_sha256 is not None and sha256(data) != job.output_sha256:
        logger.error("Job %s is Succeeded but its output changed", job.id, extra={"job_id": job.id})
        return False
    return True


def redrive_dead_letter(p: Pipeline, letter: Message, queue: str, reason: str) -> None:
    """A pipeline message ran out of deliveries (each cut by a crash, or failing transiently): re-drive its job at
    once, or fail it truthfully once its re-drives are spent, rather than wait for the sweep's deadline.

    A letter of an earlier attempt (the job was re-driven since), of a final job, or of a deleted job whose id
    was used again changes nothing. A lost race raises StaleWriteError, and the letter is delivered again.
    """
    job = p.jobs.get(letter.job_id)
    if job is None or job.is_final or letter.attempt != job.redrives or not letter.is_for(job):
        logger.info("Dead letter %s on %s left alone: its job moved on", letter.message_id(), queue)
        return
    dead = f"its message on {queue} was dead-lettered ({reason}): each delivery failed or was cut short"
    _redrive_or_fail(p, job, dead, code="JobDeadLettered", cause="Dead-lettered")


def _redrive_or_fail(p: Pipeline, job: Job, why: str, *, code: str, cause: str) -> bool:
    """Re-drive the job (True), or fail it with `code` once its re-drives are spent (False)."""
    if job.redrives < p.limits.max_redrives:
        _redrive(p, job, why)
        return True
    message = f"After {job.redrives} re-drives, {why}. Submit it again, and report it if this repeats."
    error = ErrorData(code=code, message=message)
    p.jobs.replace(job.transition_to(JobStatus.FAILED, at=p.clock.now(), cause=cause, error=error))
    logger.warning("Job %s Failed while %s: %s", job.id, job.status, code, extra={"job_id": job.id})
    return False


def _redrive(p: Pipeline, job: Job, why: str) -> None:
    cause = f"Re-driven: {why} (re-drive {job.redrives + 1})"
    moved = p.jobs.replace(job.note(at=p.clock.now(), cause=cause).model_copy(update={"redrives": job.redrives + 1}))
    if moved.status is JobStatus.WAITING:
        route(p, moved)
    else:
        run = RunJob(job_id=moved.id, attempt=moved.redrives, job_created=moved.details.creation_time)
        p.sender.send(SIMULATOR_QUEUE, run)
    logger.warning("Job %s re-driven while %s: %s", job.id, job.status, why, extra={"job_id": job.id})

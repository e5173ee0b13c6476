"""The sweeper: nothing waits forever. Stuck jobs are re-driven a few times, then failed with a reason."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from shared.domain.errors import StaleWriteError
from shared.domain.jobs import ErrorData, Job, JobStatus
from shared.domain.messages import SIMULATOR_QUEUE, RunJob
from shared.services import sessions
from shared.services.pipeline import Pipeline
from shared.services.submit import route

logger = logging.getLogger(__name__)

BATCH = 200
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
                if job.redrives < p.limits.max_redrives:
                    _redrive(p, job, seconds)
                    redriven += 1
                else:
                    _give_up(p, job, seconds)
                    failed += 1
            except StaleWriteError:
                logger.info(
                    "Job %s moved while being swept; left for the next sweep",
                    job.id,
                    extra={"job_id": job.id},
                )
    republished = p.outbox.republish_pending(now, REPUBLISH_GRACE, BATCH) if p.outbox is not None else 0
    return SweepReport(redriven, failed, republished, sessions.time_out_idle(p, now, BATCH))


def _redrive(p: Pipeline, job: Job, seconds: int) -> None:
    cause = f"Re-driven: no progress while {job.status} for {seconds} s (re-drive {job.redrives + 1})"
    moved = p.jobs.replace(job.note(at=p.clock.now(), cause=cause).model_copy(update={"redrives": job.redrives + 1}))
    if moved.status is JobStatus.WAITING:
        route(p, moved)
    else:
        p.sender.send(SIMULATOR_QUEUE, RunJob(job_id=moved.id, attempt=moved.redrives))
    logger.warning("Job %s re-driven while %s", job.id, job.status, extra={"job_id": job.id})


def _give_up(p: Pipeline, job: Job, seconds: int) -> None:
    error = ErrorData(
        code="JobTimedOut",
        message=(
            f"The job made no progress while {job.status} for {seconds} s, after {job.redrives} re-drives. "
            "Its messages may have been dead-lettered; submit it again, and report it if this repeats."
        ),
    )
    p.jobs.replace(job.transition_to(JobStatus.FAILED, at=p.clock.now(), cause="Timed out", error=error))
    logger.warning("Job %s Failed: timed out while %s", job.id, job.status, extra={"job_id": job.id})

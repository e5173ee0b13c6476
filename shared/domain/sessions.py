"""Sessions: a group of jobs on one target, and the status that follows from its jobs.

A session is open until it is closed, times out after `IDLE_TIMEOUT` without a new job while none of
its jobs is active, or (under the `Abort` job-failure policy) fails with its first failed job. While open
it is `Waiting` until its first job, then `Executing`, as on Azure, even between jobs; under the
`Continue` policy it reads `Failure(s)` between jobs once one of them failed, and still takes jobs. Its
status is derived from its jobs each time it is read, and kept once it is final.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.jobs import Job, JobStatus, Priority, WireModel

IDLE_TIMEOUT = timedelta(minutes=10)
JobFailurePolicy = Literal["Abort", "Continue"]


class SessionStatus(StrEnum):
    WAITING = "Waiting"
    EXECUTING = "Executing"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    FAILURES = "Failure(s)"
    TIMED_OUT = "TimedOut"


SESSION_FINAL: frozenset[SessionStatus] = frozenset(
    {SessionStatus.SUCCEEDED, SessionStatus.FAILED, SessionStatus.FAILURES, SessionStatus.TIMED_OUT}
)


class SessionDetails(WireModel):
    """Azure Quantum's SessionDetails, with its JSON names."""

    id: str
    name: str
    provider_id: str
    target: str
    item_type: Literal["Session"] = "Session"
    job_failure_policy: JobFailurePolicy = "Abort"
    status: SessionStatus = SessionStatus.WAITING
    priority: Priority = "Standard"
    tags: tuple[str, ...] = ()
    creation_time: datetime
    begin_execution_time: datetime | None = None
    end_execution_time: datetime | None = None


class Session(BaseModel):
    """A session as the service keeps it: its details, when it was closed, and when it last got a job."""

    model_config = ConfigDict(frozen=True)

    details: SessionDetails
    fingerprint: str
    last_activity: datetime
    closed_at: datetime | None = None
    etag: str | None = Field(default=None, exclude=True)

    @property
    def id(self) -> str:
        return self.details.id

    @property
    def status(self) -> SessionStatus:
        return self.details.status

    @property
    def is_final(self) -> bool:
        """A final status is kept. Failure(s) is final once the session is closed; while it is open (under the
        Continue policy) it only says that one of its jobs failed, and the session still takes jobs."""
        status = self.details.status
        return status in SESSION_FINAL and (status is not SessionStatus.FAILURES or self.closed_at is not None)

    @property
    def accepts_jobs(self) -> bool:
        return self.closed_at is None and not self.is_final

    def refreshed(self, jobs: Sequence[Job], now: datetime) -> Self:
        """This session with the status its jobs, its closing and its idle time give it now."""
        if self.is_final:
            return self
        failures = [_ended(job) for job in jobs if job.status is JobStatus.FAILED]
        active = any(not job.is_final for job in jobs)
        idle_since = max([self.last_activity, *(_ended(job) for job in jobs if job.is_final)])
        ended: datetime | None = None
        if failures and self.details.job_failure_policy == "Abort":
            status, ended = SessionStatus.FAILED, min(failures)
        elif active:
            status = SessionStatus.EXECUTING
        elif self.closed_at is not None:
            status = SessionStatus.FAILURES if failures else SessionStatus.SUCCEEDED
            ended = max(self.closed_at, idle_since)
        elif now - idle_since >= IDLE_TIMEOUT:
            status, ended = SessionStatus.TIMED_OUT, idle_since + IDLE_TIMEOUT
        elif failures:
            status = SessionStatus.FAILURES
        else:
            status = SessionStatus.EXECUTING if jobs else SessionStatus.WAITING
        begun = [j.details.begin_execution_time for j in jobs if j.details.begin_execution_time is not None]
        changes = {"status": status, "begin_execution_time": min(begun, default=None), "end_execution_time": ended}
        return self.model_copy(update={"details": self.details.model_copy(update=changes)})

    def closed(self, at: datetime) -> Self:
        return self if self.closed_at is not None else self.model_copy(update={"closed_at": at})

    def touched(self, at: datetime) -> Self:
        return self.model_copy(update={"last_activity": max(self.last_activity, at)})


def _ended(job: Job) -> datetime:
    return job.details.end_execution_time or job.details.cancellation_time or job.details.last_updated_time

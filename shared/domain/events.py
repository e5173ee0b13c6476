"""Job events: one CloudEvents 1.0 event for every status change of a job.

The event's id is `{jobId}:{sequence}`, where the sequence is the change's place in the job's history,
so a republished event has the same id (consumers deduplicate on it) and consumers can order a job's
events by `sequence` even where the transport does not keep order.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, JsonValue

from shared.domain.jobs import Job, JobStatus, WireModel

JOB_STATUS_CHANGED = "Microsoft.Quantum.JobStatusChanged"


class JobStatusChange(WireModel):
    """The event's data: which job, from which status to which, when, and where to read it."""

    job_id: str
    job_name: str
    sequence: int
    previous_status: JobStatus | None
    status: JobStatus
    time: datetime
    cause: str
    provider_id: str
    target: str
    workspace: str
    job_url: str
    error_code: str | None = None


class JobEvent(BaseModel):
    """A CloudEvents 1.0 event, with the attributes by their CloudEvents names."""

    model_config = ConfigDict(frozen=True)

    id: str
    source: str
    type: str
    subject: str
    time: datetime
    sequence: int
    data: JobStatusChange

    @property
    def job_id(self) -> str:
        return self.data.job_id

    def to_cloudevent(self) -> dict[str, JsonValue]:
        """The structured JSON form (`application/cloudevents+json`); `sequence` is an extension attribute."""
        return {
            "specversion": "1.0",
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "sequence": str(self.sequence),
            "datacontenttype": "application/json",
            "data": self.data.to_wire(),
        }


def pending_events(job: Job, workspace_path: str, job_url: str) -> list[JobEvent]:
    """The events for the job's status changes that have not been published yet, in order."""
    source = f"/{workspace_path}"
    error = job.details.error_data
    events = []
    for sequence, entry in job.unpublished_changes():
        change = JobStatusChange(
            job_id=job.id,
            job_name=job.details.name,
            sequence=sequence,
            previous_status=entry.previous_status,
            status=entry.status,
            time=entry.time,
            cause=entry.cause,
            provider_id=job.details.provider_id,
            target=job.details.target,
            workspace=workspace_path,
            job_url=job_url,
            error_code=error.code if error is not None and entry.status is JobStatus.FAILED else None,
        )
        events.append(
            JobEvent(
                id=f"{job.id}:{sequence}",
                source=source,
                type=JOB_STATUS_CHANGED,
                subject=f"jobs/{job.id}",
                time=entry.time,
                sequence=sequence,
                data=change,
            )
        )
    return events

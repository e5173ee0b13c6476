"""Job events: every status change a store write makes is published, and none is lost.

The job document is its own outbox. A write first makes the state change durable; then the changes the
job has not published yet (`Job.unpublished_changes`) go to the event publisher, and a second,
conditional write moves the job's `published` mark past them. If publishing fails, the state change
stands and the events stay pending: the next write of the job, or the sweeper (`republish_pending`),
publishes them, in order, with their original ids. Delivery is therefore at least once; consumers
deduplicate on the event id and order a job's events by `sequence`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from shared.domain.errors import JobServiceError, StaleWriteError, TransientJobError
from shared.domain.events import pending_events
from shared.domain.jobs import Job, JobStatus
from shared.domain.query import JobQuery
from shared.ports import EventPublisher, JobStore

logger = logging.getLogger(__name__)

# Like Event Grid's own retry window: events of a change older than this are not published any more.
EVENT_TTL = timedelta(hours=24)


class PublishingJobStore:
    """A JobStore that publishes the status changes it writes, through an EventPublisher."""

    def __init__(self, inner: JobStore, publisher: EventPublisher, workspace_path: str, api_base_url: str) -> None:
        self._inner = inner
        self._publisher = publisher
        self._workspace_path = workspace_path
        self._jobs_url = f"{api_base_url.rstrip('/')}/{workspace_path}/jobs/"

    def create(self, job: Job) -> Job:
        return self.publish(self._inner.create(job))

    def replace(self, job: Job) -> Job:
        return self.publish(self._inner.replace(job))

    def publish(self, job: Job) -> Job:
        """Publish the job's pending status changes and mark them; return the job as stored last."""
        events = pending_events(job, self._workspace_path, self._jobs_url + job.id)
        if not events:
            return job
        try:
            self._publisher.publish(events)
        except JobServiceError as error:
            # The state change is already stored; its events stay pending for the next write or sweep.
            level = logging.WARNING if isinstance(error, TransientJobError) else logging.ERROR
            logger.log(
                level,
                "Job %s: %d event(s) not published, left pending: %s",
                job.id,
                len(events),
                error.message,
                extra={"job_id": job.id},
            )
            return job
        try:
            return self._inner.replace(job.mark_published())
        except StaleWriteError:
            # Someone wrote the job meanwhile; their write publishes whatever is still pending.
            return job

    def get(self, job_id: str) -> Job | None:
        return self._inner.get(job_id)

    def delete(self, job_id: str) -> bool:
        return self._inner.delete(job_id)

    def query(self, query: JobQuery) -> list[Job]:
        return self._inner.query(query)

    def older_than(self, status: JobStatus, before: datetime, limit: int) -> list[Job]:
        return self._inner.older_than(status, before, limit)

    def count_created(self, provider_id: str, period: str) -> int:
        return self._inner.count_created(provider_id, period)

    def unpublished(self, since: datetime, before: datetime, limit: int) -> list[Job]:
        return self._inner.unpublished(since, before, limit)

    def republish_pending(self, now: datetime, grace: timedelta, limit: int) -> int:
        """Publish what earlier writes could not; returns how many jobs still had pending events.

        Jobs written within `grace` are left alone: their own writer is likely still publishing.
        """
        stale = self._inner.unpublished(now - EVENT_TTL, now - grace, limit)
        for job in stale:
            self.publish(job)
        return len(stale)

"""The job store on Azure Cosmos DB (NoSQL API): one document per job, optimistic concurrency on `_etag`.

Partition key: `/id`. Every job operation of the pipeline is a point read or a conditional replace by id,
so each touches exactly one logical partition and writes spread evenly over physical partitions however
many jobs a workspace has (a workspace key would put a whole workspace in one 20 GB logical partition).
Lists are cross-partition queries filtered on `workspace`, ordered on fixed-width time stamps, and
paged by the SDK's continuation tokens underneath; each list order is a composite index of the container's
indexing policy (infra/modules/cosmos-indexing.json, deployed by infra/modules/cosmos.bicep).

Quota usage is a counter item per workspace, provider and period (`quota_periods`: all time and the month
of creation), in the same container but outside every list (it has no `workspace`): each create adds one to
the job's counters and each delete takes one off, by an atomic server-side increment (patch `incr`), so submit
reads one item however many jobs there are. A job and its counters are in different partitions, which no
Cosmos DB transaction spans: the increment follows the create, so a process that dies between the two leaves
the counter one short (a quota admits one job more), never counts a job twice. Checking the quota and creating
the job are two steps here as they were with a COUNT, so racing submits can pass a quota together. A counter
that does not exist yet is counted from the jobs once (a COUNT over the workspace's jobs of that provider and
period, on indexed paths) when first read: in a new month that is the few jobs of the month so far, and for a
store written before counters existed it is the migration. An increment of a counter not made yet is left to
that count, which includes the job.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from azure.cosmos import ContainerProxy

from shared.adapters.cosmos_documents import FIELDS, CosmosDocuments
from shared.adapters.stamps import stamp
from shared.domain.catalog import ALL_TIME, quota_periods
from shared.domain.errors import JobExistsError, JobNotFoundError
from shared.domain.jobs import Job, JobStatus
from shared.domain.query import JobQuery

PARTITION_KEY_PATH = "/id"
_OUTSIDE_SESSIONS = "(NOT IS_DEFINED(c.details.sessionId) OR IS_NULL(c.details.sessionId))"


class CosmosJobStore:
    def __init__(self, container: ContainerProxy, workspace: str) -> None:
        self._documents = CosmosDocuments(container, workspace, "Job", JobExistsError, JobNotFoundError)

    def create(self, job: Job) -> Job:
        created = self._load(self._documents.create(self._document(job)))
        self._count(job, 1)
        return created

    def get(self, job_id: str) -> Job | None:
        document = self._documents.read(job_id)
        return None if document is None else self._load(document)

    def replace(self, job: Job) -> Job:
        return self._load(self._documents.replace(self._document(job), job.etag))

    def delete(self, job_id: str) -> bool:
        stored = self._documents.read(job_id)
        if stored is None or not self._documents.delete(job_id):
            return False
        self._count(self._load(stored), -1)
        return True

    def query(self, query: JobQuery) -> list[Job]:
        rows = self._documents.page(query, FIELDS, _OUTSIDE_SESSIONS if query.top_level else None)
        return [self._load(row) for row in rows]

    def older_than(self, status: JobStatus, before: datetime, limit: int) -> list[Job]:
        sql = (
            "SELECT TOP @limit * FROM c WHERE c.workspace = @workspace AND c.details.status = @status"
            " AND c.updatedStamp < @before ORDER BY c.updatedStamp ASC"
        )
        params: list[dict[str, Any]] = [
            {"name": "@limit", "value": limit},
            {"name": "@workspace", "value": self._documents.workspace},
            {"name": "@status", "value": status.value},
            {"name": "@before", "value": stamp(before)},
        ]
        return [self._load(row) for row in self._documents.rows(sql, params)]

    def count_created(self, provider_id: str, period: str) -> int:
        counter = self._documents.read(self._counter_id(provider_id, period))
        if counter is None:
            counter = self._documents.read_or_create(
                {
                    "id": self._counter_id(provider_id, period),
                    "countsJobsOf": self._documents.workspace,
                    "providerId": provider_id,
                    "period": period,
                    "jobs": self._count_stored(provider_id, period),
                }
            )
        return int(counter["jobs"])

    def unpublished(self, since: datetime, before: datetime, limit: int) -> list[Job]:
        sql = (
            "SELECT TOP @limit * FROM c WHERE c.workspace = @workspace AND c.eventsPending = true"
            " AND c.updatedStamp >= @since AND c.updatedStamp < @before ORDER BY c.updatedStamp ASC"
        )
        params: list[dict[str, Any]] = [
            {"name": "@limit", "value": limit},
            {"name": "@workspace", "value": self._documents.workspace},
            {"name": "@since", "value": stamp(since)},
            {"name": "@before", "value": stamp(before)},
        ]
        return [self._load(row) for row in self._documents.rows(sql, params)]

    def _count(self, job: Job, by: int) -> None:
        for period in quota_periods(job.details.creation_time):
            self._documents.increment(self._counter_id(job.details.provider_id, period), "/jobs", by)

    def _counter_id(self, provider_id: str, period: str) -> str:
        """A counter's id: no job's (job ids have no '|'), and of this workspace (ids may not hold its '/')."""
        workspace = hashlib.sha256(self._documents.workspace.encode()).hexdigest()[:16]
        return f"jobs-created|{workspace}|{provider_id}|{period}"

    def _count_stored(self, provider_id: str, period: str) -> int:
        sql = (
            "SELECT VALUE COUNT(1) FROM c WHERE c.workspace = @workspace AND c.details.providerId = @provider"
            " AND STARTSWITH(c.creationStamp, @period)"
        )
        params: list[dict[str, Any]] = [
            {"name": "@workspace", "value": self._documents.workspace},
            {"name": "@provider", "value": provider_id},
            {"name": "@period", "value": "" if period == ALL_TIME else period},
        ]
        return int(sum(self._documents.rows(sql, params)))

    def _document(self, job: Job) -> dict[str, Any]:
        document = job.model_dump(mode="json", by_alias=True)
        document.update(
            id=job.id,
            workspace=self._documents.workspace,
            creationStamp=stamp(job.details.creation_time),
            updatedStamp=stamp(job.details.last_updated_time),
            eventsPending=bool(job.unpublished_changes()),
        )
        return document

    @staticmethod
    def _load(document: dict[str, Any]) -> Job:
        return Job.model_validate(document).model_copy(update={"etag": document["_etag"]})

"""The job store on Azure Cosmos DB (NoSQL API): one document per job, optimistic concurrency on `_etag`.

Partition key: `/id`. Every job operation of the pipeline is a point read or a conditional replace by id,
so each touches exactly one logical partition and writes spread evenly over physical partitions however
many jobs a workspace has (a workspace key would put a whole workspace in one 20 GB logical partition).
Lists are cross-partition queries filtered on `workspace`, ordered on fixed-width time stamps, and
paged by the SDK's continuation tokens underneath.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from azure.cosmos import ContainerProxy

from shared.adapters.cosmos_documents import FIELDS, CosmosDocuments
from shared.adapters.stamps import stamp
from shared.domain.errors import JobExistsError, JobNotFoundError
from shared.domain.jobs import Job, JobStatus
from shared.domain.query import JobQuery

PARTITION_KEY_PATH = "/id"
_OUTSIDE_SESSIONS = "(NOT IS_DEFINED(c.details.sessionId) OR IS_NULL(c.details.sessionId))"


class CosmosJobStore:
    def __init__(self, container: ContainerProxy, workspace: str) -> None:
        self._documents = CosmosDocuments(container, workspace, "Job", JobExistsError, JobNotFoundError)

    def create(self, job: Job) -> Job:
        return self._load(self._documents.create(self._document(job)))

    def get(self, job_id: str) -> Job | None:
        document = self._documents.read(job_id)
        return None if document is None else self._load(document)

    def replace(self, job: Job) -> Job:
        return self._load(self._documents.replace(self._document(job), job.etag))

    def delete(self, job_id: str) -> bool:
        return self._documents.delete(job_id)

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

    def count_created_since(self, provider_id: str, since: datetime) -> int:
        sql = (
            "SELECT VALUE COUNT(1) FROM c WHERE c.workspace = @workspace AND c.details.providerId = @provider"
            " AND c.creationStamp >= @since"
        )
        params: list[dict[str, Any]] = [
            {"name": "@workspace", "value": self._documents.workspace},
            {"name": "@provider", "value": provider_id},
            {"name": "@since", "value": stamp(since)},
        ]
        return int(sum(self._documents.rows(sql, params)))

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

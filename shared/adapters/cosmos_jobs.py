"""The job store on Azure Cosmos DB (NoSQL API): one document per job, optimistic concurrency on `_etag`.

Partition key: `/id`. Every job operation of the pipeline is a point read or a conditional replace by id,
so each touches exactly one logical partition and writes spread evenly over physical partitions however
many jobs a workspace has (a workspace key would put a whole workspace in one 20 GB logical partition).
Lists are cross-partition queries filtered on `workspace`, ordered on fixed-width time stamps, and
paged by the SDK's continuation tokens underneath.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.cosmos import ContainerProxy
from azure.cosmos.exceptions import (
    CosmosAccessConditionFailedError,
    CosmosHttpResponseError,
    CosmosResourceExistsError,
    CosmosResourceNotFoundError,
)

from shared.adapters.stamps import stamp
from shared.domain.errors import DependencyError, JobExistsError, JobNotFoundError, StaleWriteError
from shared.domain.jobs import Job, JobStatus
from shared.domain.query import AllOf, Compare, Expr, JobQuery, Not, Op, QueryField, StartsWith

PARTITION_KEY_PATH = "/id"
_FIELDS = {
    QueryField.NAME: "c.details.name",
    QueryField.ITEM_TYPE: "c.details.itemType",
    QueryField.JOB_TYPE: "c.details.jobType",
    QueryField.PROVIDER_ID: "c.details.providerId",
    QueryField.TARGET: "c.details.target",
    QueryField.STATE: "c.details.status",
    QueryField.CREATION_TIME: "c.creationStamp",
    QueryField.SESSION_ID: "c.details.sessionId",
}
_OPS = {Op.EQ: "=", Op.NE: "!=", Op.GT: ">", Op.GE: ">=", Op.LT: "<", Op.LE: "<="}


class CosmosJobStore:
    def __init__(self, container: ContainerProxy, workspace: str) -> None:
        self._container = container
        self._workspace = workspace

    def create(self, job: Job) -> Job:
        try:
            stored = self._container.create_item(self._document(job))
        except CosmosResourceExistsError:
            raise JobExistsError(f"Job '{job.id}' already exists.", target="jobId") from None
        except CosmosHttpResponseError as error:
            raise dependency_error(error) from error
        return self._load(stored)

    def get(self, job_id: str) -> Job | None:
        try:
            return self._load(self._container.read_item(job_id, partition_key=job_id))
        except CosmosResourceNotFoundError:
            return None
        except CosmosHttpResponseError as error:
            raise dependency_error(error) from error

    def replace(self, job: Job) -> Job:
        if job.etag is None:
            raise StaleWriteError(f"Job '{job.id}' was not read from this store; read it before writing.")
        try:
            stored = self._container.replace_item(
                job.id, self._document(job), etag=job.etag, match_condition=MatchConditions.IfNotModified
            )
        except CosmosAccessConditionFailedError:
            raise StaleWriteError(f"Job '{job.id}' changed since it was read.") from None
        except CosmosResourceNotFoundError:
            raise JobNotFoundError(f"Job '{job.id}' does not exist.", target="jobId") from None
        except CosmosHttpResponseError as error:
            raise dependency_error(error) from error
        return self._load(stored)

    def delete(self, job_id: str) -> bool:
        try:
            self._container.delete_item(job_id, partition_key=job_id)
        except CosmosResourceNotFoundError:
            return False
        except CosmosHttpResponseError as error:
            raise dependency_error(error) from error
        return True

    def query(self, query: JobQuery) -> list[Job]:
        params: list[dict[str, Any]] = [{"name": "@workspace", "value": self._workspace}]
        where = "c.workspace = @workspace"
        if query.top_level:
            where += " AND (NOT IS_DEFINED(c.details.sessionId) OR IS_NULL(c.details.sessionId))"
        if query.filter is not None:
            where += f" AND {compile_filter(query.filter, params, _FIELDS)}"
        params.append({"name": "@first", "value": query.skip + query.top})
        direction = "DESC" if query.orderby.descending else "ASC"
        sql = f"SELECT TOP @first * FROM c WHERE {where} ORDER BY {_FIELDS[query.orderby.field]} {direction}"  # noqa: S608 - fields come from a fixed table
        rows = query_all(self._container, sql, params)
        return [self._load(row) for row in rows[query.skip :]]

    def older_than(self, status: JobStatus, before: datetime, limit: int) -> list[Job]:
        sql = (
            "SELECT TOP @limit * FROM c WHERE c.workspace = @workspace AND c.details.status = @status"
            " AND c.updatedStamp < @before ORDER BY c.updatedStamp ASC"
        )
        params: list[dict[str, Any]] = [
            {"name": "@limit", "value": limit},
            {"name": "@workspace", "value": self._workspace},
            {"name": "@status", "value": status.value},
            {"name": "@before", "value": stamp(before)},
        ]
        return [self._load(row) for row in query_all(self._container, sql, params)]

    def count_created_since(self, provider_id: str, since: datetime) -> int:
        sql = (
            "SELECT VALUE COUNT(1) FROM c WHERE c.workspace = @workspace AND c.details.providerId = @provider"
            " AND c.creationStamp >= @since"
        )
        params: list[dict[str, Any]] = [
            {"name": "@workspace", "value": self._workspace},
            {"name": "@provider", "value": provider_id},
            {"name": "@since", "value": stamp(since)},
        ]
        return int(sum(query_all(self._container, sql, params)))

    def unpublished(self, since: datetime, before: datetime, limit: int) -> list[Job]:
        sql = (
            "SELECT TOP @limit * FROM c WHERE c.workspace = @workspace AND c.eventsPending = true"
            " AND c.updatedStamp >= @since AND c.updatedStamp < @before ORDER BY c.updatedStamp ASC"
        )
        params: list[dict[str, Any]] = [
            {"name": "@limit", "value": limit},
            {"name": "@workspace", "value": self._workspace},
            {"name": "@since", "value": stamp(since)},
            {"name": "@before", "value": stamp(before)},
        ]
        return [self._load(row) for row in query_all(self._container, sql, params)]

    def _document(self, job: Job) -> dict[str, Any]:
        document = job.model_dump(mode="json", by_alias=True)
        document.update(
            id=job.id,
            workspace=self._workspace,
            creationStamp=stamp(job.details.creation_time),
            updatedStamp=stamp(job.details.last_updated_time),
            eventsPending=bool(job.unpublished_changes()),
        )
        return document

    @staticmethod
    def _load(document: dict[str, Any]) -> Job:
        return Job.model_validate(document).model_copy(update={"etag": document["_etag"]})


def compile_filter(expr: Expr, params: list[dict[str, Any]], fields: Mapping[QueryField, str]) -> str:
    """A filter as a parameterised Cosmos DB SQL condition over `fields`."""
    if isinstance(expr, Compare):
        name = f"@p{len(params)}"
        params.append({"name": name, "value": stamp(expr.value) if isinstance(expr.value, datetime) else expr.value})
        return f"{fields[expr.field]} {_OPS[expr.op]} {name}"
    if isinstance(expr, StartsWith):
        name = f"@p{len(params)}"
        params.append({"name": name, "value": expr.prefix})
        return f"STARTSWITH({fields[expr.field]}, {name})"
    if isinstance(expr, Not):
        return f"NOT ({compile_filter(expr.item, params, fields)})"
    joiner = " AND " if isinstance(expr, AllOf) else " OR "
    return "(" + joiner.join(compile_filter(item, params, fields) for item in expr.items) + ")"


def query_all(container: ContainerProxy, sql: str, params: list[dict[str, Any]]) -> list[Any]:
    """Every row of a cross-partition query (the SDK follows the continuation tokens)."""
    try:
        return list(container.query_items(sql, parameters=params, enable_cross_partition_query=True))
    except CosmosHttpResponseError as error:
        raise dependency_error(error) from error


def dependency_error(error: CosmosHttpResponseError) -> DependencyError:
    return DependencyError(f"Cosmos DB failed ({error.status_code}): {error.message}")

"""The session store on Azure Cosmos DB: one document per session in its own container, partition key `/id`.

Like jobs, every session operation but a list is a point read or a conditional replace by id.
"""

from __future__ import annotations

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

from shared.adapters.cosmos_jobs import compile_filter, dependency_error, query_all
from shared.adapters.stamps import stamp
from shared.domain.errors import SessionExistsError, SessionNotFoundError, StaleWriteError
from shared.domain.query import JobQuery, QueryField
from shared.domain.sessions import SESSION_FINAL, Session

_FIELDS = {
    QueryField.NAME: "c.details.name",
    QueryField.ITEM_TYPE: "c.details.itemType",
    QueryField.JOB_TYPE: "c.details.jobType",
    QueryField.PROVIDER_ID: "c.details.providerId",
    QueryField.TARGET: "c.details.target",
    QueryField.STATE: "c.details.status",
    QueryField.CREATION_TIME: "c.creationStamp",
    QueryField.SESSION_ID: "c.id",
}


class CosmosSessionStore:
    def __init__(self, container: ContainerProxy, workspace: str) -> None:
        self._container = container
        self._workspace = workspace

    def create(self, session: Session) -> Session:
        try:
            return self._load(self._container.create_item(self._document(session)))
        except CosmosResourceExistsError:
            raise SessionExistsError(f"Session '{session.id}' already exists.", target="sessionId") from None
        except CosmosHttpResponseError as error:
            raise dependency_error(error) from error

    def get(self, session_id: str) -> Session | None:
        try:
            return self._load(self._container.read_item(session_id, partition_key=session_id))
        except CosmosResourceNotFoundError:
            return None
        except CosmosHttpResponseError as error:
            raise dependency_error(error) from error

    def replace(self, session: Session) -> Session:
        if session.etag is None:
            raise StaleWriteError(f"Session '{session.id}' was not read from this store; read it before writing.")
        try:
            stored = self._container.replace_item(
                session.id,
                self._document(session),
                etag=session.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except CosmosAccessConditionFailedError:
            raise StaleWriteError(f"Session '{session.id}' changed since it was read.") from None
        except CosmosResourceNotFoundError:
            raise SessionNotFoundError(f"Session '{session.id}' does not exist.", target="sessionId") from None
        except CosmosHttpResponseError as error:
            raise dependency_error(error) from error
        return self._load(stored)

    def query(self, query: JobQuery) -> list[Session]:
        params: list[dict[str, Any]] = [{"name": "@workspace", "value": self._workspace}]
        where = "c.workspace = @workspace"
        if query.filter is not None:
            where += f" AND {compile_filter(query.filter, params, _FIELDS)}"
        params.append({"name": "@first", "value": query.skip + query.top})
        direction = "DESC" if query.orderby.descending else "ASC"
        sql = f"SELECT TOP @first * FROM c WHERE {where} ORDER BY {_FIELDS[query.orderby.field]} {direction}"  # noqa: S608 - fields come from a fixed table
        return [self._load(row) for row in query_all(self._container, sql, params)[query.skip :]]

    def idle(self, before: datetime, limit: int) -> list[Session]:
        sql = (
            "SELECT TOP @limit * FROM c WHERE c.workspace = @workspace AND c.final = false"
            " AND c.activityStamp < @before ORDER BY c.activityStamp ASC"
        )
        params: list[dict[str, Any]] = [
            {"name": "@limit", "value": limit},
            {"name": "@workspace", "value": self._workspace},
            {"name": "@before", "value": stamp(before)},
        ]
        return [self._load(row) for row in query_all(self._container, sql, params)]

    def _document(self, session: Session) -> dict[str, Any]:
        document = session.model_dump(mode="json", by_alias=True)
        document.update(
            id=session.id,
            workspace=self._workspace,
            creationStamp=stamp(session.details.creation_time),
            activityStamp=stamp(session.last_activity),
            final=session.status in SESSION_FINAL,
        )
        return document

    @staticmethod
    def _load(document: dict[str, Any]) -> Session:
        return Session.model_validate(document).model_copy(update={"etag": document["_etag"]})

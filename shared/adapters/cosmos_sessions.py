"""The session store on Azure Cosmos DB: one document per session in its own container, partition key `/id`.

Like jobs, every session operation but a list is a point read or a conditional replace by id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from azure.cosmos import ContainerProxy

from shared.adapters.cosmos_documents import FIELDS, CosmosDocuments
from shared.adapters.stamps import stamp
from shared.domain.errors import SessionExistsError, SessionNotFoundError
from shared.domain.query import JobQuery, QueryField
from shared.domain.sessions import Session

# A session is its own session id.
_FIELDS = {**FIELDS, QueryField.SESSION_ID: "c.id"}


class CosmosSessionStore:
    def __init__(self, container: ContainerProxy, workspace: str) -> None:
        self._documents = CosmosDocuments(container, workspace, "Session", SessionExistsError, SessionNotFoundError)

    def create(self, session: Session) -> Session:
        return self._load(self._documents.create(self._document(session)))

    def get(self, session_id: str) -> Session | None:
        document = self._documents.read(session_id)
        return None if document is None else self._load(document)

    def replace(self, session: Session) -> Session:
        return self._load(self._documents.replace(self._document(session), session.etag))

    def query(self, query: JobQuery) -> list[Session]:
        return [self._load(row) for row in self._documents.page(query, _FIELDS)]

    def idle(self, before: datetime, limit: int) -> list[Session]:
        sql = (
            "SELECT TOP @limit * FROM c WHERE c.workspace = @workspace AND c.final = false"
            " AND c.activityStamp < @before ORDER BY c.activityStamp ASC"
        )
        params: list[dict[str, Any]] = [
            {"name": "@limit", "value": limit},
            {"name": "@workspace", "value": self._documents.workspace},
            {"name": "@before", "value": stamp(before)},
        ]
        return [self._load(row) for row in self._documents.rows(sql, params)]

    def _document(self, session: Session) -> dict[str, Any]:
        document = session.model_dump(mode="json", by_alias=True)
        document.update(
            id=session.id,
            workspace=self._documents.workspace,
            creationStamp=stamp(session.details.creation_time),
            activityStamp=stamp(session.last_activity),
            final=session.is_final,
        )
        return document

    @staticmethod
    def _load(document: dict[str, Any]) -> Session:
        return Session.model_validate(document).model_copy(update={"etag": document["_etag"]})

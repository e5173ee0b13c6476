"""Documents of one Cosmos DB container partitioned on `/id`: point operations, workspace pages, filters.

The job and session stores keep their own document shapes and call these for the SDK work, which turns
the SDK's errors into the domain's: a taken id, a missing one, a stale etag, an unavailable service.
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
from shared.domain.errors import ConflictError, DependencyError, NotFoundError, StaleWriteError
from shared.domain.query import AllOf, Compare, Expr, JobQuery, Not, Op, QueryField, StartsWith

Document = dict[str, Any]
# The list API's fields in a job document; a session document keeps its details in the same shape.
FIELDS: Mapping[QueryField, str] = {
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


class CosmosDocuments:
    """One kind of item (a "Job", a "Session") in a container, for one workspace."""

    def __init__(
        self,
        container: ContainerProxy,
        workspace: str,
        kind: str,
        exists: type[ConflictError],
        missing: type[NotFoundError],
    ) -> None:
        self._container = container
        self.workspace = workspace
        self._kind = kind
        self._target = f"{kind[0].lower()}{kind[1:]}Id"
        self._exists = exists
        self._missing = missing

    def create(self, document: Document) -> Document:
        try:
            return self._container.create_item(document)
        except CosmosResourceExistsError:
            raise self._exists(f"{self._kind} '{document['id']}' already exists.", target=self._target) from None
        except CosmosHttpResponseError as error:
            raise dependency_error(error) from error

    def read(self, item_id: str) -> Document | None:
        try:
            return self._container.read_item(item_id, partition_key=item_id)
        except CosmosResourceNotFoundError:
            return None
        except CosmosHttpResponseError as error:
            raise dependency_error(error) from error

    def replace(self, document: Document, etag: str | None) -> Document:
        """Write `document` if the stored one still has `etag`; StaleWriteError if not (or never read)."""
        item_id = document["id"]
        if etag is None:
            raise StaleWriteError(f"{self._kind} '{item_id}' was not read from this store; read it before writing.")
        try:
            return self._container.replace_item(
                item_id, document, etag=etag, match_condition=MatchConditions.IfNotModified
            )
        except CosmosAccessConditionFailedError:
            raise StaleWriteError(f"{self._kind} '{item_id}' changed since it was read.") from None
        except CosmosResourceNotFoundError:
            raise self._missing(f"{self._kind} '{item_id}' does not exist.", target=self._target) from None
        except CosmosHttpResponseError as error:
            raise dependency_error(error) from error

    def delete(self, item_id: str) -> bool:
        try:
            self._container.delete_item(item_id, partition_key=item_id)
        except CosmosResourceNotFoundError:
            return False
        except CosmosHttpResponseError as error:
            raise dependency_error(error) from error
        return True

    def increment(self, item_id: str, path: str, by: int) -> bool:
        """Add `by` to the number at `path` of an item, atomically on the server (a patch `incr`: concurrent
        increments never lose one, and no etag round trip); False if there is no such item."""
        try:
            self._container.patch_item(item_id, item_id, patch_operations=[{"op": "incr", "path": path, "value": by}])
        except CosmosResourceNotFoundError:
            return False
        except CosmosHttpResponseError as error:
            raise dependency_error(error) from error
        return True

    def read_or_create(self, document: Document) -> Document:
        """The item with the document's id: the stored one if there is one, else this one, created."""
        try:
            return self._container.create_item(document)
        except CosmosResourceExistsError:
            stored = self.read(document["id"])
            if stored is None:  # deleted in between: nothing this store does, but not impossible
                raise DependencyError(f"Cosmos DB item '{document['id']}' vanished while being read.") from None
            return stored
        except CosmosHttpResponseError as error:
            raise dependency_error(error) from error

    def page(self, query: JobQuery, fields: Mapping[QueryField, str], condition: str | None = None) -> list[Document]:
        """One page of the workspace's items matching the query's filter (and `condition`), in its order.

        The order is the field, then creation stamp, then id (`sort_key`), after the workspace and, in creation
        order, the filter's first equality (fixed values, so the same order): each such ORDER BY is a composite
        index of the indexing policy (infra/modules/cosmos-indexing.json), which serves the filter and the order
        and stops at TOP. A continuation is a condition past its key on the ordered paths.
        """
        params: list[dict[str, Any]] = [{"name": "@workspace", "value": self.workspace}]
        where = ["c.workspace = @workspace"]
        if condition is not None:
            where.append(condition)
        if query.filter is not None:
            where.append(compile_filter(query.filter, params, fields))
        field = query.orderby.field
        ordered = [fields[QueryField.CREATION_TIME], "c.id"]
        if field is not QueryField.CREATION_TIME:
            ordered.insert(0, fields[field])
        if query.after is not None:
            key = query.after.key
            values = [stamp(key.created), key.id] if len(ordered) == 2 else [key.value, stamp(key.created), key.id]
            where.append(_past(list(zip(ordered, values, strict=True)), query.orderby.descending, params))
        prefix = ["c.workspace"]
        equal = _equality(query.filter) if field is QueryField.CREATION_TIME else None
        if equal is not None:
            prefix.append(fields[equal])
        direction = "DESC" if query.orderby.descending else "ASC"
        order = ", ".join(f"{path} {direction}" for path in _through_id([*prefix, *ordered]))
        params.append({"name": "@first", "value": query.skip + query.top})
        sql = f"SELECT TOP @first * FROM c WHERE {' AND '.join(where)} ORDER BY {order}"  # noqa: S608 - fields come from a fixed table
        return self.rows(sql, params)[query.skip :]

    def rows(self, sql: str, params: list[dict[str, Any]]) -> list[Any]:
        """Every row of a cross-partition query (the SDK follows the continuation tokens)."""
        try:
            return list(self._container.query_items(sql, parameters=params, enable_cross_partition_query=True))
        except CosmosHttpResponseError as error:
            raise dependency_error(error) from error


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


def _equality(expr: Expr | None) -> QueryField | None:
    """The field of the filter's first top-level equality, other than on creation time, if it has one."""
    items = expr.items if isinstance(expr, AllOf) else (expr,)
    equalities = (i.field for i in items if isinstance(i, Compare) and i.op is Op.EQ)
    return next((f for f in equalities if f is not QueryField.CREATION_TIME), None)


def _through_id(paths: list[str]) -> list[str]:
    """The ORDER BY paths up to the id, which is unique: nothing after it orders anything."""
    return paths[: paths.index("c.id") + 1]


def _past(keys: list[tuple[str, str | None]], descending: bool, params: list[dict[str, Any]]) -> str:
    """The condition that an item comes after the key in the order: past it on the first path, or equal there
    and past it on the second, and so on, written flat (one OR of ANDs). A None value is a null or undefined
    field, which Cosmos DB orders before strings."""
    same: list[str] = []
    cases: list[str] = []
    for path, value in keys:
        if value is None:
            beyond, equal = ("false" if descending else f"IS_STRING({path})"), f"NOT IS_STRING({path})"
        else:
            name = f"@p{len(params)}"
            params.append({"name": name, "value": value})
            beyond = f"({path} < {name} OR NOT IS_STRING({path}))" if descending else f"{path} > {name}"
            equal = f"{path} = {name}"
        cases.append(" AND ".join([*same, beyond]))
        same.append(equal)
    return "(" + " OR ".join(f"({case})" for case in cases) + ")"


def dependency_error(error: CosmosHttpResponseError) -> DependencyError:
    return DependencyError(f"Cosmos DB failed ({error.status_code}): {error.message}")

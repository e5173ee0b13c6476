"""Documents of one SQLite table: the document as JSON in `doc` beside an `etag` and indexed columns.

The job and session stores keep their own columns and queries and call these for the shared work, as
the Cosmos DB stores call `CosmosDocuments`: create (a taken id is the domain's conflict), point reads,
writes conditional on the etag, as in Cosmos DB, so concurrent or repeated deliveries cannot move a
document backward, and pages of the list API with its filter compiled to parameterised SQL.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from shared.adapters.sqlite_db import SqliteDatabase
from shared.adapters.stamps import stamp
from shared.domain.errors import ConflictError, NotFoundError, StaleWriteError
from shared.domain.jobs import Job, JobDetails
from shared.domain.query import ATTRIBUTES, AllOf, Compare, Expr, JobQuery, Not, Op, QueryField, StartsWith
from shared.domain.sessions import Session, SessionDetails

# The list API's fields as the job table's columns, named after the details' attributes; the session table names
# its columns the same way.
COLUMNS: Mapping[QueryField, str] = ATTRIBUTES
_OPS = {Op.EQ: "=", Op.NE: "!=", Op.GT: ">", Op.GE: ">=", Op.LT: "<", Op.LE: "<="}
D = TypeVar("D", Job, Session)


def detail_columns(details: JobDetails | SessionDetails) -> dict[str, object]:
    """The indexed columns a job and a session share, from their details."""
    return {
        "id": details.id,
        "name": details.name,
        "provider_id": details.provider_id,
        "target": details.target,
        "status": details.status.value,
        "creation_time": stamp(details.creation_time),
    }


@dataclass(frozen=True)
class SqliteDocuments(Generic[D]):
    """The documents of one model (`Job`, `Session`) in `table`, each row with the values of `columns(document)`.

    Every write gives the document a new etag and returns it with that etag; table and column names come
    from the stores' code, every value is a parameter.
    """

    db: SqliteDatabase
    table: str
    model: type[D]
    columns: Callable[[D], Mapping[str, object]]
    exists: type[ConflictError]
    missing: type[NotFoundError]

    def create(self, document: D) -> D:
        etag = uuid.uuid4().hex
        row = self._row(document, etag)
        sql = f"INSERT INTO {self.table} ({', '.join(row)}) VALUES ({','.join('?' * len(row))})"  # noqa: S608 - fixed names
        try:
            self.db.run(sql, tuple(row.values()))
        except sqlite3.IntegrityError:
            raise self.exists(f"{self._kind} '{document.id}' already exists.", target=self._target) from None
        return document.model_copy(update={"etag": etag})

    def get(self, document_id: str) -> D | None:
        found = self.select(f"SELECT doc, etag FROM {self.table} WHERE id = ?", (document_id,))  # noqa: S608 - fixed names
        return found[0] if found else None

    def replace(self, document: D) -> D:
        """Write `document` if the stored one still has its etag; StaleWriteError if not (or never read)."""
        if document.etag is None:
            raise StaleWriteError(f"{self._kind} '{document.id}' was not read from this store; read it before writing.")
        etag = uuid.uuid4().hex
        row: dict[str, object] = self._row(document, etag)  # mypy cannot infer it here
        assignments = ", ".join(f"{name}=?" for name in row)
        cursor = self.db.run(
            f"UPDATE {self.table} SET {assignments} WHERE id=? AND etag=?",  # noqa: S608 - fixed names
            (*row.values(), document.id, document.etag),
        )
        if cursor.rowcount == 0:
            if self.get(document.id) is None:
                raise self.missing(f"{self._kind} '{document.id}' does not exist.", target=self._target)
            raise StaleWriteError(f"{self._kind} '{document.id}' changed since it was read.")
        return document.model_copy(update={"etag": etag})

    def delete(self, document_id: str) -> bool:
        return self.db.run(f"DELETE FROM {self.table} WHERE id = ?", (document_id,)).rowcount > 0  # noqa: S608 - fixed names

    def page(
        self,
        query: JobQuery,
        columns: Mapping[QueryField, str],
        condition: str | None = None,
        nullable: frozenset[QueryField] = frozenset(),
    ) -> list[D]:
        """One page of the documents matching the query's filter (and `condition`), in its order.

        The order is the field's column, then creation time, then id (`sort_key`), and a continuation is a
        row-value range on those: with an index on them (each store has one per orderable column) a page
        costs its own rows, however deep. Only the page's row ids are ordered and counted off; the documents
        are read for those alone. A `nullable` field's column is ordered as '' where it is NULL.
        """
        params: list[object] = []
        conditions = [] if condition is None else [condition]
        if query.filter is not None:
            conditions.append(compile_filter(query.filter, params, columns))
        field = query.orderby.field
        created = columns[QueryField.CREATION_TIME]
        keys = [created, "id"]
        if field is not QueryField.CREATION_TIME:
            keys.insert(0, f"ifnull({columns[field]}, '')" if field in nullable else columns[field])
        if query.after is not None:
            key = query.after.key
            values = [stamp(key.created), key.id] if len(keys) == 2 else [key.value or "", stamp(key.created), key.id]
            bound = "<" if query.orderby.descending else ">"
            conditions.append(f"({', '.join(keys)}) {bound} ({', '.join('?' * len(keys))})")
            params.extend(values)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        direction = "DESC" if query.orderby.descending else "ASC"
        order = ", ".join(f"{key} {direction}" for key in keys)
        params.extend((query.top, query.skip))
        page = f"SELECT rowid FROM {self.table} {where} ORDER BY {order} LIMIT ? OFFSET ?"  # noqa: S608 - fixed names
        return self.select(
            f"SELECT doc, etag FROM {self.table} WHERE rowid IN ({page}) ORDER BY {order}",  # noqa: S608 - fixed names
            params,
        )

    def select(self, sql: str, params: Sequence[object]) -> list[D]:
        """The documents of the `(doc, etag)` rows a query selects."""
        return [
            self.model.model_validate_json(doc).model_copy(update={"etag": etag})
            for doc, etag in self.db.run(sql, params).fetchall()
        ]

    def _row(self, document: D, etag: str) -> dict[str, object]:
        return {**self.columns(document), "etag": etag, "doc": document.model_dump_json()}

    @property
    def _kind(self) -> str:
        return self.model.__name__

    @property
    def _target(self) -> str:
        return f"{self._kind.lower()}Id"


def compile_filter(expr: Expr, params: list[object], columns: Mapping[QueryField, str]) -> str:
    """A filter as a parameterised SQL condition over `columns`."""
    if isinstance(expr, Compare):
        value = stamp(expr.value) if isinstance(expr.value, datetime) else expr.value
        params.append(value)
        return f"{columns[expr.field]} {_OPS[expr.op]} ?"
    if isinstance(expr, StartsWith):
        # A range of the column, which its index serves: [prefix, the least string past every extension of it).
        column = columns[expr.field]
        params.append(expr.prefix)
        end = _prefix_end(expr.prefix)
        if end is None:
            return f"{column} >= ?"
        params.append(end)
        return f"({column} >= ? AND {column} < ?)"
    if isinstance(expr, Not):
        return f"NOT ({compile_filter(expr.item, params, columns)})"
    joiner = " AND " if isinstance(expr, AllOf) else " OR "
    return "(" + joiner.join(compile_filter(item, params, columns) for item in expr.items) + ")"


def _prefix_end(prefix: str) -> str | None:
    """The least string above every string that starts with `prefix` (None if there is none), in SQLite's
    binary order of text, which for UTF-8 is code point order: `prefix` with its last character that can be
    incremented, incremented, and what follows it dropped. Surrogates are not characters of stored text."""
    for index in range(len(prefix) - 1, -1, -1):
        code = ord(prefix[index]) + 1
        if code <= _LAST_CODE_POINT:
            return prefix[:index] + chr(_AFTER_SURROGATES if _SURROGATES[0] <= code <= _SURROGATES[1] else code)
    return None


_LAST_CODE_POINT = 0x10FFFF
_SURROGATES = (0xD800, 0xDFFF)
_AFTER_SURROGATES = 0xE000

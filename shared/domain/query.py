"""List queries in the Azure Quantum SDK's grammar: `filter`, `orderby`, `skip`, `top`.

The filter language is the OData subset the SDK writes, e.g.
`startswith(Name, 'bell') and (ProviderId eq 'ionq') and (State eq 'Succeeded' or State eq 'Failed')
and CreationTime ge 2024-01-01`. It is parsed into a small expression tree that each job store turns
into its own query language; parse errors name the column where the filter goes wrong.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from shared.domain.errors import InvalidRequestError
from shared.domain.jobs import JobDetails, JobStatus
from shared.domain.sessions import SessionDetails, SessionStatus


class QueryField(StrEnum):
    NAME = "Name"
    ITEM_TYPE = "ItemType"
    JOB_TYPE = "JobType"
    PROVIDER_ID = "ProviderId"
    TARGET = "Target"
    STATE = "State"
    CREATION_TIME = "CreationTime"
    SESSION_ID = "SessionId"


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"


@dataclass(frozen=True)
class Compare:
    field: QueryField
    op: Op
    value: str | datetime


@dataclass(frozen=True)
class StartsWith:
    field: QueryField
    prefix: str


@dataclass(frozen=True)
class AllOf:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


Expr = Compare | StartsWith | AllOf | AnyOf | Not


@dataclass(frozen=True)
class OrderBy:
    field: QueryField
    descending: bool


@dataclass(frozen=True)
class SortKey:
    """An item's place in a list: the ordered field's value, then creation time, then id, which break ties.

    `value` is None when the list is ordered by creation time (the next part is the key) and for an item
    without the field (a job outside sessions ordered by SessionId); None comes first, as '' would.
    """

    value: str | None
    created: datetime
    id: str

    def ordered(self) -> tuple[str, datetime, str]:
        return (self.value or "", self.created, self.id)


@dataclass(frozen=True)
class Continuation:
    """Where a next page starts: after the item at `key`, which is number `position` of the list (from 1)."""

    position: int
    key: SortKey


@dataclass(frozen=True)
class JobQuery:
    filter: Expr | None = None
    orderby: OrderBy = OrderBy(QueryField.CREATION_TIME, descending=False)  # Azure lists oldest first
    skip: int = 0  # items left out after `after` (or from the start)
    top: int = 100
    # Only jobs outside any session: with the sessions, the workspace's top-level items.
    top_level: bool = False
    # Keyset paging: only the items past this key in `orderby` order, found through an index, never counted.
    after: Continuation | None = None

    @property
    def start(self) -> int:
        """How many items of the whole list come before this page."""
        return (0 if self.after is None else self.after.position) + self.skip

    def continuation(self, page: Sequence[JobDetails | SessionDetails]) -> Continuation:
        """Where the page after `page` (a non-empty page this query answered) starts."""
        return Continuation(self.start + len(page), sort_key(page[-1], self.orderby.field))


def sort_key(item: JobDetails | SessionDetails, field: QueryField) -> SortKey:
    """The item's key in a list ordered on `field`, as the stores order it."""
    return SortKey(_sort_value(item, field), item.creation_time, item.id)


def _sort_value(item: JobDetails | SessionDetails, field: QueryField) -> str | None:
    if field is QueryField.CREATION_TIME:
        return None
    if isinstance(item, SessionDetails) and field in (QueryField.SESSION_ID, QueryField.JOB_TYPE):
        return item.id if field is QueryField.SESSION_ID else None  # a session is its own session
    value = getattr(item, ATTRIBUTES[field])
    return None if value is None else str(value)


# Each list field as the attribute of JobDetails (and SessionDetails) that holds it; the stores name their columns
# and paths after these.
ATTRIBUTES: Mapping[QueryField, str] = {
    QueryField.NAME: "name",
    QueryField.ITEM_TYPE: "item_type",
    QueryField.JOB_TYPE: "job_type",
    QueryField.PROVIDER_ID: "provider_id",
    QueryField.TARGET: "target",
    QueryField.STATE: "status",
    QueryField.SESSION_ID: "session_id",
    QueryField.CREATION_TIME: "creation_time",
}


MAX_PAGE = 100
# A filter is refused, as a bad request, past these: no store's query planner or our recursion meets a
# filter it cannot take (SQLite stops at an expression tree 1,000 deep). The SDK writes a handful of terms.
MAX_FILTER_DEPTH = 32  # parentheses and `not` nested in one another
MAX_FILTER_TERMS = 100  # comparisons and startswith calls in one filter
_TOKEN = re.compile(
    r"(?P<str>'(?:[^']|'')*')|(?P<dt>\d{4}-\d{2}-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?)"
    r"|(?P<num>\d+(?:\.\d+)?)|(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>[(),])"
)
_NOT_SPACE = re.compile(r"\S")
_FIELDS = {f.value.lower(): f for f in QueryField}
# Enum-valued fields compare as Azure compares them, whatever the case a client writes (`az quantum job list
# --item-type job`): their values are stored in one spelling, which a filter's value is mapped to here.
_SPELLINGS: dict[QueryField, dict[str, str]] = {
    field: {value.lower(): str(value) for value in values}
    for field, values in (
        (QueryField.STATE, [*JobStatus, *SessionStatus]),
        (QueryField.ITEM_TYPE, ["Job", "Session"]),
        (QueryField.JOB_TYPE, ["QuantumComputing", "Optimization", "Unknown"]),
    )
}
_LOWERCASE = frozenset({QueryField.PROVIDER_ID, QueryField.TARGET, QueryField.SESSION_ID})  # ids are stored so


def _bad(message: str, position: int) -> InvalidRequestError:
    return InvalidRequestError(f"filter, column {position + 1}: {message}", target="filter")


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


def _skip_space(text: str, position: int) -> int:
    found = _NOT_SPACE.search(text, position)
    return len(text) if found is None else found.start()


def _tokenize(text: str) -> list[_Token]:
    """The filter's tokens, in one pass over the text."""
    tokens: list[_Token] = []
    position = _skip_space(text, 0)
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            raise _bad(f"unexpected character {text[position]!r}", position)
        kind = match.lastgroup
        tokens.append(_Token(kind, match.group(kind), position))
        position = _skip_space(text, match.end())
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.terms = 0

    def parse(self) -> Expr:
        expr = self._or()
        if self.index < len(self.tokens):
            token = self.tokens[self.index]
            raise _bad(f"unexpected {token.text!r}", token.position)
        return expr

    def _peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _next(self, expected: str) -> _Token:
        token = self._peek()
        if token is None:
            raise _bad(f"expected {expected} but the filter ended", len(self.text))
        self.index += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token is not None and token.kind == "word" and token.text.lower() == word:
            self.index += 1
            return True
        return False

    def _expect_punct(self, char: str) -> None:
        token = self._next(f"'{char}'")
        if token.text != char:
            raise _bad(f"expected '{char}', found {token.text!r}", token.position)

    def _or(self) -> Expr:
        items = [self._and()]
        while self._keyword("or"):
            items.append(self._and())
        return items[0] if len(items) == 1 else AnyOf(tuple(items))

    def _and(self) -> Expr:
        items = [self._unary()]
        while self._keyword("and"):
            items.append(self._unary())
        return items[0] if len(items) == 1 else AllOf(tuple(items))

    def _unary(self) -> Expr:
        token = self._next("a condition")
        if token.kind == "word" and token.text.lower() == "not":
            self._nest(token)
            expr: Expr = Not(self._unary())
            self.depth -= 1
            return expr
        if token.text == "(":
            self._nest(token)
            expr = self._or()
            self._expect_punct(")")
            self.depth -= 1
            return expr
        self.terms += 1
        if self.terms > MAX_FILTER_TERMS:
            raise _bad(f"more than {MAX_FILTER_TERMS} conditions; a filter may have at most that many", token.position)
        if token.kind == "word" and token.text.lower() == "startswith":
            self._expect_punct("(")
            field = self._field(self._next("a field name"))
            self._expect_punct(",")
            prefix = self._next("a quoted string")
            if prefix.kind != "str":
                raise _bad(f"startswith takes a quoted string, found {prefix.text!r}", prefix.position)
            self._expect_punct(")")
            return StartsWith(field, _unquote(prefix.text))
        field = self._field(token)
        op_token = self._next("an operator")
        try:
            op = Op(op_token.text.lower())
        except ValueError:
            raise _bad(f"unknown operator {op_token.text!r}; use eq, ne, gt, ge, lt or le", op_token.position) from None
        return Compare(field, op, self._value(field, self._next("a value")))

    def _nest(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_FILTER_DEPTH:
            raise _bad(
                f"nested more than {MAX_FILTER_DEPTH} deep (parentheses and 'not'); write the filter flatter",
                token.position,
            )

    @staticmethod
    def _field(token: _Token) -> QueryField:
        field = _FIELDS.get(token.text.lower()) if token.kind == "word" else None
        if field is None:
            known = ", ".join(f.value for f in QueryField)
            raise _bad(f"unknown field {token.text!r}; filterable fields are {known}", token.position)
        return field

    @staticmethod
    def _value(field: QueryField, token: _Token) -> str | datetime:
        if field is QueryField.CREATION_TIME:
            text = _unquote(token.text) if token.kind == "str" else token.text
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                raise _bad(f"{text!r} is not a date (YYYY-MM-DD) or date-time", token.position) from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC)
        if token.kind != "str":
            raise _bad(f"{field.value} is compared with a quoted string, found {token.text!r}", token.position)
        value = _unquote(token.text)
        if field in _LOWERCASE:
            return value.lower()
        return _SPELLINGS.get(field, {}).get(value.lower(), value)


def _unquote(text: str) -> str:
    return text[1:-1].replace("''", "'")


def parse_filter(text: str | None) -> Expr | None:
    if text is None or not text.strip():
        return None
    return _Parser(text).parse()


def parse_orderby(text: str | None) -> OrderBy:
    if text is None or not text.strip():
        return JobQuery.orderby
    parts = text.split()
    field = _FIELDS.get(parts[0].lower())
    if field is None or len(parts) > 2 or (len(parts) == 2 and parts[1].lower() not in {"asc", "desc"}):
        known = ", ".join(f.value for f in QueryField)
        raise InvalidRequestError(
            f"orderby must be '<field> [asc|desc]' with a field among {known}; got {text!r}.",
            target="orderby",
        )
    return OrderBy(field, descending=len(parts) == 2 and parts[1].lower() == "desc")


def parse_int(text: str | None, *, name: str, default: int, low: int, high: int) -> int:
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidRequestError(f"{name} must be a whole number, got {text!r}.", target=name) from None
    if not low <= value <= high:
        raise InvalidRequestError(f"{name} must be between {low} and {high}, got {value}.", target=name)
    return value


class _ContinuationToken(BaseModel):
    """A continuation token's content: the order it was issued for and where the next page starts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    orderby: str
    position: int = Field(ge=0)
    value: str | None
    created: AwareDatetime
    id: str


def _orderby_text(orderby: OrderBy) -> str:
    return f"{orderby.field.value} {'desc' if orderby.descending else 'asc'}"


def continuation_token(after: Continuation, orderby: OrderBy) -> str:
    """The opaque `continuationToken` of a nextLink: URL-safe base64 of where the next page starts."""
    key = after.key
    token = _ContinuationToken(
        orderby=_orderby_text(orderby), position=after.position, value=key.value, created=key.created, id=key.id
    )
    return base64.urlsafe_b64encode(token.model_dump_json().encode()).decode().rstrip("=")


def parse_continuation(text: str | None, orderby: OrderBy) -> Continuation | None:
    """The continuation a nextLink's token states; a token this service did not issue, or issued for a list in
    another order, is a bad request."""
    if text is None or text == "":
        return None
    try:
        token = _ContinuationToken.model_validate_json(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValidationError, binascii.Error, ValueError):
        raise InvalidRequestError(
            "continuationToken is not one this service issued; follow the nextLink as given.",
            target="continuationToken",
        ) from None
    if token.orderby != _orderby_text(orderby):
        raise InvalidRequestError(
            f"continuationToken continues a list ordered by '{token.orderby}', not '{_orderby_text(orderby)}'.",
            target="continuationToken",
        )
    return Continuation(token.position, SortKey(token.value, token.created.astimezone(UTC), token.id))

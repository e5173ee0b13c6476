from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.domain.errors import InvalidRequestError
from shared.domain.query import (
    AllOf,
    AnyOf,
    Compare,
    JobQuery,
    Op,
    OrderBy,
    QueryField,
    StartsWith,
    parse_filter,
    parse_int,
    parse_orderby,
)


def test_parses_the_filter_the_sdk_writes() -> None:
    text = (
        "startswith(Name, 'ionq') and (ProviderId eq 'ionq') and (Target eq 'ionq.simulator') and "
        "(State eq 'Succeeded' or State eq 'Failed') and CreationTime ge 2024-01-01"
    )
    assert parse_filter(text) == AllOf(
        (
            StartsWith(QueryField.NAME, "ionq"),
            Compare(QueryField.PROVIDER_ID, Op.EQ, "ionq"),
            Compare(QueryField.TARGET, Op.EQ, "ionq.simulator"),
            AnyOf((Compare(QueryField.STATE, Op.EQ, "Succeeded"), Compare(QueryField.STATE, Op.EQ, "Failed"))),
            Compare(QueryField.CREATION_TIME, Op.GE, datetime(2024, 1, 1, tzinfo=UTC)),
        )
    )


def test_quotes_are_escaped_by_doubling() -> None:
    assert parse_filter("Name eq 'it''s'") == Compare(QueryField.NAME, Op.EQ, "it's")


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        pytest.param("Name eq", 8, "ended", id="truncated"),
        pytest.param("Colour eq 'red'", 1, "unknown field", id="unknown-field"),
        pytest.param("Name like 'x'", 6, "unknown operator", id="unknown-operator"),
        pytest.param("Name eq x", 9, "quoted string", id="unquoted"),
        pytest.param("(Name eq 'a'", 13, "expected ')'", id="unclosed"),
        pytest.param("CreationTime ge 2024-13-01", 17, "not a date", id="bad-date"),
        pytest.param("Name eq 'a' Target eq 'b'", 13, "unexpected", id="missing-and"),
    ],
)
def test_bad_filters_name_the_column(text: str, column: int, words: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_filter(text)
    assert f"column {column}:" in caught.value.message
    assert words in caught.value.message
    assert caught.value.target == "filter"


def test_orderby_and_paging_parameters() -> None:
    assert parse_orderby("CreationTime desc") == OrderBy(QueryField.CREATION_TIME, descending=True)
    assert parse_orderby("Name") == OrderBy(QueryField.NAME, descending=False)
    oldest_first = OrderBy(QueryField.CREATION_TIME, descending=False)
    assert parse_orderby(None) == parse_orderby(" ") == JobQuery().orderby == oldest_first, "Azure's default order"
    with pytest.raises(InvalidRequestError):
        parse_orderby("Name sideways")
    assert parse_int("5", name="top", default=100, low=1, high=100) == 5
    with pytest.raises(InvalidRequestError, match="top must be between 1 and 100"):
        parse_int("0", name="top", default=100, low=1, high=100)


@pytest.mark.parametrize(
    ("written", "field", "stored"),
    [
        ("ItemType eq 'job'", QueryField.ITEM_TYPE, "Job"),
        ("ItemType eq 'SESSION'", QueryField.ITEM_TYPE, "Session"),
        ("State eq 'succeeded'", QueryField.STATE, "Succeeded"),
        ("State eq 'failure(s)'", QueryField.STATE, "Failure(s)"),
        ("JobType eq 'quantumcomputing'", QueryField.JOB_TYPE, "QuantumComputing"),
        ("ProviderId eq 'IonQ'", QueryField.PROVIDER_ID, "ionq"),
        ("Target eq 'IONQ.Simulator'", QueryField.TARGET, "ionq.simulator"),
        ("State eq 'Bogus'", QueryField.STATE, "Bogus"),
    ],
)
def test_enum_and_id_values_match_whatever_their_case(written: str, field: QueryField, stored: str) -> None:
    """As Azure matches them: `az quantum job list --item-type job` finds jobs whose ItemType is Job."""
    assert parse_filter(written) == Compare(field, Op.EQ, stored)

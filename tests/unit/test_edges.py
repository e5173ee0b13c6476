"""Hostile input at the pure edges: filters, request bodies, keys, links, error bodies, dropped blobs.

Each case replays a finding of the security review (F9, F13, F16, F8) and checks the answer is a clean 4xx
that names the problem, or a Failed job that says what was wrong.
"""

from __future__ import annotations

import json

import azure.functions as func
import pytest

from shared.api.http import (
    API_KEY_HEADER,
    MAX_JSON_DEPTH,
    ApiContext,
    absolute_link,
    endpoint,
    json_depth,
    json_response,
    parse_body,
)
from shared.config import Settings
from shared.domain.errors import DependencyError, InputNotFoundError, InvalidRequestError
from shared.domain.jobs import JobStatus
from shared.domain.query import MAX_FILTER_DEPTH, MAX_FILTER_TERMS, AnyOf, Not, parse_filter
from shared.services import intake
from shared.services.manage import JobUpdate
from tests.fakes import make_pipeline

KEY = "edge-key"
SETTINGS = Settings(api_keys=KEY, port=18300)
WORKSPACE = {"subscriptionId": SETTINGS.subscription_id, "resourceGroupName": "local", "workspaceName": "local"}
CONDITION = "Name eq 'a'"


def request(
    *,
    key: str = KEY,
    body: bytes = b"",
    url: str = "http://127.0.0.1:18300/api/x/jobs",
    route: dict[str, str] | None = None,
) -> func.HttpRequest:
    return func.HttpRequest(
        method="PUT",
        url=url,
        headers={API_KEY_HEADER: key},
        params={},
        route_params=WORKSPACE if route is None else route,
        body=body,
    )


def answer(handler_body: object, req: func.HttpRequest) -> func.HttpResponse:
    """What `endpoint` answers for `req` when the handler raises `handler_body` (or returns it as JSON)."""

    def handler(_: func.HttpRequest, __: ApiContext) -> func.HttpResponse:
        if isinstance(handler_body, BaseException):
            raise handler_body
        return json_response(handler_body)

    return endpoint(handler)(req, ApiContext(make_pipeline(), SETTINGS))


def error_of(response: func.HttpResponse) -> dict[str, object]:
    error: dict[str, object] = json.loads(response.get_body())["error"]
    return error


# ------------------------------------------------------------------------------------- filters (F9)


def nested(depth: int) -> str:
    return "(" * depth + CONDITION + ")" * depth


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param(nested(600), f"nested more than {MAX_FILTER_DEPTH} deep", id="600-parentheses"),
        pytest.param("not " * 3000 + CONDITION, f"nested more than {MAX_FILTER_DEPTH} deep", id="3000-not"),
        pytest.param(" or ".join([CONDITION] * 1200), f"more than {MAX_FILTER_TERMS} conditions", id="1200-or"),
        pytest.param(" and ".join([CONDITION] * 1200), f"more than {MAX_FILTER_TERMS} conditions", id="1200-and"),
        pytest.param("," * 60_000, "column 1: unknown field ','", id="60000-commas"),
        pytest.param("Name eq '" + "x" * 60_000, "unexpected character", id="unterminated-string"),
    ],
)
def test_hostile_filters_are_bad_requests_that_say_why(text: str, words: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_filter(text)
    assert words in caught.value.message
    assert caught.value.target == "filter"


def test_filters_at_the_limits_parse() -> None:
    assert parse_filter(nested(MAX_FILTER_DEPTH)) is not None
    assert isinstance(parse_filter("not " * MAX_FILTER_DEPTH + CONDITION), Not)
    widest = parse_filter(" or ".join([CONDITION] * MAX_FILTER_TERMS))
    assert isinstance(widest, AnyOf) and len(widest.items) == MAX_FILTER_TERMS


def test_the_depth_limit_counts_nesting_not_a_sequence_of_groups() -> None:
    groups = " and ".join(f"({CONDITION})" for _ in range(MAX_FILTER_TERMS))
    assert parse_filter(groups) is not None


def test_tokens_keep_their_columns_after_long_runs_of_space() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_filter(" " * 5000 + "Name eq 'a' $")
    assert "column 5013:" in caught.value.message and "'$'" in caught.value.message


# ------------------------------------------------------------------------------------- request bodies (F9)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", id="100000-arrays"),
        pytest.param(b'{"a":' + b"[" * 100_000, id="100000-arrays-unclosed"),
        pytest.param(
            b'{"tags":' + b'{"a":' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 2), id="65-objects"
        ),
    ],
)
def test_a_deeply_nested_body_is_a_bad_request_naming_the_limit(body: bytes) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_body(request(body=body), JobUpdate, 10**7)
    assert f"nested more than {MAX_JSON_DEPTH} levels deep" in caught.value.message
    assert caught.value.target == "body"


def test_a_body_at_the_depth_limit_reaches_the_model() -> None:
    body = json.dumps({"name": "x", "tags": ["a"]}).encode()
    assert parse_body(request(body=body), JobUpdate, 10_000).name == "x"
    assert json_depth({"a": [[[]]]}) == 4 and json_depth(7) == 0 and json_depth([]) == 1


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"name": ' + b"9" * 5000 + b"}", id="5000-digit-number"),
        pytest.param(b'{"name": "\xff"}', id="not-utf8"),
    ],
)
def test_a_body_json_cannot_hold_is_a_bad_request(body: bytes) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_body(request(body=body), JobUpdate, 10_000)
    assert caught.value.message.startswith("The request body is not valid JSON")


# ------------------------------------------------------------------------------------- keys and errors (F9)


@pytest.mark.parametrize("key", ["k\u00c3\u00a9y", "\u00e9", "\U0001f511", "\ud800", KEY + "\u00e9"])
def test_a_non_ascii_key_is_refused_with_401(key: str) -> None:
    response = answer({"ok": True}, request(key=key))
    assert response.status_code == 401
    assert error_of(response)["code"] == "Unauthorized"


def test_the_right_key_still_passes() -> None:
    assert answer({"ok": True}, request()).status_code == 200


def test_a_dependency_failure_is_503_without_its_internal_detail() -> None:
    detail = "The local database jobs.sqlite3 failed: disk I/O error. RequestId:1234-abcd"
    response = answer(DependencyError(detail), request())
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    error = error_of(response)
    assert error == {"code": "DependencyUnavailable", "message": DependencyError.default_message}
    assert b"sqlite3" not in response.get_body() and b"RequestId" not in response.get_body()


def test_a_key_holder_naming_another_workspace_learns_the_served_one() -> None:
    response = answer({"ok": True}, request(route={**WORKSPACE, "workspaceName": "-"}))
    assert response.status_code == 404
    details = error_of(response)["details"]
    assert details == [
        {
            "code": "ServedWorkspace",
            "message": f"{SETTINGS.workspace_path}: the workspace this service serves",
            "target": SETTINGS.workspace_path,
        }
    ]
    assert answer({"ok": True}, request(key="wrong", route={**WORKSPACE, "workspaceName": "-"})).status_code == 401


# ------------------------------------------------------------------------------------- links (F13)


def test_a_link_is_built_at_the_configured_base_url_whatever_the_host_header() -> None:
    req = request(url="http://attacker.example:8080/api/subscriptions/s/jobs?top=1")
    link = absolute_link(req, SETTINGS.api_base_url, {"skip": 1, "top": 1})
    assert link == "http://127.0.0.1:18300/api/subscriptions/s/jobs?skip=1&top=1"
    azure = Settings(website_hostname="quantum.azurewebsites.net")
    assert absolute_link(req, azure.api_base_url, {"skip": 2}).startswith("https://quantum.azurewebsites.net/api/")


# ------------------------------------------------------------------------------------- dropped blobs (F16, F8)


def never_read() -> bytes:
    raise AssertionError("the body of an oversized blob was read")


def test_an_oversized_drop_is_a_failed_job_stating_size_and_limit_without_reading_it() -> None:
    p = make_pipeline(max_input_bytes=1000)
    job = intake.intake_blob(p, "programs", "huge.json", 400_000_000, never_read, {"target": "ionq.simulator"})
    assert job.status is JobStatus.FAILED
    assert job.details.error_data is not None
    assert job.details.error_data.code == "InputTooLarge"
    assert job.details.error_data.message == "The program is 400000000 bytes; the limit is 1000."
    assert job.details.target == "ionq.simulator" and job.details.name == "huge.json"
    again = intake.intake_blob(p, "programs", "huge.json", 400_000_000, never_read, {"target": "ionq.simulator"})
    assert again.id == job.id, "taken in twice, still one job"


def test_a_blob_the_trigger_gave_up_reading_is_a_failed_job_that_says_so() -> None:
    p = make_pipeline()

    def unreadable() -> bytes:
        raise InputNotFoundError("The blob programs/dotdot/../escape.json could not be read in 5 attempts.")

    job = intake.intake_blob(p, "programs", "dotdot/../escape.json", None, unreadable, {})
    assert job.status is JobStatus.FAILED
    assert job.details.error_data is not None and job.details.error_data.code == "InputDataNotFound"
    assert "could not be read in 5 attempts" in job.details.error_data.message
    assert job.details.name == "rejected-blob", "a name with path tricks is not shown as the job's name"


def test_a_blob_within_the_limit_is_read_and_taken_in_as_before() -> None:
    p = make_pipeline()
    data = json.dumps({"qubits": 1, "circuit": [{"gate": "h", "targets": [0]}]}).encode()
    meta = {"target": "ionq.simulator"}
    job = intake.intake_blob(p, "programs", "h.json", len(data), lambda: data, meta)
    assert job.id == intake.drop_job_id("programs", "h.json", data)
    assert job.status is JobStatus.WAITING

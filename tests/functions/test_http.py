"""The HTTP functions in process: every answer the workspace API gives, from 200 to the 500 that leaks nothing."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

import function_app
from shared.domain.errors import TransientJobError
from shared.domain.messages import TranslateJob
from shared.programs.limits import MAX_CLASSICAL_BITS, MAX_EXPANDED_GATES
from tests.entra import SigningKey
from tests.fakes import FakeJobStore
from tests.functions.conftest import (
    CONTRIBUTOR,
    MAX_REQUEST_BYTES,
    READER,
    WORKSPACE_PATH,
    Fakes,
    call,
    json_of,
)

QASM = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\nh q[0];\ncx q[0], q[2];\n'


def job_body(fakes: Fakes, job_id: str, **changes: object) -> dict[str, object]:
    return {
        "id": job_id,
        "name": "bell",
        "providerId": "ionq",
        "target": "ionq.simulator",
        "inputDataUri": fakes.upload(job_id),
        "inputDataFormat": "ionq.circuit.v1",
        "inputParams": {"shots": 100},
        **changes,
    }


def put_job(fakes: Fakes, job_id: str = "j1", **changes: object) -> dict[str, object]:
    response = call(function_app.job_item, "PUT", body=job_body(fakes, job_id, **changes), jobRef=job_id)
    assert response.status_code == 201, response.get_body()
    created: dict[str, object] = json_of(response)
    return created


def error_code(response: object) -> str:
    code: str = json_of(response)["error"]["code"]  # type: ignore[arg-type]
    return code


class BrokenJobStore(FakeJobStore):
    """A job store whose reads fail with `error`, as a throttled or broken database would."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def get(self, job_id: str) -> None:
        raise self.error


def test_put_creates_the_job_and_routes_it_then_a_replay_answers_200(fakes: Fakes) -> None:
    created = put_job(fakes)
    assert (created["id"], created["status"]) == ("j1", "Waiting")
    assert [(queue, type(m)) for queue, m in fakes.sender.sent] == [("jobs-ionq", TranslateJob)]
    replay = call(function_app.job_item, "PUT", body=job_body(fakes, "j1"), jobRef="j1")
    assert replay.status_code == 200
    assert json_of(replay)["id"] == "j1"


def test_a_program_that_cannot_run_is_201_with_a_failed_job_and_nothing_routed(fakes: Fakes) -> None:
    body = job_body(fakes, "j1", inputDataFormat="openqasm.v2")
    fakes.upload("j1", b"OPENQASM 2.0;\nqreg q[2];\nh q[0]")
    response = call(function_app.job_item, "PUT", body=body, jobRef="j1")
    assert response.status_code == 201
    job = json_of(response)
    assert job["status"] == "Failed" and job["errorData"]["code"] == "InvalidProgram"
    assert fakes.sender.sent == []
    assert call(function_app.job_item, "PUT", body=body, jobRef="j1").status_code == 200


def test_put_without_an_input_data_uri_reads_the_jobs_own_input_data(fakes: Fakes) -> None:
    body = {k: v for k, v in job_body(fakes, "j1").items() if k != "inputDataUri"}
    response = call(function_app.job_item, "PUT", body=body, jobRef="j1")
    assert response.status_code == 201, response.get_body()
    assert (json_of(response)["status"], json_of(response)["inputDataUri"]) == ("Waiting", fakes.upload("j1"))


def test_get_reads_a_job_by_its_id_in_any_case(fakes: Fakes) -> None:
    put_job(fakes, "bell-1")
    response = call(function_app.job_item, jobRef=" BELL-1 ")
    assert response.status_code == 200
    assert (json_of(response)["id"], response.mimetype) == ("bell-1", "application/json")


@pytest.mark.parametrize(
    "written",
    [
        "ItemType eq 'job'",
        "State eq 'waiting'",
        "ProviderId eq 'IONQ'",
        "Target eq 'IonQ.Simulator'",
        "JobType eq 'quantumcomputing'",
    ],
)
def test_list_filters_match_enum_values_and_ids_whatever_their_case(fakes: Fakes, written: str) -> None:
    """The spellings of `az quantum job list --item-type job --status waiting ...` find the job."""
    put_job(fakes)
    listed = json_of(call(function_app.jobs_list, params={"filter": written}))["value"]
    assert [job["id"] for job in listed] == ["j1"]


def test_next_link_continues_where_its_page_ended_and_a_foreign_token_is_400(fakes: Fakes) -> None:
    """The pages the nextLinks lead to join into the list, even when a job is created before the next page is
    read (a continuation is a place in the order, not a count); a token for another order, or none we made, is a
    bad request."""
    for job_id in ("j1", "j2", "j3"):
        put_job(fakes, job_id)
    first = json_of(call(function_app.jobs_list, params={"orderby": "CreationTime desc", "top": "2"}))
    put_job(fakes, "j4")
    link = parse_qs(urlsplit(str(first["nextLink"])).query)
    assert link["skip"] == ["2"] and link["orderby"] == ["CreationTime desc"]
    second = json_of(call(function_app.jobs_list, params={k: v[0] for k, v in link.items()}))
    assert [j["id"] for j in [*first["value"], *second["value"]]] == ["j3", "j2", "j1"]
    assert second["nextLink"] is None
    other_order = {**{k: v[0] for k, v in link.items()}, "orderby": "Name asc"}
    for params in (other_order, {"continuationToken": "not-ours"}):
        response = call(function_app.jobs_list, params=params)
        assert response.status_code == 400 and "continuationToken" in str(json_of(response)["error"])


def test_patch_answers_the_fields_it_may_change(fakes: Fakes) -> None:
    put_job(fakes)
    response = call(function_app.job_item, "PATCH", body={"name": "renamed", "tags": ["a", "b"]}, jobRef="j1")
    assert response.status_code == 200
    assert json_of(response) == {"id": "j1", "name": "renamed", "priority": "Standard", "tags": ["a", "b"]}


def test_cancel_then_delete_answer_200_and_204(fakes: Fakes) -> None:
    put_job(fakes)
    cancelled = call(function_app.job_item, "POST", jobRef="j1:cancel")
    assert (cancelled.status_code, json_of(cancelled)["status"]) == (200, "Cancelled")
    deleted = call(function_app.job_item, "DELETE", jobRef="j1")
    assert (deleted.status_code, deleted.get_body()) == (204, b"")
    assert fakes.pipeline.jobs.get("j1") is None


def test_validate_answers_the_verdict_and_the_program_size(fakes: Fakes) -> None:
    body = {"target": "IonQ.Simulator", "inputDataFormat": "openqasm.v2", "inputData": QASM}
    response = call(function_app.validate_job, "POST", body=body)
    assert response.status_code == 200
    assert json_of(response) == {
        "valid": True,
        "target": "ionq.simulator",
        "diagnostics": [],
        "qubits": 3,
        "gates": 2,
    }
    invalid = json_of(
        call(function_app.validate_job, "POST", body={**body, "inputData": "OPENQASM 2.0;\nqreg q[2];\nh q[0]"})
    )
    assert invalid["valid"] is False
    assert set(invalid) == {"valid", "target", "diagnostics"}
    assert set(invalid["diagnostics"][0]) == {"code", "message", "line", "column", "path"}


def test_the_workspace_views_answer_200(fakes: Fakes) -> None:
    put_job(fakes)
    providers = json_of(call(function_app.provider_status))
    assert providers["nextLink"] is None
    ionq = next(p for p in providers["value"] if p["id"] == "ionq")
    simulator = next(t for t in ionq["targets"] if t["id"] == "ionq.simulator")
    assert set(simulator) == {"id", "currentAvailability", "averageQueueTime", "numQubits", "metadata"}
    limits = simulator["metadata"]["programLimits"]  # what every program is checked against, as catalog data
    assert limits["maxExpandedGates"] == MAX_EXPANDED_GATES and limits["maxClassicalBits"] == MAX_CLASSICAL_BITS
    assert simulator["metadata"]["outputLimits"]["maxHistogramEntries"] >= 1
    quota = json_of(call(function_app.quotas))["value"][0]
    assert set(quota) == {"dimension", "scope", "providerId", "utilization", "holds", "limit", "period"}
    assert [j["id"] for j in json_of(call(function_app.jobs_list))["value"]] == ["j1"]
    assert [i["id"] for i in json_of(call(function_app.top_level_items))["value"]] == ["j1"]
    history = json_of(call(function_app.job_history, jobId="j1"))
    assert (history["id"], [t["status"] for t in history["value"]]) == ("j1", ["Waiting"])
    program = call(function_app.job_data, jobId="j1", which="input")
    assert (program.status_code, program.headers["x-ms-data-format"]) == (200, "ionq.circuit.v1")
    sas = call(function_app.storage_sas, "POST", body={"containerName": "job-j2"})
    assert sas.status_code == 200 and "sp=c" in json_of(sas)["sasUri"]


def test_a_session_opens_201_reads_closes_and_lists_its_jobs(fakes: Fakes) -> None:
    session = {"providerId": "IONQ", "target": "ionq.simulator", "name": "s"}
    opened = call(function_app.session_item, "PUT", body=session, sessionRef="S1")
    assert (opened.status_code, json_of(opened)["id"], json_of(opened)["providerId"]) == (201, "s1", "ionq")
    assert call(function_app.session_item, "PUT", body=session, sessionRef="s1").status_code == 200
    put_job(fakes, sessionId="S1")
    jobs = json_of(call(function_app.session_jobs, sessionId="s1"))
    assert [(j["id"], j["sessionId"]) for j in jobs["value"]] == [("j1", "s1")]
    assert json_of(call(function_app.session_item, sessionRef="s1"))["status"] == "Executing", "it has a job"
    closed = call(function_app.session_item, "POST", sessionRef="s1:close")
    assert closed.status_code == 200
    assert [s["id"] for s in json_of(call(function_app.sessions_list))["value"]] == ["s1"]


@pytest.mark.parametrize(
    ("job_ref", "body", "code"),
    [
        pytest.param("not an id!", None, "InvalidRequest", id="route-id"),
        pytest.param("j1", b"{not json", "InvalidRequest", id="json"),
        pytest.param("j1", b'{"providerId": "ionq"}', "InvalidRequest", id="missing-fields"),
        pytest.param(
            "j1",
            b'{"providerId": "ionq", "target": "nowhere.qpu", "inputDataUri": "u", "inputDataFormat": "f"}',
            "InvalidTarget",
            id="unknown-target",
        ),
    ],
)
def test_bad_requests_answer_400(fakes: Fakes, job_ref: str, body: bytes | None, code: str) -> None:
    response = call(function_app.job_item, "PUT", raw=body, jobRef=job_ref)
    assert (response.status_code, error_code(response)) == (400, code)


def test_a_session_id_in_the_route_is_checked_like_a_job_id(fakes: Fakes) -> None:
    response = call(function_app.session_item, sessionRef="no good")
    assert response.status_code == 400
    assert json_of(response)["error"]["target"] == "sessionId"


@pytest.mark.parametrize(
    ("key", "bearer"),
    [
        pytest.param(None, None, id="no-key"),
        pytest.param("wrong-key", None, id="wrong-key"),
        pytest.param(None, "not.a.token", id="bad-bearer"),
    ],
)
def test_a_caller_without_valid_credentials_gets_401(fakes: Fakes, key: str | None, bearer: str | None) -> None:
    response = call(function_app.jobs_list, key=key, bearer=bearer)
    assert response.status_code == 401
    assert response.headers["x-ms-error-code"] in {"Unauthorized", "InvalidAuthenticationToken"}


def test_a_token_signed_by_another_key_gets_401(fakes: Fakes) -> None:
    forged = SigningKey().token(CONTRIBUTOR)
    assert call(function_app.jobs_list, key=None, bearer=forged).status_code == 401


def test_a_reader_may_look_but_gets_403_for_a_change(fakes: Fakes, signing_key: SigningKey) -> None:
    put_job(fakes)
    reader = signing_key.token(READER)
    assert call(function_app.job_item, key=None, bearer=reader, jobRef="j1").status_code == 200
    refused = call(function_app.job_item, "POST", key=None, bearer=reader, jobRef="j1:cancel")
    assert (refused.status_code, error_code(refused)) == (403, "AuthorizationFailed")
    contributor = signing_key.token(CONTRIBUTOR)
    assert call(function_app.job_item, "POST", key=None, bearer=contributor, jobRef="j1:cancel").status_code == 200


def test_an_unknown_job_or_workspace_is_404(fakes: Fakes) -> None:
    missing = call(function_app.job_item, jobRef="nope")
    assert (missing.status_code, error_code(missing)) == (404, "JobNotFound")
    elsewhere = call(function_app.jobs_list, workspaceName="other")
    assert (elsewhere.status_code, error_code(elsewhere)) == (404, "WorkspaceNotFound")
    assert json_of(elsewhere)["error"]["details"][0]["target"] == WORKSPACE_PATH


@pytest.mark.parametrize(
    ("function", "method", "route"),
    [
        pytest.param(function_app.job_item, "POST", {"jobRef": "j1"}, id="post-job"),
        pytest.param(function_app.job_item, "PATCH", {"jobRef": "j1:cancel"}, id="patch-cancel"),
        pytest.param(function_app.job_item, "POST", {"jobRef": "j1:explode"}, id="unknown-action"),
        pytest.param(function_app.session_item, "GET", {"sessionRef": "s1:close"}, id="get-close"),
        pytest.param(function_app.session_item, "POST", {"sessionRef": "s1"}, id="post-session"),
        pytest.param(function_app.job_data, "GET", {"jobId": "j1", "which": "secrets"}, id="job-data"),
    ],
)
def test_a_method_or_action_an_item_does_not_take_is_405(
    fakes: Fakes, function: object, method: str, route: dict[str, str]
) -> None:
    response = call(function, method, **route)  # type: ignore[arg-type]
    assert (response.status_code, error_code(response)) == (405, "MethodNotAllowed")


def test_a_different_request_for_an_existing_id_is_409(fakes: Fakes) -> None:
    put_job(fakes)
    response = call(function_app.job_item, "PUT", body=job_body(fakes, "j1", name="other"), jobRef="j1")
    assert (response.status_code, error_code(response)) == (409, "JobAlreadyExists")


def test_a_body_over_the_limit_is_413(fakes: Fakes) -> None:
    response = call(function_app.job_item, "PUT", raw=b" " * (MAX_REQUEST_BYTES + 1), jobRef="j1")
    assert response.status_code == 413


def test_a_dependency_that_may_recover_is_503_with_retry_after(fakes: Fakes) -> None:
    fakes.with_jobs(BrokenJobStore(TransientJobError("Cosmos DB is throttling (test).")))
    response = call(function_app.job_item, jobRef="j1")
    assert (response.status_code, response.headers["Retry-After"]) == (503, "1")
    assert error_code(response) == "ServiceUnavailable"


def test_an_unexpected_error_is_500_and_leaks_nothing(fakes: Fakes) -> None:
    fakes.with_jobs(BrokenJobStore(RuntimeError("connection to db-secret.internal:5432 refused")))
    response = call(function_app.job_item, jobRef="j1")
    assert response.status_code == 500
    assert json_of(response) == {
        "error": {"code": "InternalError", "message": "The service failed unexpectedly; the error was logged."}
    }
    assert b"db-secret" not in response.get_body()

"""Bad input at every entry point gets a clear error, with the right status, and writes nothing; a well-formed
request for a program that cannot run is, as on Azure, a job that is Failed at once and says where and why."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests

from tests.e2e.helpers import Api, ionq_job_body
from tests.servers import LocalHostProcess

pytestmark = pytest.mark.integration

BELL = json.dumps({"qubits": 2, "circuit": [{"gate": "h", "targets": [0]}]}).encode()
BAD_QASM = b'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0]\ncx q[0], q[1];\n'


@pytest.fixture(scope="module")
def api(host: LocalHostProcess) -> Api:
    return Api(host)


@pytest.fixture(scope="module")
def program(api: Api) -> str:
    return api.upload_program(BELL)


def error_of(response: requests.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert response.headers["x-ms-error-code"] == body["error"]["code"]
    return dict(body["error"])


def assert_nothing_written(api: Api, job_id: str) -> None:
    assert api.get_job(job_id).status_code == 404


def test_malformed_json_names_line_and_column(api: Api) -> None:
    job_id = str(uuid.uuid4())
    response = api.session.put(
        f"{api.base}/jobs/{job_id}",
        data=b'{"name": "x",\n "target" "ionq"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "line 2, column 11" in error_of(response)["message"]
    assert_nothing_written(api, job_id)


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        pytest.param({"target": "ionq.qpu.unicorn"}, 400, "Known targets: ionq.simulator", id="unknown-target"),
        pytest.param({"providerId": "acme"}, 400, "Known providers", id="unknown-provider"),
        pytest.param({"inputDataFormat": "rigetti.quil.v1"}, 400, "Supported: ionq.circuit.v1", id="wrong-format"),
        pytest.param({"inputParams": {"shots": -1}}, 400, "inputParams.shots", id="negative-shots"),
        pytest.param({"inputDataUri": "http://evil.example/x/y"}, 400, "storage account", id="foreign-input"),
        pytest.param({"target": None}, 400, "target", id="null-target"),
        pytest.param({"tags": "not-a-list"}, 400, "tags", id="tags-type"),
    ],
)
def test_invalid_job_requests_are_refused(
    api: Api, program: str, change: dict[str, Any], status: int, words: str
) -> None:
    job_id = str(uuid.uuid4())
    response = api.put_job(job_id, {**ionq_job_body(program, "bad"), **change})
    assert response.status_code == status
    error = error_of(response)
    assert words in json.dumps(error)
    assert_nothing_written(api, job_id)


def test_an_invalid_program_is_a_failed_job_with_line_and_column_and_a_replay_returns_it(api: Api) -> None:
    job_id = str(uuid.uuid4())
    body = {**ionq_job_body(api.upload_program(BAD_QASM), "bad-qasm"), "inputDataFormat": "openqasm.v2"}
    response = api.put_job(job_id, body)
    assert response.status_code == 201
    job = response.json()
    assert (job["id"], job["status"], job["beginExecutionTime"]) == (job_id, "Failed", None)
    error = job["errorData"]
    assert error["code"] == "InvalidProgram"
    assert error["details"][0]["target"] == "line 4, column 7"
    validated = api.session.post(
        f"{api.base}/jobs:validate",
        json={"target": "ionq.simulator", "inputDataFormat": "openqasm.v2", "inputData": BAD_QASM.decode()},
    ).json()
    assert validated["diagnostics"][0]["message"] in error["details"][0]["message"], "what jobs:validate says"
    replay = api.put_job(job_id, body)
    assert replay.status_code == 200
    assert {k: replay.json()[k] for k in ("status", "errorData", "creationTime")} == {
        k: job[k] for k in ("status", "errorData", "creationTime")
    }
    history = api.session.get(f"{api.base}/jobs/{job_id}/history").json()["value"]
    assert [t["status"] for t in history] == ["Waiting", "Failed"], "stored Failed at once, never queued"


def test_without_input_data_uri_the_input_is_the_jobs_own_container_input_data(api: Api) -> None:
    job_id = str(uuid.uuid4())
    api.upload_program(BELL, container=f"job-{job_id}")
    body = {k: v for k, v in ionq_job_body("", "default-input").items() if k != "inputDataUri"}
    response = api.put_job(job_id, body)
    assert response.status_code == 201, response.text
    assert response.json()["inputDataUri"].endswith(f"/job-{job_id}/inputData")
    assert api.wait_final([job_id])[job_id]["status"] == "Succeeded"
    absent = str(uuid.uuid4())
    missing = api.put_job(absent, body)
    assert (missing.status_code, error_of(missing)["code"]) == (400, "InputDataNotFound")
    assert_nothing_written(api, absent)


def test_missing_input_blob_is_refused(api: Api, program: str) -> None:
    job_id = str(uuid.uuid4())
    response = api.put_job(job_id, ionq_job_body(program.replace("inputData", "nothing-here"), "missing"))
    assert response.status_code == 400
    assert error_of(response)["code"] == "InputDataNotFound"


def test_oversize_input_and_oversize_body_are_413(api: Api, host: LocalHostProcess) -> None:
    job_id = str(uuid.uuid4())
    big = api.upload_program(b" " * (4 * 1024 * 1024 + 1))
    response = api.put_job(job_id, ionq_job_body(big, "big"))
    assert response.status_code == 413
    assert error_of(response)["code"] == "InputTooLarge"
    body = ionq_job_body(api.upload_program(BELL), "x" * 2_000_000)
    assert api.put_job(job_id, body).status_code == 413
    assert_nothing_written(api, job_id)


@pytest.mark.parametrize(
    "job_id",
    [
        pytest.param("..%2F..%2Fsecrets", id="encoded-dot-dot"),
        pytest.param("a--b", id="double-hyphen"),
        pytest.param("x" * 37, id="too-long"),
        pytest.param("has%20space", id="space"),
        pytest.param("-leading", id="leading-hyphen"),
    ],
)
def test_bad_job_ids_are_refused(api: Api, program: str, job_id: str) -> None:
    response = api.put_job(job_id, ionq_job_body(program, "bad-id"))
    assert response.status_code == 400
    assert error_of(response)["target"] == "jobId"


def test_a_different_request_for_an_existing_id_is_a_conflict_and_a_replay_is_not(api: Api, program: str) -> None:
    job_id = str(uuid.uuid4())
    first = api.put_job(job_id, ionq_job_body(program, "original"))
    assert first.status_code == 201
    replay = api.put_job(job_id, ionq_job_body(program, "original"))
    assert replay.status_code == 200
    assert replay.json()["id"] == job_id
    conflict = api.put_job(job_id, ionq_job_body(program, "changed"))
    assert conflict.status_code == 409
    assert error_of(conflict)["code"] == "JobAlreadyExists"
    assert api.get_job(job_id).json()["name"] == "original"


def test_keys_and_workspace_paths_are_checked(api: Api, host: LocalHostProcess) -> None:
    anonymous = requests.get(f"{api.base}/jobs", timeout=10)
    assert anonymous.status_code == 401
    wrong = requests.get(f"{api.base}/jobs", headers={"x-ms-quantum-api-key": "nope"}, timeout=10)
    assert wrong.status_code == 401
    other = api.base.replace("workspaces/local", "workspaces/other")
    assert api.session.get(f"{other}/jobs").status_code == 404
    assert api.session.get(f"{host.endpoint}nothing/here").status_code == 404


def test_bad_list_parameters_name_what_is_wrong(api: Api) -> None:
    response = api.session.get(f"{api.base}/jobs", params={"filter": "Colour eq 'red'"})
    assert response.status_code == 400
    assert "column 1" in error_of(response)["message"]
    assert api.session.get(f"{api.base}/jobs", params={"top": "lots"}).status_code == 400
    assert api.session.get(f"{api.base}/jobs", params={"orderby": "Name sideways"}).status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"containerName": "UPPER"}, id="uppercase-container"),
        pytest.param({"containerName": "a"}, id="short-container"),
        pytest.param({"containerName": "ok-name", "blobName": "../other/x"}, id="dot-dot-blob"),
        pytest.param({"containerName": "ok-name", "blobName": "a\\b"}, id="backslash-blob"),
        pytest.param({"containerName": "ok-name", "extra": 1}, id="unknown-field"),
    ],
)
def test_sas_requests_are_validated(api: Api, body: dict[str, Any]) -> None:
    response = api.session.post(f"{api.base}/storage/sasUri", json=body)
    assert response.status_code == 400
    error_of(response)


def test_patch_refuses_fields_that_cannot_change(api: Api, program: str) -> None:
    job_id = str(uuid.uuid4())
    assert api.put_job(job_id, ionq_job_body(program, "patch-me")).status_code == 201
    response = api.session.patch(f"{api.base}/jobs/{job_id}", json={"target": "quantinuum.sim.h2-1e"})
    assert response.status_code == 400
    assert "target" in json.dumps(error_of(response))
    assert api.get_job(job_id).json()["target"] == "ionq.simulator"


def test_unknown_actions_and_methods_are_refused(api: Api, program: str) -> None:
    job_id = str(uuid.uuid4())
    assert api.put_job(job_id, ionq_job_body(program, "actions")).status_code == 201
    assert api.session.post(f"{api.base}/jobs/{job_id}:explode").status_code == 405
    assert api.session.post(f"{api.base}/jobs/{uuid.uuid4()}:cancel").status_code == 404


def test_validate_reports_every_problem_without_creating_a_job(api: Api) -> None:
    def newest() -> list[str]:
        latest = {"top": "1", "orderby": "CreationTime desc"}  # lists come oldest first unless asked
        return [j["id"] for j in api.session.get(f"{api.base}/jobs", params=latest).json()["value"]]

    before = newest()
    body = {"target": "ionq.simulator", "inputDataFormat": "openqasm.v2", "inputData": BAD_QASM.decode()}
    response = api.session.post(f"{api.base}/jobs:validate", json=body)
    assert response.status_code == 200
    result = response.json()
    assert result["valid"] is False
    assert (result["diagnostics"][0]["line"], result["diagnostics"][0]["column"]) == (4, 7)
    good = {**body, "inputData": 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\nh q[0];\ncx q[0], q[2];\n'}
    assert api.session.post(f"{api.base}/jobs:validate", json=good).json() == {
        "valid": True,
        "target": "ionq.simulator",
        "diagnostics": [],
        "qubits": 3,
        "gates": 2,
    }
    wrong_target = api.session.post(f"{api.base}/jobs:validate", json={**good, "target": "nowhere.qpu"}).json()
    assert wrong_target["valid"] is False
    assert wrong_target["diagnostics"][0]["code"] == "InvalidTarget"
    assert newest() == before

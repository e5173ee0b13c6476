"""The running local host answers as its own OpenAPI document says: schemathesis over every operation.

The host serves the document at `GET /api/openapi.json`, anonymously, byte for byte the file. The host
holds a few jobs and a session first, so lists answer real items. Each operation gets a few dozen
generated requests (the served workspace in the path, so most reach the handlers), and the methods its
path does not take; every answer must be no 5xx, a documented status, content type and body (the error
shape included), and a method not taken a 405 whose Allow header lists the documented ones. Generated ids
name no job, so the reads of existing items are checked once more with the seeded ids.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from shared.api.http import API_KEY_HEADER
from shared.api.openapi import DOCUMENT
from tests.e2e.helpers import Api, ionq_job_body
from tests.servers import API_KEY, SUBSCRIPTION, LocalHostProcess

pytestmark = pytest.mark.integration

WORKSPACE = (
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
    "/providers/Microsoft.Quantum/workspaces/{workspaceName}"
)
WORKSPACE_PARAMETERS = {"subscriptionId": SUBSCRIPTION, "resourceGroupName": "local", "workspaceName": "local"}
BELL = json.dumps(
    {"qubits": 2, "circuit": [{"gate": "h", "targets": [0]}, {"gate": "cnot", "targets": [1], "controls": [0]}]}
).encode()
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    unsupported_method,
    allow_header_conformance,
]
# The portal's static files take GET only, at the host: another method is the host's refusal (here a 405
# without Allow, in Azure a 404), not an answer of ours.
PORTAL_CHECKS = [check for check in CHECKS if check not in {unsupported_method, allow_header_conformance}]

# Loaded from the repository so pytest can name one test per operation; the host serves the same bytes.
schema = schemathesis.openapi.from_path(str(DOCUMENT))
schema.config.update(parameters=WORKSPACE_PARAMETERS)
# Only the methods the local host's HTTP server dispatches: it refuses others (TRACE, OPTIONS, QUERY)
# itself, before any function, with a 501.
schema.config.phases.coverage.unexpected_methods = {"get", "put", "post", "patch", "delete"}


@dataclass(frozen=True)
class Seeded:
    base_url: str
    job_id: str  # a Succeeded job
    session_id: str  # an open session holding a Succeeded job


@pytest.fixture(scope="module")
def seeded(host: LocalHostProcess) -> Seeded:
    api = Api(host)
    program = api.upload_program(BELL)
    session_id, job_id, in_session, cancelled = (str(uuid.uuid4()) for _ in range(4))
    opened = api.session.put(
        f"{api.base}/sessions/{session_id}",
        json={"name": "fuzz", "providerId": "ionq", "target": "ionq.simulator", "itemType": "Session"},
    )
    assert opened.status_code == 201, opened.text
    for new, body in (
        (job_id, ionq_job_body(program, "fuzz")),
        (in_session, {**ionq_job_body(program, "in-session"), "sessionId": session_id}),
        (cancelled, ionq_job_body(program, "cancelled")),
    ):
        created = api.put_job(new, body)
        assert created.status_code == 201, created.text
    api.session.post(f"{api.base}/jobs/{cancelled}:cancel")
    api.wait_final([job_id, in_session, cancelled])
    return Seeded(host.endpoint.rstrip("/"), job_id, session_id)


@pytest.fixture(scope="module")
def session() -> requests.Session:
    return requests.Session()


@schema.parametrize()
@settings(max_examples=20, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
def test_the_host_answers_as_its_document_says(case: Case[Any], seeded: Seeded, session: requests.Session) -> None:
    checks = PORTAL_CHECKS if case.operation.path.startswith("/portal") else CHECKS
    case.call_and_validate(
        base_url=seeded.base_url, session=session, headers={API_KEY_HEADER: API_KEY}, checks=checks, timeout=30
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/jobs/{jobId}"),
        ("GET", "/jobs/{jobId}/history"),
        ("GET", "/jobs/{jobId}/input"),
        ("GET", "/jobs/{jobId}/output"),
        ("PATCH", "/jobs/{jobId}"),
        ("PATCH", "/jobUpdateOptions/{jobId}"),
        ("GET", "/sessions/{sessionId}"),
        ("GET", "/sessions/{sessionId}/jobs"),
        ("POST", "/sessions/{sessionId}:close"),
    ],
)
def test_existing_items_answer_as_documented(seeded: Seeded, session: requests.Session, method: str, path: str) -> None:
    ids = {"jobId": seeded.job_id} if "{jobId}" in path else {"sessionId": seeded.session_id}
    case = schema[WORKSPACE + path][method].Case(
        path_parameters={**WORKSPACE_PARAMETERS, **ids},
        query={"api-version": "2026-01-15-preview"},
        body={"tags": ["fuzzed"]} if method == "PATCH" else None,
    )
    response = case.call_and_validate(
        base_url=seeded.base_url, session=session, headers={API_KEY_HEADER: API_KEY}, checks=CHECKS, timeout=30
    )
    assert response.status_code == 200, response.text


def test_the_host_serves_the_document_anonymously(host: LocalHostProcess) -> None:
    served = requests.get(f"{host.endpoint}openapi.json", timeout=10)
    assert (served.status_code, served.headers["Content-Type"]) == (200, "application/json")
    assert served.content == DOCUMENT.read_bytes()
    again = requests.get(f"{host.endpoint}openapi.json", headers={"If-None-Match": served.headers["ETag"]}, timeout=10)
    assert (again.status_code, again.content) == (304, b"")

"""What the OpenAPI contract asks of the HTTP answers, and a job re-created under a deleted job's id."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

import function_app
from shared import bootstrap
from shared.api import openapi
from shared.domain.messages import Message
from tests.fakes import FakeSender
from tests.functions.conftest import Fakes, call, json_of
from tests.functions.test_http import error_code, job_body, put_job
from tests.functions.test_pipeline_triggers import deliver


@pytest.mark.parametrize(
    ("function", "route"),
    [
        pytest.param(function_app.job_item, {"jobRef": "j1"}, id="jobs"),
        pytest.param(function_app.job_update_options, {"jobId": "j1"}, id="jobUpdateOptions"),
    ],
)
def test_patch_answers_job_update_options_with_the_id(fakes: Fakes, function: object, route: dict[str, str]) -> None:
    put_job(fakes)
    response = call(function, "PATCH", body={"priority": "High"}, **route)  # type: ignore[arg-type]
    assert response.status_code == 200
    assert json_of(response) == {"id": "j1", "name": "bell", "priority": "High", "tags": []}


@pytest.mark.parametrize(
    ("function", "method", "route", "allow"),
    [
        pytest.param(function_app.jobs_list, "POST", {}, "GET", id="jobs"),
        pytest.param(function_app.validate_job, "GET", {}, "POST", id="validate"),
        pytest.param(function_app.storage_sas, "PUT", {}, "POST", id="sasUri"),
        pytest.param(function_app.job_item, "POST", {"jobRef": "j1"}, "DELETE, GET, PATCH, PUT", id="job"),
        pytest.param(function_app.job_item, "GET", {"jobRef": "j1:cancel"}, "POST", id="cancel"),
        pytest.param(function_app.session_item, "DELETE", {"sessionRef": "s1"}, "GET, PUT", id="session"),
        pytest.param(function_app.job_update_options, "GET", {"jobId": "j1"}, "PATCH", id="jobUpdateOptions"),
        pytest.param(function_app.job_item, "POST", {"jobRef": "j1:explode"}, "", id="unknown-action"),
        pytest.param(openapi.openapi_document, "DELETE", {}, "GET", id="openapi"),
    ],
)
def test_a_method_a_route_does_not_take_is_a_json_405_naming_those_it_does(
    fakes: Fakes, function: object, method: str, route: dict[str, str], allow: str
) -> None:
    response = call(function, method, **route)  # type: ignore[arg-type]
    assert (response.status_code, error_code(response), response.headers["Allow"]) == (405, "MethodNotAllowed", allow)


def test_the_document_is_served_without_a_key(fakes: Fakes) -> None:
    response = call(openapi.openapi_document, key=None)
    assert (response.status_code, response.mimetype) == (200, "application/json")
    assert json_of(response)["basePath"] == "/api"


@dataclass
class DeduplicatingSender(FakeSender):
    """Drops a message whose id it has sent before, as both queues do within their 10-minute window."""

    seen: set[str] = field(default_factory=set)

    def send(self, queue: str, message: Message) -> None:
        if message.message_id() not in self.seen:
            self.seen.add(message.message_id())
            self.sent.append((queue, message))


def test_a_job_created_again_under_a_deleted_jobs_id_runs_at_once(fakes: Fakes) -> None:
    fakes.pipeline = replace(fakes.pipeline, sender=DeduplicatingSender())
    bootstrap.configure(fakes.settings, pipeline=fakes.pipeline, backend=fakes.backend)
    put_job(fakes)
    deliver(fakes)
    assert call(function_app.job_item, "DELETE", jobRef="j1").status_code == 204
    again = call(function_app.job_item, "PUT", body=job_body(fakes, "j1", name="again"), jobRef="j1")
    assert again.status_code == 201
    assert deliver(fakes)  # its messages are its own, not repeats of the deleted job's
    assert json_of(call(function_app.job_item, jobRef="j1"))["status"] == "Succeeded"

"""The function app in process: its decorated functions called directly, with bootstrap given fakes.

No host and no server: a test builds the trigger's input (`func.HttpRequest`, a Service Bus message, a timer)
and calls the function as the Functions worker would. Entra ID tokens are checked against a signing key
whose key set the JWKS client is handed instead of fetching it, so a reader and a contributor sign in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import azure.functions as func
import jwt
import pytest
from azure.functions.servicebus import ServiceBusMessage

from shared import bootstrap
from shared.api.http import API_KEY_HEADER
from shared.config import Settings
from shared.domain.messages import Message
from shared.ports import JobStore
from shared.services.pipeline import Pipeline
from tests.entra import TENANT, SigningKey
from tests.fakes import BASE, FakeBackend, FakeSender, make_pipeline

KEY = "functions-tier-key"
READER = "0000aaaa-0000-4000-8000-00000000000r"
CONTRIBUTOR = "0000bbbb-0000-4000-8000-00000000000c"
MAX_REQUEST_BYTES = 4096
ROUTE = {"subscriptionId": "sub-1", "resourceGroupName": "rg-1", "workspaceName": "ws-1"}
WORKSPACE_PATH = "subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.Quantum/workspaces/ws-1"
BELL = json.dumps(
    {"qubits": 2, "circuit": [{"gate": "h", "targets": [0]}, {"gate": "x", "targets": [1], "controls": [0]}]}
).encode()


@dataclass
class Fakes:
    """What stands behind the function app in a test, for the test to arrange and inspect."""

    pipeline: Pipeline
    backend: FakeBackend
    settings: Settings

    @property
    def sender(self) -> FakeSender:
        assert isinstance(self.pipeline.sender, FakeSender)
        return self.pipeline.sender

    def with_jobs(self, jobs: JobStore) -> None:
        """Put another job store behind the app (a failing one)."""
        self.pipeline = replace(self.pipeline, jobs=jobs)
        bootstrap.configure(self.settings, pipeline=self.pipeline, backend=self.backend)

    def upload(self, job_id: str, data: bytes = BELL) -> str:
        """The program in the job's container, as the SDK uploads it; returns its URL."""
        self.pipeline.artifacts.put(f"job-{job_id}", "inputData", data, "application/json")
        return f"{BASE}/job-{job_id}/inputData"


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey()


@pytest.fixture
def fakes(signing_key: SigningKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fakes]:
    key_set = {"keys": [signing_key.jwk()]}
    monkeypatch.setattr(jwt.PyJWKClient, "fetch_data", lambda _: key_set)
    settings = Settings(
        api_keys=KEY,
        subscription_id=ROUTE["subscriptionId"],
        resource_group=ROUTE["resourceGroupName"],
        workspace_name=ROUTE["workspaceName"],
        entra_tenant_id=TENANT,
        entra_jwks_uri="https://login.example/keys",
        entra_readers=READER,
        entra_contributors=CONTRIBUTOR,
        max_request_bytes=MAX_REQUEST_BYTES,
        local_state_dir=tmp_path,
    )
    found = Fakes(make_pipeline(), FakeBackend(), settings)
    bootstrap.configure(settings, pipeline=found.pipeline, backend=found.backend)
    yield found
    bootstrap.configure()


def call(
    function: Callable[[func.HttpRequest], func.HttpResponse],
    method: str = "GET",
    *,
    body: object = None,
    raw: bytes | None = None,
    key: str | None = KEY,
    bearer: str | None = None,
    params: dict[str, str] | None = None,
    **route: str,
) -> func.HttpResponse:
    """Call an HTTP function with the route parameters the host would have matched."""
    headers = {} if key is None else {API_KEY_HEADER: key}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    data = raw if raw is not None else b"" if body is None else json.dumps(body).encode()
    request = func.HttpRequest(
        method=method,
        url=f"http://127.0.0.1:7071/api/{WORKSPACE_PATH}",
        headers=headers,
        params=params or {},
        route_params={**ROUTE, **route},
        body=data,
    )
    return function(request)


def json_of(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())


def message(sent: Message) -> ServiceBusMessage:
    """A sent message as its queue trigger receives it."""
    return ServiceBusMessage(
        body=sent.model_dump_json().encode(),
        message_id=sent.message_id(),
        application_properties={},
        user_properties={},
    )

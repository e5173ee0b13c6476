"""Generated and mutated requests against every API entry point of one local host: never a 5xx, never a hang.

Bodies (any JSON, bytes that are not JSON, valid submissions with fields replaced), filters (the SDK's grammar
recombined, and any text), keys, ids and query parameters come from Hypothesis, derandomized so that a failure
is the same on every run. After the run the host must still answer.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.helpers import Api, ionq_job_body
from tests.servers import API_KEY, LocalHostProcess

pytestmark = pytest.mark.integration

BELL = {"qubits": 2, "circuit": [{"gate": "h", "targets": [0]}, {"gate": "x", "targets": [1], "controls": [0]}]}

ROUTES = [
    ("GET", "jobs"),
    ("GET", "jobs/{id}"),
    ("PUT", "jobs/{id}"),
    ("PATCH", "jobs/{id}"),
    ("DELETE", "jobs/{id}"),
    ("POST", "jobs/{id}:cancel"),
    ("POST", "jobs/{id}:{id}"),
    ("GET", "jobs/{id}/history"),
    ("GET", "jobs/{id}/input"),
    ("GET", "jobs/{id}/{id}"),
    ("POST", "jobs:validate"),
    ("GET", "sessions"),
    ("GET", "sessions/{id}"),
    ("PUT", "sessions/{id}"),
    ("POST", "sessions/{id}:close"),
    ("GET", "sessions/{id}/jobs"),
    ("GET", "topLevelItems"),
    ("POST", "storage/sasUri"),
    ("GET", "providerStatus"),
    ("GET", "quotas"),
]

FILTER_PIECES = [
    "Name eq 'a'",
    "startswith(Name, 'x')",
    "State eq 'Failed'",
    "CreationTime ge 2024-01-01",
    "ProviderId ne 'ionq'",
    "not",
    "and",
    "or",
    "(",
    ")",
    ",",
    "'",
    "''",
    "eq",
    "2024-13-99T99:99",
    "Colour",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
nested_json = st.integers(min_value=1, max_value=5_000).map(lambda n: ("[" * n + "]" * n).encode())
ids = st.one_of(st.uuids().map(str), st.text(max_size=60), st.sampled_from(["..", "%2e%2e", "a" * 40, "-", ""]))
filters = st.one_of(
    st.lists(st.sampled_from(FILTER_PIECES), max_size=40).map(" ".join),
    st.text(max_size=200),
    st.integers(min_value=1, max_value=2_000).map(lambda n: "(" * n + "Name eq 'a'" + ")" * n),
)
# Any printable text, non-ASCII included, sent as its UTF-8 bytes (what a header can carry).
keys = st.one_of(
    st.just(API_KEY),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x2FF, exclude_categories=("Cc", "Zs")), max_size=30),
)


@st.composite
def bodies(draw: st.DrawFn, program_url: str) -> bytes:
    kind = draw(st.sampled_from(["json", "mutated", "bytes", "deep"]))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "deep":
        return draw(nested_json)
    body: dict[str, Any] = {**ionq_job_body(program_url, "fuzz"), "inputData": "OPENQASM 2.0;"}
    replaced = draw(st.dictionaries(st.sampled_from([*body, "containerName", "blobName"]), json_values, max_size=3))
    return json.dumps({**body, **replaced}).encode()


@pytest.fixture(scope="module")
def program_url(host: LocalHostProcess) -> str:
    return Api(host).upload_program(json.dumps(BELL).encode())


def test_generated_requests_never_get_a_5xx_and_the_host_stays_up(host: LocalHostProcess, program_url: str) -> None:
    session = requests.Session()

    @settings(
        max_examples=200,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        route=st.sampled_from(ROUTES),
        job_id=ids,
        key=keys,
        body=bodies(program_url),
        job_filter=st.none() | filters,
        top=st.none() | st.text(max_size=8) | st.integers(min_value=-5, max_value=10**7).map(str),
        orderby=st.none() | st.text(max_size=30),
    )
    def exchange(
        route: tuple[str, str],
        job_id: str,
        key: str,
        body: bytes,
        job_filter: str | None,
        top: str | None,
        orderby: str | None,
    ) -> None:
        method, template = route
        path = template.replace("{id}", quote(job_id, safe=""))
        params = {k: v for k, v in {"filter": job_filter, "top": top, "orderby": orderby}.items() if v is not None}
        headers = {"x-ms-quantum-api-key": key.encode("utf-8", "surrogatepass").decode("latin-1")}
        response = session.request(
            method, f"{host.workspace_url}/{path}", params=params, data=body, headers=headers, timeout=30
        )
        assert response.status_code < 500, (method, path, params, response.text[:300])
        if response.status_code >= 400:
            assert set(response.json()["error"]) >= {"code", "message"}

    exchange()
    assert host.process is not None and host.process.poll() is None
    assert session.get(f"{host.workspace_url}/providerStatus", headers={"x-ms-quantum-api-key": API_KEY}).ok

"""Microsoft Entra ID bearer tokens on a local host (finding F20): tokens signed by the tenant's key, served as a
local JWKS, are accepted beside the API key; jobs name who created and changed them; readers only look."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.helpers import Api, ionq_job_body
from tests.entra import TENANT, SigningKey, jwks_server
from tests.servers import LocalHostProcess

pytestmark = pytest.mark.integration

WRITER = "11111111-1111-4111-8111-111111111111"
READER = "22222222-2222-4222-8222-222222222222"
BELL = json.dumps(
    {"qubits": 2, "circuit": [{"gate": "h", "targets": [0]}, {"gate": "x", "targets": [1], "controls": [0]}]}
).encode()


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey()


@pytest.fixture(scope="module")
def entra_host(key: SigningKey, azurite_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with jwks_server(key) as jwks:
        host = LocalHostProcess(
            state_dir=Path(tmp_path_factory.mktemp("entra")),
            blob_port=azurite_port,
            settings={
                "ENTRA_TENANT_ID": TENANT,
                "ENTRA_JWKS_URI": jwks,
                "ENTRA_CONTRIBUTORS": WRITER,
                "ENTRA_READERS": READER,
            },
        )
        host.start()
        try:
            yield Api(host)
        finally:
            host.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "x-ms-quantum-api-key": ""}


def test_a_contributors_token_submits_and_the_job_names_them(entra_host: Api, key: SigningKey) -> None:
    api, job_id = entra_host, str(uuid.uuid4())
    headers = bearer(key.token(WRITER))
    put = api.session.put(
        f"{api.base}/jobs/{job_id}", json=ionq_job_body(api.upload_program(BELL), "mine"), headers=headers
    )
    assert put.status_code == 201, put.text
    job = put.json()
    assert (job["createdBy"], job["createdByType"]) == ("11111111@contoso.example", "User")
    renamed = api.session.patch(
        f"{api.base}/jobs/{job_id}",
        json={"name": "renamed"},
        headers=bearer(key.token(WRITER, upn=None, idtyp="app", appid="pipeline-app")),
    )
    assert renamed.status_code == 200
    after = api.get_job(job_id).json()
    assert (after["lastModifiedBy"], after["lastModifiedByType"]) == ("pipeline-app", "Application")
    assert after["createdBy"] == "11111111@contoso.example"
    keyed = api.put_job(str(uuid.uuid4()), ionq_job_body(api.upload_program(BELL), "by key")).json()
    assert (keyed["createdBy"], keyed["createdByType"]) == (None, "Key"), "the API key still works beside tokens"


def test_a_reader_looks_but_cannot_change(entra_host: Api, key: SigningKey) -> None:
    api, job_id = entra_host, str(uuid.uuid4())
    assert api.put_job(job_id, ionq_job_body(api.upload_program(BELL), "theirs")).status_code == 201
    headers = bearer(key.token(READER))
    assert api.session.get(f"{api.base}/jobs/{job_id}", headers=headers).status_code == 200
    assert api.session.get(f"{api.base}/jobs", headers=headers).status_code == 200
    for method, path, body in [
        ("POST", f"jobs/{job_id}:cancel", None),
        ("PATCH", f"jobs/{job_id}", {"name": "x"}),
        ("DELETE", f"jobs/{job_id}", None),
        ("PUT", f"jobs/{uuid.uuid4()}", ionq_job_body(api.upload_program(BELL), "not allowed")),
        ("POST", "storage/sasUri", {"containerName": f"job-{uuid.uuid4()}"}),
    ]:
        response = api.session.request(method, f"{api.base}/{path}", json=body, headers=headers)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"]["code"] == "AuthorizationFailed"
    assert api.get_job(job_id).json()["name"] == "theirs"
    validated = api.session.post(
        f"{api.base}/jobs:validate",
        json={"target": "ionq.simulator", "inputDataFormat": "ionq.circuit.v1", "inputData": BELL.decode()},
        headers=headers,
    )
    assert validated.status_code == 200 and validated.json()["valid"] is True


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda k: SigningKey().token(WRITER), id="unknown-key"),
        pytest.param(lambda k: k.token(WRITER, aud="https://management.azure.com"), id="wrong-audience"),
        pytest.param(lambda k: k.token(WRITER, exp=1), id="expired"),
        pytest.param(lambda k: "garbage", id="garbage"),
    ],
)
def test_bad_tokens_are_401_and_strangers_403(entra_host: Api, key: SigningKey, token: object) -> None:
    assert callable(token)
    response = requests.get(f"{entra_host.base}/jobs", headers={"Authorization": f"Bearer {token(key)}"}, timeout=10)
    assert response.status_code == 401 and response.json()["error"]["code"] == "InvalidAuthenticationToken"
    stranger = requests.get(
        f"{entra_host.base}/jobs", headers={"Authorization": f"Bearer {key.token(str(uuid.uuid4()))}"}, timeout=10
    )
    assert stranger.status_code == 403


def test_a_host_without_a_tenant_takes_no_tokens(host: LocalHostProcess, key: SigningKey) -> None:
    response = requests.get(
        f"{host.workspace_url}/jobs", headers={"Authorization": f"Bearer {key.token(WRITER)}"}, timeout=10
    )
    assert response.status_code == 401
    assert "no bearer tokens" in response.json()["error"]["message"]

"""Security review findings F1, F7 and F18 replayed as attacks on a local host and real Azurite: a key holder
gets SAS URLs for job data only, with the least rights the SDK's flow needs, cannot change a job's input
or output after submit, and cannot make the service read a blob outside the job containers."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import requests
from azure.storage.blob import BlobServiceClient

from shared.adapters.blob_artifacts import BlobArtifactStore
from shared.config import Settings
from tests.e2e.helpers import Api, ionq_job_body
from tests.servers import LocalHostProcess

pytestmark = pytest.mark.integration

BELL = json.dumps(
    {"qubits": 2, "circuit": [{"gate": "h", "targets": [0]}, {"gate": "x", "targets": [1], "controls": [0]}]}
).encode()
WIDE = json.dumps({"qubits": 35, "circuit": [{"gate": "x", "targets": [34]}]}).encode()  # ionq.simulator has 29
SECRET = b'{"masterKey":{"name":"master","value":"S3cr3tMasterKeyValue=="}}'


@pytest.fixture(scope="module")
def api(host: LocalHostProcess) -> Api:
    return Api(host)


@pytest.fixture(scope="module")
def storage(azurite_port: int) -> BlobServiceClient:
    """The account itself, with the development key: what the service can do, not what a client can."""
    return BlobServiceClient.from_connection_string(
        Settings(azurite_blob_port=azurite_port, storage_connection=None).blob_connection_string
    )


def sas(api: Api, container: str, blob: str | None = None) -> requests.Response:
    body = {"containerName": container} | ({"blobName": blob} if blob else {})
    return api.session.post(f"{api.base}/storage/sasUri", json=body)


def put_blob(url: str, data: bytes) -> int:
    return requests.put(url, data=data, headers={"x-ms-blob-type": "BlockBlob"}, timeout=10).status_code


@pytest.mark.parametrize(
    "container", ["app-package", "azure-webjobs-secrets", "azure-webjobs-hosts", "blob-drop-deadletter"]
)
def test_no_sas_for_the_hosts_containers(api: Api, storage: BlobServiceClient, container: str) -> None:
    response = sas(api, container)
    assert response.status_code == 400
    assert response.json()["error"]["target"] == "containerName"
    assert not storage.get_container_client(container).exists(), "a refused request creates nothing"


def test_an_upload_sas_writes_the_input_once_and_nothing_else(api: Api) -> None:
    container = f"job-{uuid.uuid4()}"
    url, _, token = sas(api, container).json()["sasUri"].partition("?")
    assert parse_qs(token)["sp"] == ["c"]
    assert put_blob(f"{url}/rawOutputData?{token}", b'{"histogram": {"0": 1.0}}') == 403
    assert put_blob(f"{url}/inputData?{token}", BELL) == 201
    assert put_blob(f"{url}/inputData?{token}", WIDE) in {403, 409}, "no overwrite, even before submit"
    assert requests.get(f"{url}/inputData?{token}", timeout=10).status_code == 403, "no read"
    assert requests.get(f"{url}?restype=container&comp=list&{token}", timeout=10).status_code == 403, "no list"


def test_after_submit_the_jobs_container_is_read_only_and_its_output_is_its_own(api: Api) -> None:
    job_id = str(uuid.uuid4())
    container = f"job-{job_id}"
    upload_url, _, upload_token = sas(api, container).json()["sasUri"].partition("?")
    assert put_blob(f"{upload_url}/inputData?{upload_token}", BELL) == 201
    body = ionq_job_body(f"{upload_url}/inputData", "attacked")
    assert api.put_job(job_id, body).status_code == 201
    job = api.wait_final([job_id])[job_id]
    assert job["status"] == "Succeeded"

    url, _, token = sas(api, container).json()["sasUri"].partition("?")
    assert parse_qs(token)["sp"] == ["rl"], "attachments can be listed and read, not written"
    listed = requests.get(f"{url}?restype=container&comp=list&{token}", timeout=10)
    assert listed.status_code == 200 and b"rawOutputData" in listed.content
    for blob in ("rawOutputData", "inputData", "attachment"):
        assert put_blob(f"{url}/{blob}?{token}", b"{}") == 403, blob
    # The SAS handed out before submit still lives: it can neither swap the input nor forge the output.
    assert put_blob(f"{upload_url}/inputData?{upload_token}", WIDE) in {403, 409}
    assert put_blob(f"{upload_url}/rawOutputData?{upload_token}", b'{"histogram": {"0": 1.0}}') == 403

    signed = api.get_job(job_id).json()["outputDataUri"]
    assert parse_qs(signed.partition("?")[2])["sp"] == ["r"] and parse_qs(signed.partition("?")[2])["sr"] == ["b"]
    assert requests.get(signed, timeout=10).content == api.session.get(f"{api.base}/jobs/{job_id}/output").content
    assert put_blob(signed, b"{}") == 403
    read = sas(api, container, "rawOutputData").json()["sasUri"]
    assert parse_qs(read.partition("?")[2])["sp"] == ["r"]
    assert put_blob(read, b"{}") == 403
    output = api.session.get(f"{api.base}/jobs/{job_id}/output")
    assert output.status_code == 200 and requests.get(read, timeout=10).content == output.content
    assert json.loads(output.content) == {"histogram": {"0": 0.5, "3": 0.5}}


def test_an_output_changed_behind_the_services_back_is_never_served(api: Api, storage: BlobServiceClient) -> None:
    job_id = str(uuid.uuid4())
    assert api.put_job(job_id, ionq_job_body(api.upload_program(BELL), "forged")).status_code == 201
    assert api.wait_final([job_id])[job_id]["status"] == "Succeeded"
    storage.get_blob_client(f"job-{job_id}", "rawOutputData").upload_blob(b'{"histogram":{"0":1.0}}', overwrite=True)
    response = api.session.get(f"{api.base}/jobs/{job_id}/output")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "DataIntegrityFailed"


def test_a_sas_stops_working_when_it_expires(storage: BlobServiceClient) -> None:
    blobs = BlobArtifactStore(storage)
    blobs.ensure_container("job-expiring")
    blobs.put("job-expiring", "rawOutputData", b"{}", "application/json")
    url = f"{blobs.blob_url('job-expiring', 'rawOutputData')}?"
    url += blobs.sas_token("job-expiring", "rawOutputData", "r", timedelta(seconds=2))
    assert requests.get(url, timeout=10).status_code == 200
    time.sleep(3)
    assert requests.get(url, timeout=10).status_code == 403


@pytest.mark.parametrize(
    "where",
    [
        "azure-webjobs-secrets/myapp/host.json",
        "programs/planted.txt",
        "job-x/..%2F..%2Fazure-webjobs-secrets%2Fmyapp%2Fhost.json",
    ],
)
def test_the_service_reads_no_blob_outside_the_job_containers(
    api: Api, storage: BlobServiceClient, host: LocalHostProcess, where: str
) -> None:
    secrets = storage.get_container_client("azure-webjobs-secrets")
    if not secrets.exists():
        secrets.create_container()
    secrets.upload_blob("myapp/host.json", SECRET, overwrite=True)
    uri = f"{storage.url.rstrip('/')}/{where}"
    body = {"target": "rigetti.sim.qvm", "inputDataFormat": "rigetti.quil.v1", "inputDataUri": uri}
    response = api.session.post(f"{api.base}/jobs:validate", json=body)
    assert response.status_code in {200, 400}
    assert b"S3cr3t" not in response.content and b"masterKey" not in response.content
    job_id = str(uuid.uuid4())
    put = api.put_job(job_id, {**body, "providerId": "rigetti", "name": "reader"})
    assert put.status_code == 400 and put.json()["error"]["target"] == "inputDataUri"
    assert b"S3cr3t" not in put.content and b"masterKey" not in put.content

"""The local host over https with a managed identity of its own (LOCAL_HTTPS, issue 10): azure-identity's
ManagedIdentityCredential, a real client of the App Service protocol, exchanges the API key for a token, and the
unmodified SDK lists, shows and cancels jobs with it; the management reads `az` makes take the same identity.
A job's outputDataUri reads anonymously until its SAS expires, and not after."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs

import jwt
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CredentialUnavailableError, ManagedIdentityCredential
from azure.quantum import Workspace
from azure.quantum.target import IonQ, Quantinuum

from tests.e2e.helpers import ionq_job_body
from tests.servers import API_KEY, SUBSCRIPTION, LocalHostProcess

pytestmark = pytest.mark.integration

QUANTUM = "https://quantum.microsoft.com/.default"
BELL: dict[str, object] = {
    "qubits": 2,
    "circuit": [{"gate": "h", "targets": [0]}, {"gate": "x", "targets": [1], "controls": [0]}],
}
BELL_QASM = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
SAS_TTL_SECONDS = 6


@pytest.fixture(scope="module")
def https_host(azurite_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHostProcess]:
    host = LocalHostProcess(
        state_dir=Path(tmp_path_factory.mktemp("https")),
        blob_port=azurite_port,
        settings={
            "LOCAL_HTTPS": "true",
            "LOCAL_DISABLED_FUNCTIONS": "translate_quantinuum",  # Quantinuum jobs stay Waiting, to be cancelled
            "SAS_TTL_MINUTES": str(SAS_TTL_SECONDS / 60),
        },
    )
    host.start()
    yield host
    host.stop()


@pytest.fixture
def identity(https_host: LocalHostProcess, monkeypatch: pytest.MonkeyPatch) -> ManagedIdentityCredential:
    """The environment App Service gives an app, pointing at the local host, with the API key as the secret."""
    for name in ("IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET", "AZURE_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{https_host.endpoint}identity/token")
    monkeypatch.setenv("IDENTITY_HEADER", API_KEY)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(https_host.state_dir / "tls" / "ca.pem"))
    return ManagedIdentityCredential()


def test_only_the_api_key_buys_a_token_and_only_for_this_service(
    identity: ManagedIdentityCredential, https_host: LocalHostProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    claims = jwt.decode(identity.get_token(QUANTUM).token, options={"verify_signature": False})
    assert claims["aud"] == "https://quantum.microsoft.com" and claims["xms_mirid"]
    with pytest.raises((ClientAuthenticationError, CredentialUnavailableError)):
        identity.get_token("https://vault.azure.net/.default")
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-key")
    with pytest.raises((ClientAuthenticationError, CredentialUnavailableError)):
        ManagedIdentityCredential().get_token(QUANTUM)
    anonymous = requests.get(f"{https_host.endpoint}identity/token", params={"resource": QUANTUM}, timeout=10)
    assert anonymous.status_code == 401 and "access_token" not in anonymous.json()


def test_the_sdk_lists_shows_and_cancels_jobs_over_https_with_the_token(
    identity: ManagedIdentityCredential, https_host: LocalHostProcess
) -> None:
    workspace = Workspace(
        subscription_id=SUBSCRIPTION,
        resource_group="local",
        name="local",
        location="eastus",
        credential=identity,
        _quantum_endpoint=https_host.endpoint,
    )
    name = f"https-{uuid.uuid4().hex[:8]}"
    done = IonQ(workspace=workspace, name="ionq.simulator").submit(BELL, name=f"{name}-bell", shots=10)
    waiting = Quantinuum(workspace=workspace, name="quantinuum.sim.h2-1e").submit(
        BELL_QASM, name=f"{name}-h2", shots=10
    )
    done.wait_until_completed(timeout_secs=60)
    assert done.details.status == "Succeeded", done.details.error_data
    assert {j.id for j in workspace.list_jobs(name_match=name)} == {done.id, waiting.id}
    assert [j.id for j in workspace.list_jobs(name_match=name, status=["Succeeded"])] == [done.id]
    shown = workspace.get_job(waiting.id).details
    assert (shown.status, shown.created_by_type) == ("Waiting", "ManagedIdentity")
    workspace.cancel_job(waiting)
    assert workspace.get_job(waiting.id).details.status == "Cancelled"


def test_plain_http_gets_no_answer_and_tls_names_the_address(https_host: LocalHostProcess) -> None:
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{https_host.port}/api/portal/", timeout=10)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{https_host.endpoint}portal/", timeout=10)  # the system's CAs do not vouch for it
    ca = https_host.state_dir / "tls" / "ca.pem"
    assert requests.get(f"{https_host.endpoint}portal/", timeout=10, verify=str(ca)).status_code == 200


def test_the_management_reads_az_makes_name_this_service(
    identity: ManagedIdentityCredential, https_host: LocalHostProcess
) -> None:
    management = f"{https_host.endpoint}management"
    metadata = requests.get(f"{management}/metadata/endpoints", params={"api-version": "2022-09-01"}, timeout=10)
    audience = metadata.json()["authentication"]["audiences"][0]
    assert metadata.json()["resourceManager"] == f"{management}/"
    arm = {"Authorization": f"Bearer {identity.get_token(audience + '.default').token}"}
    subscriptions = requests.get(f"{management}/subscriptions", headers=arm, timeout=10).json()["value"]
    assert [s["subscriptionId"] for s in subscriptions] == [SUBSCRIPTION]
    workspace = f"{management}/subscriptions/{SUBSCRIPTION}/resourceGroups/local/providers/Microsoft.Quantum/workspaces"
    assert requests.get(f"{workspace}/local", headers=arm, timeout=10).json()["properties"]["endpointUri"] == (
        https_host.endpoint
    )
    assert requests.get(f"{workspace}/other", headers=arm, timeout=10).status_code == 404
    data_plane = {"Authorization": f"Bearer {identity.get_token(QUANTUM).token}"}
    assert requests.get(f"{workspace}/local", headers=data_plane, timeout=10).status_code == 401, "audience"
    assert requests.get(f"{management}/subscriptions", timeout=10).status_code == 401


def test_the_output_uri_reads_anonymously_until_its_sas_expires(
    identity: ManagedIdentityCredential, https_host: LocalHostProcess
) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {identity.get_token(QUANTUM).token}"
    base = https_host.workspace_url
    job_id = str(uuid.uuid4())
    upload = session.post(f"{base}/storage/sasUri", json={"containerName": f"job-{job_id}"}).json()["sasUri"]
    url, _, sas = upload.partition("?")
    put = requests.put(
        f"{url}/inputData?{sas}", data=json.dumps(BELL), headers={"x-ms-blob-type": "BlockBlob"}, timeout=10
    )
    assert put.status_code == 201
    assert session.put(f"{base}/jobs/{job_id}", json=ionq_job_body(f"{url}/inputData", "expiring")).status_code == 201
    deadline = time.monotonic() + 60
    while (job := session.get(f"{base}/jobs/{job_id}").json())["status"] not in {"Succeeded", "Failed"}:
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    output = job["outputDataUri"]
    assert requests.get(output, timeout=10).json() == {"histogram": {"0": 0.5, "3": 0.5}}, "anonymous, by the SAS"
    expiry = datetime.fromisoformat(parse_qs(output.partition("?")[2])["se"][0])
    time.sleep(max(0.0, (expiry - datetime.now(UTC)).total_seconds()) + 1.5)
    assert requests.get(output, timeout=10).status_code == 403

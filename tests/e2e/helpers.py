"""Small clients for the end-to-end tests: the SDK workspace and a raw HTTP session for a host."""

from __future__ import annotations

import time
import uuid
from typing import Any

import requests
from azure.core.credentials import AzureKeyCredential
from azure.quantum import Workspace

from tests.servers import API_KEY, SUBSCRIPTION, LocalHostProcess

FINAL = {"Succeeded", "Failed", "Cancelled"}


def sdk_workspace(host: LocalHostProcess) -> Workspace:
    return Workspace(
        subscription_id=SUBSCRIPTION,
        resource_group="local",
        name="local",
        location="eastus",
        credential=AzureKeyCredential(API_KEY),
        _quantum_endpoint=host.endpoint,
    )


class Api:
    """Raw HTTP against a host's workspace, for what the SDK hides (status codes, bodies, bad input)."""

    def __init__(self, host: LocalHostProcess) -> None:
        self.base = host.workspace_url
        self.session = requests.Session()
        self.session.headers["x-ms-quantum-api-key"] = API_KEY

    def upload_program(self, data: bytes, container: str | None = None) -> str:
        """Upload like the SDK does (sasUri, then Put Blob); returns the blob URL without SAS."""
        container = container or f"job-{uuid.uuid4()}"
        sas = self.session.post(f"{self.base}/storage/sasUri", json={"containerName": container}).json()["sasUri"]
        url, _, query = sas.partition("?")
        put = requests.put(f"{url}/inputData?{query}", data=data, headers={"x-ms-blob-type": "BlockBlob"}, timeout=10)
        put.raise_for_status()
        return f"{url}/inputData"

    def put_job(self, job_id: str, body: dict[str, Any]) -> requests.Response:
        return self.session.put(f"{self.base}/jobs/{job_id}", json=body)

    def get_job(self, job_id: str) -> requests.Response:
        return self.session.get(f"{self.base}/jobs/{job_id}")

    def wait_final(self, job_ids: list[str], timeout: float = 60.0) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        pending = set(job_ids)
        done: dict[str, dict[str, Any]] = {}
        while pending and time.monotonic() < deadline:
            for job_id in list(pending):
                job = self.get_job(job_id).json()
                if job.get("status") in FINAL:
                    done[job_id] = job
                    pending.discard(job_id)
            if pending:
                time.sleep(0.1)
        assert not pending, f"{len(pending)} job(s) not final after {timeout} s"
        return done


def ionq_job_body(input_url: str, name: str, shots: int = 10) -> dict[str, Any]:
    return {
        "name": name,
        "providerId": "ionq",
        "target": "ionq.simulator",
        "inputDataUri": input_url,
        "inputDataFormat": "ionq.circuit.v1",
        "inputParams": {"shots": shots},
        "outputDataFormat": "ionq.quantum-results.v1",
    }

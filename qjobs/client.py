"""HTTP to the service's workspace API and to the blob storage it hands out SAS URLs for."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import requests

from qjobs.config import Connection
from qjobs.errors import QJobsError, UnreachableError, with_code

API_KEY_HEADER = "x-ms-quantum-api-key"
TIMEOUT = (10.0, 60.0)  # seconds to connect, seconds between bytes of the answer
PAGE_SIZE = 100  # the service's largest page
INPUT_BLOB = "inputData"

Json = dict[str, Any]


class QuantumClient:
    """One workspace of the service. The API key goes to the service alone: not to storage, not along redirects."""

    def __init__(self, connection: Connection) -> None:
        self.endpoint = connection.endpoint
        ws = connection.workspace
        self.base = (
            f"{connection.endpoint}subscriptions/{_segment(ws.subscription)}/resourceGroups/"
            f"{_segment(ws.resource_group)}/providers/Microsoft.Quantum/workspaces/{_segment(ws.name)}/"
        )
        self._api = requests.Session()
        self._api.headers[API_KEY_HEADER] = connection.key
        self._storage = requests.Session()  # SAS URLs carry their own authorization

    def job(self, job_id: str) -> Json:
        return self._json("GET", f"jobs/{_segment(job_id)}")

    def cancel(self, job_id: str) -> Json:
        return self._json("POST", f"jobs/{_segment(job_id)}:cancel")

    def jobs(self, job_filter: str | None, limit: int | None) -> list[Json]:
        """Jobs newest first, following nextLink until `limit` jobs (None: all of them)."""
        found: list[Json] = []
        query = {"orderby": "CreationTime desc"}  # unasked, the service lists oldest first, as Azure does
        if job_filter:
            query["filter"] = job_filter
        while True:
            size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(found))
            page = self._json("GET", "jobs", params={**query, "top": str(size)})
            value = page.get("value") or []
            found.extend(value)
            next_link = page.get("nextLink")
            if not value or not next_link or (limit is not None and len(found) >= limit):
                return found[:limit]
            # Keep the server's paging state but ask our own endpoint: the key never follows a link elsewhere.
            query = dict(parse_qsl(urlsplit(next_link).query))

    def providers(self) -> list[Json]:
        return list(self._json("GET", "providerStatus").get("value") or [])

    def submit(self, job_id: str, program: bytes, content_type: str, job: Json) -> Json:
        """Upload the program to the job's own container, as the SDK does, then create the job."""
        sas = self._sas_uri({"containerName": f"job-{job_id}"})
        container_url, _, token = sas.partition("?")
        self._blob(
            "PUT",
            f"{container_url}/{INPUT_BLOB}?{token}",
            "uploading the program",
            data=program,
            headers={"x-ms-blob-type": "BlockBlob", "Content-Type": content_type},
        )
        body = {**job, "id": job_id, "inputDataUri": f"{container_url}/{INPUT_BLOB}"}
        return self._json("PUT", f"jobs/{_segment(job_id)}", json=body)

    def output(self, job: Json) -> bytes:
        container, blob = blob_location(str(job.get("outputDataUri") or ""))
        sas = self._sas_uri({"containerName": container, "blobName": blob})
        return self._blob("GET", sas, "downloading the output").content

    def _sas_uri(self, request: Json) -> str:
        sas = self._json("POST", "storage/sasUri", json=request).get("sasUri")
        if not isinstance(sas, str):
            raise QJobsError("the service answered storage/sasUri without a sasUri")
        return sas

    def _json(self, method: str, path: str, **kwargs: Any) -> Json:
        try:
            response = self._api.request(method, self.base + path, timeout=TIMEOUT, allow_redirects=False, **kwargs)
        except requests.RequestException as error:
            raise UnreachableError(f"cannot reach {self.endpoint} ({_reason(error)})") from None
        if 300 <= response.status_code < 400:
            where = response.headers.get("Location", "")
            raise QJobsError(
                f"the service answered {method} {path} with a redirect ({response.status_code}) to {where!r}; "
                "qjobs does not follow redirects with the API key: set the endpoint to the service's own address"
            )
        if response.status_code == 401:
            raise QJobsError("the API key was refused (401); check --key, QJOBS_KEY or the config file")
        if not response.ok:
            raise QJobsError(_service_error(response))
        try:
            body = response.json()
        except ValueError:
            raise QJobsError(f"the service answered {method} {path} with something that is not JSON") from None
        if not isinstance(body, dict):
            raise QJobsError(f"the service answered {method} {path} with JSON that is not an object")
        return body

    def _blob(self, method: str, url: str, doing: str, **kwargs: Any) -> requests.Response:
        try:
            response = self._storage.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as error:
            parts = urlsplit(url)
            where = f"{parts.scheme}://{parts.netloc}/"
            raise UnreachableError(f"cannot reach blob storage at {where} ({_reason(error)})") from None
        if not response.ok:
            code = response.headers.get("x-ms-error-code") or response.reason
            raise QJobsError(f"{doing} failed: blob storage answered {response.status_code} ({code})")
        return response


def blob_location(url: str) -> tuple[str, str]:
    """Container and blob of a blob URL, as the storage SDK reads it: path-style for emulators, else host-style."""
    parts = urlsplit(url)
    path = parts.path.lstrip("/")
    if ".core." not in parts.netloc:
        path = path.partition("/")[2]  # an emulator's first path segment is the account
    container, _, blob = path.partition("/")
    if not container or not blob:
        raise QJobsError(f"the job's outputDataUri {url!r} does not name a blob")
    return unquote(container), unquote(blob)


def _service_error(response: requests.Response) -> str:
    """`message (code)` from the service's error body, else the HTTP status."""
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return f"the service answered {response.status_code} {response.reason}"
    return with_code(message, code)


def _reason(error: requests.RequestException) -> str:
    if isinstance(error, requests.Timeout):
        return f"no answer within {TIMEOUT[1]:g} s" if isinstance(error, requests.ReadTimeout) else "timed out"
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return str(cause.strerror).lower()
        cause = cause.__cause__ or cause.__context__
    return type(error).__name__


def _segment(value: str) -> str:
    return quote(value, safe="")

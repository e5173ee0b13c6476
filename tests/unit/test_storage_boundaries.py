"""Storage boundaries over in-memory ports: which SAS a key holder gets, which blobs a job may read,
and that the service runs the input it validated and serves the output it wrote (findings F1, F7, F18)."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from shared.domain.errors import (
    InputChangedError,
    IntegrityError,
    InvalidRequestError,
    JobNotFoundError,
)
from shared.domain.jobs import JobStatus
from shared.domain.messages import TranslateJob
from shared.services import execute, manage, validate
from shared.services.pipeline import Pipeline
from shared.services.submit import submit_job
from tests.fakes import BASE, FakeArtifacts, FakeBackend, make_pipeline
from tests.unit.test_services import BELL, drain, sent, submission, upload


def sas(p: Pipeline, container: str, blob: str | None = None) -> tuple[str, dict[str, list[str]]]:
    """The URL part and the SAS query of what storage/sasUri answers."""
    url, _, query = manage.sas_uri(p, manage.SasRequest(containerName=container, blobName=blob)).partition("?")
    return url, parse_qs(query)


def artifacts(p: Pipeline) -> FakeArtifacts:
    assert isinstance(p.artifacts, FakeArtifacts)
    return p.artifacts


@pytest.mark.parametrize(
    "container",
    ["app-package", "azure-webjobs-secrets", "azure-webjobs-hosts", "blob-drop-deadletter", "job-", "job--x", "jobx"],
)
def test_no_sas_for_containers_that_hold_no_job_data(container: str) -> None:
    p = make_pipeline()
    with pytest.raises(InvalidRequestError, match="not a job container") as refused:
        sas(p, container)
    assert refused.value.target == "containerName"
    assert container not in artifacts(p).containers, "a refused request creates nothing"


def test_a_new_job_container_gets_a_sas_that_may_only_create_its_input() -> None:
    p = make_pipeline()
    url, query = sas(p, "job-new1")
    assert url == f"{BASE}/job-new1", "the SDK appends the blob name to the container URL"
    assert query["sr"] == ["b:inputData"] and query["sp"] == ["c"]
    assert "job-new1" in artifacts(p).containers, "the service creates the container (2026-01-15-preview)"


def test_a_submitted_jobs_container_is_read_only_to_clients() -> None:
    p = make_pipeline()
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    _, query = sas(p, "job-j1")
    assert query["sr"] == ["c"] and query["sp"] == ["rl"]
    url, query = sas(p, "job-j1", "rawOutputData")
    assert url == f"{BASE}/job-j1/rawOutputData"
    assert query["sr"] == ["b:rawOutputData"] and query["sp"] == ["r"]


def test_blob_sas_only_for_submitted_jobs() -> None:
    p = make_pipeline()
    with pytest.raises(JobNotFoundError):
        sas(p, "job-nobody", "inputData")
    with pytest.raises(InvalidRequestError, match="not a job container"):
        sas(p, "azure-webjobs-secrets", "host.json")


def test_the_drop_container_takes_new_blobs_only() -> None:
    p = make_pipeline()
    _, query = sas(p, "programs")
    assert query["sr"] == ["c"] and query["sp"] == ["c"]


@pytest.mark.parametrize(
    "uri",
    [
        f"{BASE}/azure-webjobs-secrets/myapp/host.json",
        f"{BASE}/programs/dropped.json",
        f"{BASE}/job-j2/..%2F..%2Fazure-webjobs-secrets%2Fhost.json",
        "http://elsewhere.example/job-j2/inputData",
    ],
)
def test_inputs_are_read_only_from_job_containers(uri: str) -> None:
    p = make_pipeline()
    artifacts(p).put(
        "azure-webjobs-secrets", "myapp/host.json", b'{"masterKey": "S3cr3tMasterKeyValue"}', "application/json"
    )
    artifacts(p).put("programs", "dropped.json", BELL, "application/json")
    with pytest.raises(InvalidRequestError) as refused:
        submit_job(p, "j2", submission("j2", inputDataUri=uri), cause="test")
    assert refused.value.target == "inputDataUri"
    assert "S3cr3t" not in refused.value.message
    assert p.jobs.get("j2") is None
    request = validate.ValidationRequest(
        target="rigetti.sim.qvm", input_data_format="rigetti.quil.v1", input_data_uri=uri
    )
    result = validate.validate_job(p, request)
    assert not result.valid and all("S3cr3t" not in f.message for f in result.findings)


def test_an_input_changed_after_submit_fails_the_job_instead_of_running() -> None:
    p = make_pipeline(inline_message_bytes=10)  # the program is read back from its blob, as large ones are
    upload(p, "j1")
    submitted = submit_job(p, "j1", submission(), cause="test").job
    assert submitted.input_sha256 is not None
    upload(p, "j1", b'{"qubits": 35, "circuit": []}')  # swapped behind the service's back
    backend = FakeBackend()
    drain(p, backend)
    job = p.require("j1")
    assert job.status is JobStatus.FAILED and backend.runs == 0
    assert job.details.error_data is not None and job.details.error_data.code == InputChangedError.code
    with pytest.raises(InputChangedError):
        manage.job_blob(p, "j1", "input")


def test_the_output_served_is_the_output_written() -> None:
    p = make_pipeline()
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    drain(p, FakeBackend())
    job = p.require("j1")
    assert job.status is JobStatus.SUCCEEDED and job.output_sha256 is not None
    data, _ = manage.job_blob(p, "j1", "output")
    assert data == artifacts(p).blobs[("job-j1", "rawOutputData")]
    artifacts(p).blobs[("job-j1", "rawOutputData")] = b'{"histogram": {"0": 1.0}}'  # forged
    with pytest.raises(IntegrityError):
        manage.job_blob(p, "j1", "output")


def test_a_planted_output_is_the_one_recorded_so_it_can_never_pass_for_another() -> None:
    """Output written by an earlier delivery stays; the job's digest is of what is stored, not what was sent."""
    p = make_pipeline()
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    for _, message in sent(p).take():
        assert isinstance(message, TranslateJob)
        execute.translate_job(p, message)
    earlier = b'{"histogram": {"0": 0.5, "3": 0.5}, "from": "an earlier delivery"}'
    artifacts(p).put("job-j1", "rawOutputData", earlier, "application/json")
    drain(p, FakeBackend())
    assert manage.job_blob(p, "j1", "output")[0] == earlier

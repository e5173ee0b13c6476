"""The queue, blob and timer functions in process: translate, run, record and sweep, over fakes."""

from __future__ import annotations

from typing import Any

import pytest
from azure.functions.blob import InputStream
from azure.functions.timer import TimerRequest

import function_app
from shared.domain.catalog import load_catalog
from shared.domain.errors import PermanentJobError, TransientJobError
from shared.domain.jobs import JobStatus
from shared.domain.messages import JOB_RESULTS_QUEUE, SIMULATOR_QUEUE, TranslateJob
from shared.domain.query import JobQuery
from shared.domain.storage import OUTPUT_BLOB
from shared.services.submit import JobSubmission, submit_job
from tests.fakes import FakeClock, FakeJobStore
from tests.functions.conftest import BELL, Fakes, message

TRANSLATORS: dict[str, Any] = {
    "jobs-ionq": function_app.translate_ionq,
    "jobs-quantinuum": function_app.translate_quantinuum,
    "jobs-rigetti": function_app.translate_rigetti,
    "jobs-microsoft-qc": function_app.translate_microsoft_qc,
    "jobs-microsoft.test.firstparty": function_app.translate_microsoft_test_firstparty,
    "jobs-pasqal": function_app.translate_pasqal,
}
FUNCTIONS: dict[str, Any] = {
    **TRANSLATORS,
    SIMULATOR_QUEUE: function_app.run_simulator,
    JOB_RESULTS_QUEUE: function_app.record_result,
}


def submit(fakes: Fakes, job_id: str = "j1", provider: str = "ionq", target: str = "ionq.simulator") -> None:
    submission = JobSubmission(
        provider_id=provider,
        target=target,
        input_data_uri=fakes.upload(job_id),
        input_data_format="ionq.circuit.v1",
        input_params={"shots": 100},
    )
    submit_job(fakes.pipeline, job_id, submission, cause="test")


def deliver(fakes: Fakes) -> list[str]:
    """Hand every sent message to the function on its queue until none is left; returns the queues, in order."""
    queues = []
    while taken := fakes.sender.take():
        for queue, sent in taken:
            queues.append(queue)
            FUNCTIONS[queue](message(sent))
    return queues


def test_every_provider_in_the_catalog_has_its_translator_here() -> None:
    assert {provider.queue for provider in load_catalog().providers} == TRANSLATORS.keys()


def test_translate_run_and_record_take_a_job_to_succeeded(fakes: Fakes) -> None:
    submit(fakes)
    assert deliver(fakes) == ["jobs-ionq", SIMULATOR_QUEUE, JOB_RESULTS_QUEUE]
    job = fakes.pipeline.require("j1")
    assert job.status is JobStatus.SUCCEEDED
    assert (fakes.backend.runs, fakes.pipeline.artifacts.get("job-j1", OUTPUT_BLOB, max_bytes=10_000)) == (
        1,
        fakes.backend.output,
    )


@pytest.mark.parametrize("queue", sorted(TRANSLATORS))
def test_each_translator_translates_a_job_it_is_given(fakes: Fakes, queue: str) -> None:
    submit(fakes)
    fakes.sender.take()
    TRANSLATORS[queue](message(TranslateJob(job_id="j1", attempt=0)))
    assert [q for q, _ in fakes.sender.sent] == [SIMULATOR_QUEUE]


def test_a_run_that_fails_for_good_records_a_failed_job(fakes: Fakes) -> None:
    submit(fakes)
    fakes.backend.error = PermanentJobError("The program asks for more than the target has (test).")
    deliver(fakes)
    job = fakes.pipeline.require("j1")
    assert job.status is JobStatus.FAILED
    assert job.details.error_data is not None and "test" in job.details.error_data.message


class ThrottledJobStore(FakeJobStore):
    def get(self, job_id: str) -> None:
        raise TransientJobError("Cosmos DB is throttling (test).")


def test_a_transient_error_leaves_the_trigger_so_the_message_is_delivered_again(fakes: Fakes) -> None:
    fakes.with_jobs(ThrottledJobStore())
    with pytest.raises(TransientJobError):
        function_app.translate_ionq(message(TranslateJob(job_id="j1", attempt=0)))


def test_a_dropped_blob_becomes_a_job(fakes: Fakes) -> None:
    blob = InputStream(
        data=BELL, name="programs/bell.json", length=len(BELL), metadata={"Target": "ionq.simulator", "shots": "10"}
    )
    function_app.intake_program(blob)
    (job,) = fakes.pipeline.jobs.query(JobQuery())
    assert (job.status, job.details.target, job.shots) == (JobStatus.WAITING, "ionq.simulator", 10)


def test_the_sweep_redrives_a_job_stuck_waiting(fakes: Fakes) -> None:
    submit(fakes)
    fakes.sender.take()
    clock = fakes.pipeline.clock
    assert isinstance(clock, FakeClock)
    clock.advance(fakes.pipeline.limits.waiting_deadline.total_seconds() + 1)
    function_app.sweep_stuck_jobs(TimerRequest(past_due=False))
    assert fakes.pipeline.require("j1").redrives == 1
    assert [q for q, _ in fakes.sender.sent] == ["jobs-ionq"]

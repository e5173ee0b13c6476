"""Recovery at start (`sweep.recover`) over in-memory ports, and over the embedded queue for duplicate detection:
each job in flight since the previous start gets to its next step at once, a repeat is harmless, and a Succeeded
job's output is checked."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from shared.adapters.embedded_queue import EmbeddedQueue
from shared.adapters.local import EmbeddedQueueSender
from shared.domain.jobs import JobStatus
from shared.domain.messages import SIMULATOR_QUEUE, RunJob, TranslateJob
from shared.services import execute, sweep
from shared.services.pipeline import Pipeline
from shared.services.submit import submit_job
from tests.fakes import FakeArtifacts, FakeBackend, FakePublisher, make_pipeline, with_events
from tests.unit.test_services import drain, sent, submission, upload


def submitted(p: Pipeline, *job_ids: str) -> None:
    for job_id in job_ids:
        upload(p, job_id)
        submit_job(p, job_id, submission(job_id), cause="test")


def test_a_waiting_job_whose_first_send_was_lost_is_routed_again_and_succeeds() -> None:
    p = make_pipeline()
    since = p.clock.now()
    submitted(p, "j1")
    sent(p).take()  # the crash came between the job's store write and its send
    report = sweep.recover(p, since)
    assert report == sweep.RecoveryReport(rerouted=1, resent=0, outputs_checked=0, outputs_missing=0, republished=0)
    ((queue, message),) = sent(p).sent
    assert queue == "jobs-ionq" and isinstance(message, TranslateJob) and message.attempt == 0
    drain(p, FakeBackend())
    assert p.require("j1").status is JobStatus.SUCCEEDED


def test_an_executing_job_gets_its_run_again_and_runs_to_one_output() -> None:
    p = make_pipeline()
    since = p.clock.now()
    submitted(p, "j1")
    execute.translate_job(p, TranslateJob(job_id="j1"))
    sent(p).take()
    backend = FakeBackend()
    execute.run_job(p, backend, RunJob(job_id="j1"))
    sent(p).take()  # the outcome is lost (its message dead-lettered, say)
    assert sweep.recover(p, since).resent == 1
    ((queue, message),) = sent(p).sent
    assert queue == SIMULATOR_QUEUE and isinstance(message, RunJob) and message.attempt == 0
    drain(p, backend)
    job = p.require("j1")
    assert job.status is JobStatus.SUCCEEDED
    assert [h.status for h in job.history] == [JobStatus.WAITING, JobStatus.EXECUTING, JobStatus.SUCCEEDED]


def test_a_repeat_of_steps_already_taken_changes_nothing() -> None:
    """Recovery when nothing was lost: the translate ran and its run is queued; the repeated translate is skipped."""
    p = make_pipeline()
    since = p.clock.now()
    submitted(p, "j1")
    ((_, translate),) = sent(p).take()
    assert isinstance(translate, TranslateJob)
    execute.translate_job(p, translate)  # its RunJob is queued
    sweep.recover(p, since)
    sweep.recover(p, since)  # recovery twice sends nothing more: the same message ids
    assert [type(m).__name__ for _, m in sent(p).sent] == ["RunJob", "TranslateJob"]
    backend = FakeBackend()
    drain(p, backend)
    assert backend.runs == 1
    assert p.require("j1").status is JobStatus.SUCCEEDED


def test_only_jobs_created_since_the_mark_are_looked_at_newest_first_and_at_most_the_limit() -> None:
    p = make_pipeline()
    submitted(p, "old")
    since = p.clock.now()
    submitted(p, "new1", "new2")
    sent(p).take()
    assert sweep.recover(p, since, limit=1).rerouted == 1
    assert [m.job_id for _, m in sent(p).take()] == ["new2"]
    assert sweep.recover(p, since).rerouted == 2
    assert sorted(m.job_id for _, m in sent(p).take()) == ["new1", "new2"], "the old job is the sweeper's"


def test_a_succeeded_jobs_output_is_checked_and_a_lost_one_reported_without_changing_the_job() -> None:
    p = make_pipeline()
    since = p.clock.now()
    submitted(p, "kept", "lost", "changed")
    drain(p, FakeBackend())
    artifacts = p.artifacts
    assert isinstance(artifacts, FakeArtifacts)
    del artifacts.blobs[("job-lost", "rawOutputData")]
    artifacts.blobs[("job-changed", "rawOutputData")] = b'{"histogram": {"1": 1.0}}'
    report = sweep.recover(p, since)
    assert (report.outputs_checked, report.outputs_missing) == (3, 2)
    assert {p.require(j).status for j in ("kept", "lost", "changed")} == {JobStatus.SUCCEEDED}


def test_events_a_crash_left_pending_are_published_at_start() -> None:
    publisher = FakePublisher(broken=True)
    p = with_events(make_pipeline(), publisher)
    since = p.clock.now()
    submitted(p, "j1")
    publisher.broken = False
    assert sweep.recover(p, since).republished == 1
    assert [e.data.status for e in publisher.events] == [JobStatus.WAITING]
    assert sweep.recover(p, since).republished == 0, "published once"


def test_on_the_embedded_queue_a_repeat_of_a_handled_translate_is_dropped_and_the_job_still_runs(
    tmp_path: Path,
) -> None:
    """Duplicate detection keeps a handled message's id for its window: the repeat is dropped, and the job is not
    stuck, as the translate sent the job's run before its message was completed."""
    queue = EmbeddedQueue(tmp_path / "queues.sqlite3")
    p = replace(make_pipeline(), sender=EmbeddedQueueSender(queue))
    since = p.clock.now()
    submitted(p, "j1")
    message = queue.receive("jobs-ionq")
    assert message is not None
    execute.translate_job(p, TranslateJob.model_validate_json(message.body))
    queue.complete(message)
    assert sweep.recover(p, since).rerouted == 1
    assert queue.active_count("jobs-ionq") == 0, "the repeat was dropped as a duplicate"
    run = queue.receive(SIMULATOR_QUEUE)
    assert run is not None
    execute.run_job(p, FakeBackend(), RunJob.model_validate_json(run.body))
    assert p.require("j1").status is JobStatus.EXECUTING
    queue.close()

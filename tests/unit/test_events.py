"""Job events over in-memory ports: one event per status change, in order, and none lost to a failed publish."""

from __future__ import annotations

from datetime import timedelta

from shared.domain.errors import InvalidProgramError
from shared.domain.events import JOB_STATUS_CHANGED
from shared.domain.jobs import JobStatus
from shared.services import manage, sweep
from shared.services.submit import submit_job
from tests.fakes import FakeBackend, FakeClock, FakePublisher, make_pipeline, with_events
from tests.unit.test_services import drain, submission, upload


def statuses(publisher: FakePublisher, job_id: str) -> list[tuple[JobStatus | None, JobStatus]]:
    return [(e.data.previous_status, e.data.status) for e in publisher.events if e.job_id == job_id]


def test_every_status_change_publishes_one_complete_event_in_order() -> None:
    publisher = FakePublisher()
    p = with_events(make_pipeline(), publisher)
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    drain(p, FakeBackend())
    assert statuses(publisher, "j1") == [
        (None, JobStatus.WAITING),
        (JobStatus.WAITING, JobStatus.EXECUTING),
        (JobStatus.EXECUTING, JobStatus.SUCCEEDED),
    ]
    first, *_, last = publisher.events
    assert [e.id for e in publisher.events] == ["j1:0", "j1:1", "j1:2"]
    assert [e.sequence for e in publisher.events] == [0, 1, 2]
    assert last.type == JOB_STATUS_CHANGED and last.subject == "jobs/j1"
    assert last.source == "/subscriptions/s/resourceGroups/r/providers/x/workspaces/w"
    assert last.data.provider_id == "ionq" and last.data.target == "ionq.simulator"
    assert last.data.job_url.endswith("/subscriptions/s/resourceGroups/r/providers/x/workspaces/w/jobs/j1")
    assert last.time == p.require("j1").details.end_execution_time
    cloudevent = first.to_cloudevent()
    assert cloudevent["specversion"] == "1.0" and cloudevent["sequence"] == "0"
    assert p.require("j1").published == len(p.require("j1").history)


def test_a_failed_job_says_why_in_its_last_event() -> None:
    publisher = FakePublisher()
    p = with_events(make_pipeline(), publisher)
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    backend = FakeBackend()
    backend.error = InvalidProgramError("The provider rejected the program.")
    drain(p, backend)
    assert statuses(publisher, "j1")[-1] == (JobStatus.EXECUTING, JobStatus.FAILED)
    assert publisher.events[-1].data.error_code == "InvalidProgram"
    assert all(e.data.error_code is None for e in publisher.events[:-1])


def test_a_cancelled_waiting_job_publishes_its_cancellation() -> None:
    publisher = FakePublisher()
    p = with_events(make_pipeline(), publisher)
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    manage.cancel_job(p, "j1")
    assert statuses(publisher, "j1") == [(None, JobStatus.WAITING), (JobStatus.WAITING, JobStatus.CANCELLED)]


def test_notes_without_a_status_change_publish_nothing() -> None:
    publisher = FakePublisher()
    p = with_events(make_pipeline(), publisher)
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    assert isinstance(p.clock, FakeClock)
    p.clock.advance(61)
    sweep.sweep_stuck_jobs(p)  # a re-drive: a history entry, not a status change
    assert len(p.require("j1").history) == 2
    assert statuses(publisher, "j1") == [(None, JobStatus.WAITING)]


def test_a_failed_publish_keeps_the_state_change_and_its_events_go_out_later_in_order() -> None:
    publisher = FakePublisher(broken=True)
    p = with_events(make_pipeline(), publisher)
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    drain(p, FakeBackend())
    job = p.require("j1")
    assert job.status is JobStatus.SUCCEEDED, "the pipeline went on while events could not be published"
    assert publisher.events == [] and job.published == 0
    publisher.broken = False
    assert isinstance(p.clock, FakeClock)
    p.clock.advance(5)
    assert sweep.sweep_stuck_jobs(p).republished == 0, "changes within the grace period are left to their writer"
    p.clock.advance(sweep.REPUBLISH_GRACE.total_seconds())
    assert sweep.sweep_stuck_jobs(p).republished == 1
    assert [e.id for e in publisher.events] == ["j1:0", "j1:1", "j1:2"]
    assert sweep.sweep_stuck_jobs(p).republished == 0, "published once, not again"


def test_the_next_write_publishes_what_an_earlier_write_could_not() -> None:
    publisher = FakePublisher(broken=True)
    p = with_events(make_pipeline(), publisher)
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    publisher.broken = False
    drain(p, FakeBackend())  # translating writes nothing; the Executing write publishes both changes
    assert [e.id for e in publisher.events] == ["j1:0", "j1:1", "j1:2"]


def test_changes_older_than_a_day_are_not_republished() -> None:
    publisher = FakePublisher(broken=True)
    p = with_events(make_pipeline(), publisher)
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    manage.cancel_job(p, "j1")
    publisher.broken = False
    assert isinstance(p.clock, FakeClock)
    p.clock.advance(timedelta(days=1, minutes=1).total_seconds())
    assert sweep.sweep_stuck_jobs(p).republished == 0
    assert publisher.events == []

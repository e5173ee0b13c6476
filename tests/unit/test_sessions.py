"""Sessions over in-memory ports: status from the jobs, both failure policies, the idle timeout, top-level items."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.errors import InvalidProgramError, InvalidRequestError, SessionClosedError, SessionExistsError
from shared.domain.jobs import JobStatus
from shared.domain.query import JobQuery, OrderBy, QueryField
from shared.domain.sessions import IDLE_TIMEOUT, SessionStatus
from shared.services import manage, sessions, sweep
from shared.services.pipeline import Pipeline
from shared.services.sessions import SessionRequest
from shared.services.submit import submit_job
from tests.fakes import FakeBackend, FakeClock, make_pipeline
from tests.unit.test_services import drain, submission, upload


def open_session(p: Pipeline, session_id: str = "s1", **changes: object) -> sessions.Opened:
    fields: dict[str, object] = {"name": "my session", "providerId": "ionq", "target": "ionq.simulator"}
    fields.update(changes)
    return sessions.open_session(p, session_id, SessionRequest.model_validate(fields))


def submit_in(p: Pipeline, session_id: str, job_id: str) -> None:
    upload(p, job_id)
    submit_job(p, job_id, submission(job_id, sessionId=session_id), cause="test")


def clock(p: Pipeline) -> FakeClock:
    assert isinstance(p.clock, FakeClock)
    return p.clock


def status(p: Pipeline, session_id: str = "s1") -> SessionStatus:
    return sessions.get_session(p, session_id).status


def test_a_session_runs_its_jobs_and_succeeds_when_closed_after_them() -> None:
    p = make_pipeline()
    opened = open_session(p)
    assert opened.created and opened.session.status is SessionStatus.WAITING
    assert opened.session.details.job_failure_policy == "Abort", "the SDK omits it unless set; Abort is the default"
    submit_in(p, "s1", "j1")
    submit_in(p, "s1", "j2")
    assert status(p) is SessionStatus.EXECUTING
    drain(p, FakeBackend())
    assert status(p) is SessionStatus.EXECUTING, "open, and its jobs ended: Executing until closed, as on Azure"
    closed = sessions.close_session(p, "s1")
    assert closed.status is SessionStatus.SUCCEEDED
    assert closed.details.end_execution_time is not None and closed.details.begin_execution_time is not None
    assert sessions.close_session(p, "s1").status is SessionStatus.SUCCEEDED, "closing again changes nothing"
    assert {j.details.session_id for j in p.jobs.query(sessions.session_jobs(p, "s1", JobQuery()))} == {"s1"}


def test_replaying_an_open_returns_the_session_and_a_different_request_conflicts() -> None:
    p = make_pipeline()
    open_session(p)
    again = open_session(p)
    assert not again.created and again.session.id == "s1"
    with pytest.raises(SessionExistsError):
        open_session(p, name="another name")


def test_closing_while_a_job_runs_ends_the_session_when_the_job_ends() -> None:
    p = make_pipeline()
    open_session(p)
    submit_in(p, "s1", "j1")
    assert sessions.close_session(p, "s1").status is SessionStatus.EXECUTING
    with pytest.raises(SessionClosedError, match="accepts no more jobs"):
        submit_in(p, "s1", "j2")
    drain(p, FakeBackend())
    assert status(p) is SessionStatus.SUCCEEDED


def failing_backend() -> FakeBackend:
    failing = FakeBackend()
    failing.error = InvalidProgramError("rejected by the provider")
    return failing


def continue_session_with_a_failed_job() -> Pipeline:
    p = make_pipeline()
    open_session(p, jobFailurePolicy="Continue")
    submit_in(p, "s1", "j1")
    drain(p, failing_backend())
    return p


def test_continue_policy_keeps_going_after_a_failure_and_ends_in_failures() -> None:
    p = continue_session_with_a_failed_job()
    assert p.require("j1").status is JobStatus.FAILED
    assert status(p) is SessionStatus.FAILURES, "open: it says a job failed, as Azure's does, and takes more"
    submit_in(p, "s1", "j2")
    drain(p, FakeBackend())
    assert p.require("j2").status is JobStatus.SUCCEEDED
    assert status(p) is SessionStatus.FAILURES
    assert sessions.close_session(p, "s1").status is SessionStatus.FAILURES


def test_abort_policy_fails_the_session_with_its_first_failed_job_and_stops_the_rest() -> None:
    p = make_pipeline()
    open_session(p)
    submit_in(p, "s1", "j1")
    submit_in(p, "s1", "j2")
    failing = failing_backend()
    messages = p.sender.take()  # type: ignore[attr-defined]
    p.sender.sent = messages[:1]  # type: ignore[attr-defined]  # j1 runs first; j2 waits in its queue
    drain(p, failing)
    assert status(p) is SessionStatus.FAILED
    p.sender.sent = messages[1:]  # type: ignore[attr-defined]
    drain(p, FakeBackend())
    j2 = p.require("j2")
    assert j2.status is JobStatus.FAILED and j2.details.error_data is not None
    assert j2.details.error_data.code == "SessionAborted"
    with pytest.raises(SessionClosedError, match=r"^Session is already in a terminal state\. .* is Failed and"):
        submit_in(p, "s1", "j3")


def test_an_open_session_with_failures_still_times_out_when_idle() -> None:
    p = continue_session_with_a_failed_job()
    assert status(p) is SessionStatus.FAILURES
    clock(p).advance((IDLE_TIMEOUT + timedelta(seconds=1)).total_seconds())
    assert sweep.sweep_stuck_jobs(p).sessions_ended == 1, "the sweep still finds it: it is not final"
    assert status(p) is SessionStatus.TIMED_OUT


def test_a_job_asking_an_echo_target_for_another_output_format_runs_then_fails_and_aborts_its_session() -> None:
    """Azure accepts the job, runs it, and fails it once the output cannot be given in the format asked for
    (CannotTranslateOutputData): the way the SDK's own tests make a job fail in a session."""
    p = make_pipeline()
    echo = {"providerId": "Microsoft.Test.FirstParty", "target": "echo-output"}
    open_session(p, **echo)
    upload(p, "j1", b"{ input: 'data' }")
    log = {"inputDataFormat": "microsoft.quantum-log.v1", "inputParams": {}, "sessionId": "s1", **echo}
    submit_job(p, "j1", submission("j1", **log, outputDataFormat="invalid_output_format"), cause="test")
    assert p.require("j1").details.output_data_format == "invalid_output_format", "accepted as asked"
    drain(p, FakeBackend(b"{ input: 'data' }"))
    failed = p.require("j1")
    assert failed.status is JobStatus.FAILED and failed.details.begin_execution_time is not None
    assert failed.details.error_data is not None and failed.details.error_data.code == "CannotTranslateOutputData"
    assert status(p) is SessionStatus.FAILED


def test_an_idle_session_times_out_after_ten_minutes_and_takes_no_more_jobs() -> None:
    p = make_pipeline()
    open_session(p)
    submit_in(p, "s1", "j1")
    drain(p, FakeBackend())
    clock(p).advance(9 * 60)
    assert sweep.sweep_stuck_jobs(p).sessions_ended == 0
    assert status(p) is SessionStatus.EXECUTING
    clock(p).advance(61)
    assert sweep.sweep_stuck_jobs(p).sessions_ended == 1
    ended = sessions.get_session(p, "s1")
    assert ended.status is SessionStatus.TIMED_OUT
    with pytest.raises(SessionClosedError, match="TimedOut"):
        submit_in(p, "s1", "j2")


def test_a_running_job_keeps_its_session_from_timing_out() -> None:
    p = make_pipeline(executing_deadline=timedelta(hours=2))
    open_session(p)
    submit_in(p, "s1", "j1")
    clock(p).advance(30 * 60)
    assert status(p) is SessionStatus.EXECUTING


def test_a_job_must_match_its_sessions_target_and_the_session_must_exist() -> None:
    p = make_pipeline()
    open_session(p, target="ionq.simulator")
    upload(p, "j1")
    with pytest.raises(InvalidRequestError, match="does not exist"):
        submit_job(p, "j1", submission("j1", sessionId="nope"), cause="test")
    open_session(p, "s2", providerId="quantinuum", target="quantinuum.sim.h2-1e")
    with pytest.raises(InvalidRequestError, match=r"is for quantinuum\.sim\.h2-1e"):
        submit_job(p, "j1", submission("j1", sessionId="s2"), cause="test")
    assert p.jobs.get("j1") is None, "a refused job is not created"


def test_top_level_items_are_sessions_and_the_jobs_outside_them_in_one_order() -> None:
    p = make_pipeline()
    upload(p, "lone1")
    submit_job(p, "lone1", submission("lone1"), cause="test")
    clock(p).advance(1)
    open_session(p)
    clock(p).advance(1)
    submit_in(p, "s1", "inside")
    clock(p).advance(1)
    upload(p, "lone2")
    submit_job(p, "lone2", submission("lone2"), cause="test")
    page = sessions.top_level_items(p, JobQuery())
    assert [(i.item_type, i.id) for i in page.items] == [("Job", "lone1"), ("Session", "s1"), ("Job", "lone2")]
    first = sessions.top_level_items(p, JobQuery(top=2))
    second = sessions.top_level_items(p, JobQuery(skip=2, top=2))
    assert [i.id for i in first.items] == ["lone1", "s1"] and first.next is not None and first.next.position == 2
    assert [i.id for i in second.items] == ["lone2"] and second.next is None
    newest = sessions.top_level_items(p, JobQuery(orderby=OrderBy(QueryField.CREATION_TIME, descending=True)))
    assert [i.id for i in newest.items] == ["lone2", "s1", "lone1"]
    assert [s.id for s in sessions.list_sessions(p, JobQuery()).sessions] == ["s1"]
    assert [j.id for j in manage.list_jobs(p, JobQuery()).jobs] == ["lone1", "inside", "lone2"], "oldest first"

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.errors import InvalidTransitionError
from shared.domain.jobs import ALLOWED_TRANSITIONS, TERMINAL, ErrorData, Job, JobStatus
from tests.factories import new_job

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_job(status: JobStatus = JobStatus.WAITING) -> Job:
    return new_job("j1", created=T0, status=status)


@pytest.mark.parametrize(("start", "end"), list(itertools.product(JobStatus, JobStatus)), ids=lambda s: str(s))
def test_transition_allowed_exactly_by_the_table(start: JobStatus, end: JobStatus) -> None:
    job = make_job(start)
    if end in ALLOWED_TRANSITIONS[start]:
        moved = job.transition_to(end, at=T0 + timedelta(seconds=1), cause="test")
        assert moved.status is end
        assert moved.history[-1].previous_status is start
    else:
        with pytest.raises(InvalidTransitionError):
            job.transition_to(end, at=T0, cause="test")


def test_final_statuses_allow_no_move() -> None:
    assert {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED} == TERMINAL
    assert all(not ALLOWED_TRANSITIONS[s] for s in TERMINAL)


def test_status_strings_are_azure_quantums() -> None:
    assert [s.value for s in JobStatus] == ["Waiting", "Executing", "Succeeded", "Failed", "Cancelled"]


def test_history_records_time_and_cause_of_each_move() -> None:
    t1, t2 = T0 + timedelta(seconds=1), T0 + timedelta(seconds=3)
    job = make_job().transition_to(JobStatus.EXECUTING, at=t1, cause="started")
    job = job.transition_to(JobStatus.SUCCEEDED, at=t2, cause="finished", usage={"shots": 10.0})
    assert [(h.status, h.time, h.cause) for h in job.history] == [
        (JobStatus.WAITING, T0, "submitted"),
        (JobStatus.EXECUTING, t1, "started"),
        (JobStatus.SUCCEEDED, t2, "finished"),
    ]
    assert job.details.begin_execution_time == t1
    assert job.details.end_execution_time == t2
    assert job.details.usage == {"shots": 10.0}


def test_cancel_while_waiting_sets_cancellation_time_but_no_execution_times() -> None:
    job = make_job().transition_to(JobStatus.CANCELLED, at=T0, cause="user")
    assert job.details.cancellation_time == T0
    assert job.details.begin_execution_time is None
    assert job.details.end_execution_time is None


def test_failure_carries_error_data_to_the_wire() -> None:
    error = ErrorData(code="InvalidProgram", message="line 3, column 1: expected ';'")
    wire = make_job().transition_to(JobStatus.FAILED, at=T0, cause="x", error=error).details.to_wire()
    assert wire["status"] == "Failed"
    assert wire["errorData"] == {
        "code": "InvalidProgram",
        "message": "line 3, column 1: expected ';'",
        "target": None,
        "details": [],
    }


def test_wire_names_are_camel_case_and_times_end_in_z() -> None:
    wire = make_job().details.to_wire()
    assert {"providerId", "inputDataUri", "outputDataFormat", "creationTime", "costEstimate"} <= wire.keys()
    assert str(wire["creationTime"]).endswith("Z")

"""Sessions through the unmodified azure-quantum SDK: open, submit into, close, list, top-level items."""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.quantum import Workspace
from azure.quantum.target import IonQ, Quantinuum

from tests.e2e.test_sdk import BELL_IONQ, BELL_QASM2, TIMEOUT, assert_bell_probabilities

pytestmark = pytest.mark.integration


def test_jobs_submitted_in_a_session_run_and_the_session_succeeds_when_closed(workspace: Workspace) -> None:
    target = IonQ(workspace=workspace, name="ionq.simulator")
    name = f"session-{uuid.uuid4().hex[:8]}"
    with target.open_session(name=name) as session:
        assert session.details.status == "Waiting"
        jobs = [target.submit(BELL_IONQ, name=f"{name}-{n}", shots=10) for n in range(3)]
        assert {job.details.session_id for job in jobs} == {session.id}
        for job in jobs:
            job.wait_until_completed(timeout_secs=TIMEOUT)
            assert_bell_probabilities(job.get_results())
    finished = workspace.get_session(session.id)
    assert finished.details.status == "Succeeded"
    assert finished.details.end_execution_time is not None
    assert sorted(j.details.name for j in session.list_jobs()) == sorted(j.details.name for j in jobs)

    top_level = {item.id: item for item in workspace.list_top_level_items()}
    assert session.id in top_level and top_level[session.id].item_type == "Session"
    assert not {job.id for job in jobs} & top_level.keys(), "jobs in a session are not top-level items"
    assert session.id in {s.id for s in workspace.list_sessions()}


def test_a_job_for_another_target_cannot_join_a_session_and_a_closed_session_takes_no_jobs(
    workspace: Workspace,
) -> None:
    ionq = IonQ(workspace=workspace, name="ionq.simulator")
    session = ionq.open_session(name=f"closed-{uuid.uuid4().hex[:8]}")
    other = Quantinuum(workspace=workspace, name="quantinuum.sim.h2-1e")
    other.latest_session = session  # the SDK's way to submit into a session opened elsewhere
    with pytest.raises(HttpResponseError, match=r"is for ionq\.simulator"):
        other.submit(BELL_QASM2, name="wrong-target", shots=10)
    session.close()
    assert workspace.get_session(session.id).details.status == "Succeeded", "closed with no jobs: nothing failed"
    ionq.latest_session = session
    with pytest.raises(HttpResponseError, match="accepts no more jobs"):
        ionq.submit(BELL_IONQ, name="too-late", shots=10)

"""Microsoft's echo test targets (provider Microsoft.Test.FirstParty), used as the azure-quantum SDK's own tests use
them: a job's output is its input, and a job asking for an output format the target cannot give is accepted, runs
and fails, which is how those tests drive the sessions' job failure policies."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.quantum import Job, SessionJobFailurePolicy, SessionStatus, Workspace
from azure.quantum.target import Quantinuum, Target

from tests.e2e.test_qpu_emulations import compiled_bell
from tests.e2e.test_sdk import TIMEOUT, unique

pytestmark = pytest.mark.integration

ECHO = "Microsoft.Test.FirstParty"
ECHOED = "honeywell.qir.v1"


def finished(job: Job, status: str) -> Job:
    job.wait_until_completed(timeout_secs=TIMEOUT)
    assert job.details.status == status, job.details.error_data
    return job


def test_echo_output_returns_the_input_as_it_is(workspace: Workspace) -> None:
    target = Target(
        workspace=workspace,
        name="echo-output",
        provider_id=ECHO,
        input_data_format="microsoft.quantum-log.v1",
        output_data_format="microsoft.quantum-log.v1",
    )
    text = "{ input: 'data' }"  # not JSON: the SDK hands back the raw text
    job = finished(target.submit(input_data=text, name=unique("echo")), "Succeeded")
    assert job.get_results() == text


def test_a_failed_job_aborts_its_session_and_later_jobs_are_refused(workspace: Workspace) -> None:
    target = Quantinuum(workspace=workspace, name="echo-quantinuum", provider_id=ECHO)
    with target.open_session(name=unique("abort"), job_failure_policy=SessionJobFailurePolicy.ABORT) as session:
        bad = target.submit(compiled_bell(), name="bad", output_data_format="invalid_output_format")
        finished(bad, "Failed")
        assert bad.details.error_data.code == "CannotTranslateOutputData"
        assert bad.details.begin_execution_time is not None, "accepted, run, then its output not translatable"
        session.refresh()
        assert session.details.status == SessionStatus.FAILED
        with pytest.raises(HttpResponseError, match=r"Session is already in a terminal state\."):
            target.submit(compiled_bell(), name="after", output_data_format=ECHOED)
        assert [job.details.name for job in session.list_jobs()] == ["bad"]


def test_under_continue_a_session_reads_failures_and_still_takes_jobs(workspace: Workspace) -> None:
    target = Quantinuum(workspace=workspace, name="echo-quantinuum", provider_id=ECHO)
    with target.open_session(name=unique("continue"), job_failure_policy=SessionJobFailurePolicy.CONTINUE) as session:
        good = finished(target.submit(compiled_bell(), name="good", output_data_format=ECHOED), "Succeeded")
        assert good.download_data(good.details.output_data_uri) == good.download_data(good.details.input_data_uri)
        session.refresh()
        assert session.details.status == SessionStatus.EXECUTING
        finished(target.submit(compiled_bell(), name="bad", output_data_format="invalid_output_format"), "Failed")
        session.refresh()
        assert session.details.status == SessionStatus.FAILURE_S_
        finished(target.submit(compiled_bell(), name="later", output_data_format=ECHOED), "Succeeded")
        session.refresh()
        assert session.details.status == SessionStatus.FAILURE_S_
    assert workspace.get_session(session.id).details.status == SessionStatus.FAILURE_S_
    assert sorted(job.details.name for job in session.list_jobs()) == ["bad", "good", "later"]

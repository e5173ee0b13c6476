"""The services over in-memory ports: the whole pipeline, replays, races, cancel, the sweeper, blob drop."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from shared.domain.errors import (
    InputTooLargeError,
    InvalidRequestError,
    JobExistsError,
    NotCancellableError,
    UnknownTargetError,
    UnsupportedFormatError,
    UnsupportedProgramError,
)
from shared.domain.jobs import JobStatus
from shared.domain.messages import JOB_RESULTS_QUEUE, SIMULATOR_QUEUE, JobOutcome, RunJob, TranslateJob
from shared.domain.query import JobQuery
from shared.domain.sessions import SessionStatus
from shared.domain.storage import sha256
from shared.services import execute, intake, manage, sessions, sweep, validate
from shared.services.pipeline import Pipeline
from shared.services.sessions import SessionRequest
from shared.services.submit import JobSubmission, submit_job
from tests.fakes import BASE, FakeArtifacts, FakeBackend, FakeClock, FakeSender, make_pipeline

BELL = json.dumps(
    {"qubits": 2, "circuit": [{"gate": "h", "targets": [0]}, {"gate": "x", "targets": [1], "controls": [0]}]}
).encode()
QASM_BAD = b'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0]\ncx q[0], q[1];\n'


def submission(job_id: str = "j1", /, **changes: object) -> JobSubmission:
    fields: dict[str, object] = {
        "name": "bell",
        "providerId": "ionq",
        "target": "ionq.simulator",
        "containerUri": f"{BASE}/job-{job_id}?sv=1&sig=secret",
        "inputDataUri": f"{BASE}/job-{job_id}/inputData",
        "inputDataFormat": "ionq.circuit.v1",
        "inputParams": {"shots": 100},
        "outputDataFormat": "ionq.quantum-results.v1",
    }
    fields.update(changes)
    return JobSubmission.model_validate(fields)


def upload(p: Pipeline, job_id: str, data: bytes = BELL) -> None:
    p.artifacts.put(f"job-{job_id}", "inputData", data, "application/json")


def sent(p: Pipeline) -> FakeSender:
    assert isinstance(p.sender, FakeSender)
    return p.sender


def drain(p: Pipeline, backend: FakeBackend) -> None:
    """Deliver every queued message to its function until the queues are empty."""
    while messages := sent(p).take():
        for queue, message in messages:
            if isinstance(message, TranslateJob):
                execute.translate_job(p, message)
            elif isinstance(message, RunJob):
                assert queue == SIMULATOR_QUEUE
                execute.run_job(p, backend, message)
            else:
                assert queue == JOB_RESULTS_QUEUE and isinstance(message, JobOutcome)
                execute.record_outcome(p, message)


def test_a_job_goes_through_every_stage_and_ends_succeeded_with_output() -> None:
    p = make_pipeline()
    upload(p, "j1")
    created = submit_job(p, "j1", submission(), cause="test")
    assert created.created and created.job.status is JobStatus.WAITING
    assert created.job.details.container_uri == f"{BASE}/job-j1", "the client's SAS is not stored"
    assert [q for q, _ in sent(p).sent] == ["jobs-ionq"]
    drain(p, FakeBackend())
    job = p.require("j1")
    assert job.status is JobStatus.SUCCEEDED
    assert [h.status for h in job.history] == [JobStatus.WAITING, JobStatus.EXECUTING, JobStatus.SUCCEEDED]
    assert job.details.usage == {"shots": 100.0}
    assert job.details.begin_execution_time is not None and job.details.end_execution_time is not None
    assert isinstance(p.artifacts, FakeArtifacts)
    assert json.loads(p.artifacts.blobs[("job-j1", "rawOutputData")]) == {"histogram": {"0": 0.5, "3": 0.5}}
    assert ("job-j1", "translatedInput") not in p.artifacts.blobs, "a small program travels in the message alone"


def test_a_large_output_travels_by_claim_check_and_lands_whole() -> None:
    p = make_pipeline(inline_message_bytes=10)
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    backend = FakeBackend(output=b'{"histogram": {"0": 1.0}}' + b" " * 100)
    drain(p, backend)
    assert isinstance(p.artifacts, FakeArtifacts)
    assert p.artifacts.blobs[("job-j1", "rawOutputData")] == backend.output
    assert p.require("j1").status is JobStatus.SUCCEEDED


def test_replayed_put_returns_the_stored_job_and_a_different_one_conflicts() -> None:
    p = make_pipeline()
    upload(p, "j1")
    first = submit_job(p, "j1", submission(), cause="test")
    again = submit_job(p, "j1", submission(containerUri=f"{BASE}/job-j1?sv=2&sig=other"), cause="test")
    assert not again.created and again.job.id == first.job.id
    assert len(p.jobs.query(JobQuery())) == 1
    with pytest.raises(JobExistsError):
        submit_job(p, "j1", submission(name="another"), cause="test")


def test_a_replay_of_a_waiting_job_routes_it_again_under_the_same_message_id() -> None:
    p = make_pipeline()
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    first_ids = [m.message_id() for _, m in sent(p).take()]
    submit_job(p, "j1", submission(), cause="test")
    assert [m.message_id() for _, m in sent(p).take()] == first_ids


@pytest.mark.parametrize(
    ("changes", "error", "target"),
    [
        pytest.param({"target": "ionq.qpu.nope"}, UnknownTargetError, None, id="unknown-target"),
        pytest.param({"providerId": "nobody"}, UnknownTargetError, None, id="unknown-provider"),
        pytest.param({"inputDataFormat": "rigetti.quil.v1"}, UnsupportedFormatError, "inputDataFormat", id="format"),
        pytest.param({"outputDataFormat": "x.v1"}, UnsupportedFormatError, "outputDataFormat", id="out-format"),
        pytest.param({"inputParams": {"shots": 0}}, InvalidRequestError, "inputParams.shots", id="zero-shots"),
        pytest.param({"inputParams": {"shots": True}}, InvalidRequestError, "inputParams.shots", id="bool-shots"),
        pytest.param({"inputDataUri": "http://elsewhere/x/y"}, InvalidRequestError, "inputDataUri", id="foreign-uri"),
        pytest.param({"id": "other"}, InvalidRequestError, "id", id="id-mismatch"),
    ],
)
def test_bad_requests_are_refused_before_anything_is_written(
    changes: dict[str, object], error: type[Exception], target: str | None
) -> None:
    p = make_pipeline()
    upload(p, "j1")
    with pytest.raises(error) as caught:
        submit_job(p, "j1", submission(**changes), cause="test")
    if target is not None:
        assert getattr(caught.value, "target", None) == target
    assert p.jobs.get("j1") is None
    assert sent(p).sent == []


def test_an_invalid_program_makes_a_job_failed_at_once_with_line_and_column_and_queues_nothing() -> None:
    """As on Azure, the job is accepted and fails; its errorData points at the defect as `jobs:validate` does."""
    p = make_pipeline()
    upload(p, "j1", QASM_BAD)
    request = submission(inputDataFormat="openqasm.v2")
    created = submit_job(p, "j1", request, cause="test")
    job = created.job
    assert created.created and job.status is JobStatus.FAILED
    assert [h.status for h in job.history] == [JobStatus.WAITING, JobStatus.FAILED]
    error = job.details.error_data
    assert error is not None and error.code == "InvalidProgram"
    assert error.details[0].target == "line 4, column 7" and "line 4, column 7" in error.message
    assert job.input_sha256 == sha256(QASM_BAD)
    assert job.details.input_params["shots"] == 100 and job.details.output_data_format == "ionq.quantum-results.v1"
    assert sent(p).sent == [] and p.jobs.get("j1") == job
    replay = submit_job(p, "j1", request, cause="test")
    assert (replay.created, replay.job) == (False, job)
    assert sent(p).sent == [], "a replay of a Failed job queues nothing either"


def test_an_invalid_program_in_a_session_fails_the_session_under_abort() -> None:
    p = make_pipeline()
    sessions.open_session(p, "s1", SessionRequest.model_validate({"providerId": "ionq", "target": "ionq.simulator"}))
    upload(p, "j1", QASM_BAD)
    submit_job(p, "j1", submission(inputDataFormat="openqasm.v2", sessionId="s1"), cause="test")
    assert sessions.get_session(p, "s1").status is SessionStatus.FAILED


def test_oversize_input_is_refused_and_too_many_qubits_fail_the_job() -> None:
    p = make_pipeline(max_input_bytes=10)
    upload(p, "j1")
    with pytest.raises(InputTooLargeError):
        submit_job(p, "j1", submission(), cause="test")
    assert p.jobs.get("j1") is None
    p = make_pipeline()
    wide = json.dumps({"qubits": 40, "circuit": [{"gate": "h", "targets": [39]}]}).encode()
    upload(p, "j1", wide)
    job = submit_job(p, "j1", submission(), cause="test").job
    assert job.status is JobStatus.FAILED and job.details.error_data is not None
    assert job.details.error_data.code == "UnsupportedProgram" and "40 qubits" in job.details.error_data.message
    assert sent(p).sent == []


def test_without_an_input_data_uri_the_input_is_the_jobs_own_input_data_blob() -> None:
    p = make_pipeline()
    upload(p, "j1")
    request = submission().model_copy(update={"input_data_uri": None})
    created = submit_job(p, "j1", request, cause="test").job
    assert created.status is JobStatus.WAITING and created.details.input_data_uri == f"{BASE}/job-j1/inputData"
    assert not submit_job(p, "j1", request, cause="test").created, "a replay without it is the same request"
    upload(p, "j2", b"")
    missing = submit_job(p, "j2", submission("j2").model_copy(update={"input_data_uri": None}), cause="test")
    assert missing.job.status is JobStatus.FAILED, "the default blob is read and checked like a named one"


def test_a_waiting_job_cancelled_never_runs() -> None:
    p = make_pipeline()
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    assert manage.cancel_job(p, "j1").status is JobStatus.CANCELLED
    backend = FakeBackend()
    drain(p, backend)
    assert backend.runs == 0
    assert p.require("j1").status is JobStatus.CANCELLED


def test_an_executing_job_is_cancelled_and_its_late_result_is_ignored() -> None:
    p = make_pipeline()
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    execute.translate_job(p, TranslateJob(job_id="j1"))
    sent(p).take()
    execute.run_job(p, FakeBackend(), RunJob(job_id="j1"))
    ((_, outcome),) = sent(p).take()
    assert p.require("j1").status is JobStatus.EXECUTING
    manage.cancel_job(p, "j1")
    assert isinstance(outcome, JobOutcome)
    execute.record_outcome(p, outcome)
    job = p.require("j1")
    assert job.status is JobStatus.CANCELLED
    assert isinstance(p.artifacts, FakeArtifacts)
    assert ("job-j1", "rawOutputData") not in p.artifacts.blobs


def test_a_final_job_is_not_cancelled_and_says_why() -> None:
    p = make_pipeline()
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    drain(p, FakeBackend())
    with pytest.raises(NotCancellableError, match="already Succeeded"):
        manage.cancel_job(p, "j1")
    assert p.require("j1").status is JobStatus.SUCCEEDED


def test_duplicate_deliveries_change_nothing_after_the_job_is_final() -> None:
    p = make_pipeline()
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    backend = FakeBackend()
    drain(p, backend)
    final = p.require("j1")
    execute.translate_job(p, TranslateJob(job_id="j1"))
    execute.run_job(p, backend, RunJob(job_id="j1"))
    assert sent(p).take() == []
    assert p.require("j1") == final
    assert backend.runs == 1


def test_a_provider_failure_fails_the_job_with_error_data() -> None:
    p = make_pipeline()
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    backend = FakeBackend()
    backend.error = UnsupportedProgramError("the simulator ran out of qubits")
    drain(p, backend)
    job = p.require("j1")
    assert job.status is JobStatus.FAILED
    assert job.details.error_data is not None
    assert job.details.error_data.code == "UnsupportedProgram"
    assert "ran out of qubits" in job.details.error_data.message


def test_sweeper_redrives_a_stuck_job_then_fails_it_with_a_reason() -> None:
    p = make_pipeline(max_redrives=1)
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    sent(p).take()  # the message is lost
    clock = p.clock
    assert isinstance(clock, FakeClock)
    clock.advance(61)
    assert sweep.sweep_stuck_jobs(p) == sweep.SweepReport(redriven=1, failed=0, republished=0, sessions_ended=0)
    ((queue, message),) = sent(p).take()
    assert queue == "jobs-ionq" and message.attempt == 1
    clock.advance(61)
    assert sweep.sweep_stuck_jobs(p) == sweep.SweepReport(redriven=0, failed=1, republished=0, sessions_ended=0)
    job = p.require("j1")
    assert job.status is JobStatus.FAILED
    assert job.details.error_data is not None and job.details.error_data.code == "JobTimedOut"
    assert "Re-driven" in job.history[1].cause


def test_sweeper_redrives_a_job_stuck_executing_on_the_run_queue_then_fails_it() -> None:
    p = make_pipeline(max_redrives=1)
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    execute.translate_job(p, TranslateJob(job_id="j1"))
    sent(p).take()
    execute.run_job(p, FakeBackend(), RunJob(job_id="j1"))
    sent(p).take()  # the outcome is lost
    clock = p.clock
    assert isinstance(clock, FakeClock)
    clock.advance(601)
    assert sweep.sweep_stuck_jobs(p).redriven == 1
    ((queue, message),) = sent(p).take()
    assert queue == SIMULATOR_QUEUE
    assert isinstance(message, RunJob)
    assert message.program is None, "a re-drive reads the translated program from its blob"
    clock.advance(601)
    assert sweep.sweep_stuck_jobs(p).failed == 1
    assert p.require("j1").status is JobStatus.FAILED


def test_a_redriven_job_reads_its_blobs_and_still_succeeds() -> None:
    p = make_pipeline()
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    sent(p).take()  # the inline copy is lost with its message
    clock = p.clock
    assert isinstance(clock, FakeClock)
    clock.advance(61)
    sweep.sweep_stuck_jobs(p)
    drain(p, FakeBackend())
    assert p.require("j1").status is JobStatus.SUCCEEDED


def test_a_dead_lettered_run_re_drives_its_job_at_once_then_fails_it_once_re_drives_are_spent() -> None:
    p = make_pipeline(max_redrives=1)
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    sent(p).take()
    execute.translate_job(p, TranslateJob(job_id="j1"))
    ((_, first),) = sent(p).take()
    assert isinstance(first, RunJob)
    execute.run_job(p, FakeBackend(), first)
    sent(p).take()  # the outcome is lost: the job stays Executing, its run message was dead-lettered

    sweep.redrive_dead_letter(p, first, SIMULATOR_QUEUE, "MaxDeliveryCountExceeded")
    ((queue, again),) = sent(p).take()
    assert (queue, again.attempt) == (SIMULATOR_QUEUE, 1), "no waiting for the Executing deadline"
    assert "dead-lettered (MaxDeliveryCountExceeded)" in p.require("j1").history[-1].cause

    sweep.redrive_dead_letter(p, first, SIMULATOR_QUEUE, "MaxDeliveryCountExceeded")
    assert sent(p).take() == [], "a letter of an attempt since re-driven changes nothing"
    assert isinstance(again, RunJob)
    sweep.redrive_dead_letter(p, again, SIMULATOR_QUEUE, "MaxDeliveryCountExceeded")
    job = p.require("j1")
    assert job.status is JobStatus.FAILED
    assert job.details.error_data is not None and job.details.error_data.code == "JobDeadLettered"
    assert "simulator-runs" in job.details.error_data.message
    sweep.redrive_dead_letter(p, again, SIMULATOR_QUEUE, "MaxDeliveryCountExceeded")
    assert p.require("j1") == job, "a final job stays as it is"


def test_a_dead_lettered_translation_routes_a_waiting_job_again_and_a_deleted_jobs_letter_is_dropped() -> None:
    p = make_pipeline()
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    ((_, letter),) = sent(p).take()
    assert isinstance(letter, TranslateJob)
    sweep.redrive_dead_letter(p, letter, "jobs-ionq", "MaxDeliveryCountExceeded")
    ((queue, again),) = sent(p).take()
    assert (queue, again.attempt) == ("jobs-ionq", 1)
    assert isinstance(again, TranslateJob)

    sweep.redrive_dead_letter(p, TranslateJob(job_id="gone"), "jobs-ionq", "MaxDeliveryCountExceeded")
    of_a_deleted_job = TranslateJob(job_id="j1", attempt=1, job_created=datetime(2020, 1, 1, tzinfo=UTC))
    sweep.redrive_dead_letter(p, of_a_deleted_job, "jobs-ionq", "MaxDeliveryCountExceeded")
    assert sent(p).take() == []
    assert p.require("j1").redrives == 1

    execute.translate_job(p, again)
    drain(p, FakeBackend())
    assert p.require("j1").status is JobStatus.SUCCEEDED


def test_sweeper_leaves_jobs_within_their_deadline_alone() -> None:
    p = make_pipeline()
    upload(p, "j1")
    submit_job(p, "j1", submission(), cause="test")
    assert sweep.sweep_stuck_jobs(p) == sweep.SweepReport(redriven=0, failed=0, republished=0, sessions_ended=0)


GHZ_QASM = (
    b'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\nh q[0];\ncx q[0],q[1];\ncx q[1],q[2];\n'
    b"measure q -> c;\n"
)


def test_a_dropped_blob_taken_in_twice_is_one_job() -> None:
    p = make_pipeline()
    meta = {"Target": "quantinuum.sim.h2-1e", "shots": "50"}
    first = intake.intake_program(p, "programs", "ghz.qasm", GHZ_QASM, meta)
    second = intake.intake_program(p, "programs", "ghz.qasm", GHZ_QASM, meta)
    assert first.id == second.id
    assert len(p.jobs.query(JobQuery())) == 1
    assert first.status is JobStatus.WAITING
    assert first.details.input_data_format == "honeywell.openqasm.v1"
    assert first.details.input_params["shots"] == 50


@pytest.mark.parametrize(
    ("name", "data", "meta", "code", "words"),
    [
        pytest.param(
            "bad.qasm",
            QASM_BAD,
            {"target": "ionq.simulator"},
            "InvalidProgram",
            "line 4, column 7",
            id="invalid-program",
        ),
        pytest.param("ghz.qasm", GHZ_QASM, {}, "InvalidRequest", "'target' is required", id="no-target"),
        pytest.param("ghz.qasm", GHZ_QASM, {"target": "nowhere.qpu"}, "InvalidTarget", "not known", id="bad-target"),
        pytest.param("a/../ghz.qasm", GHZ_QASM, {"target": "ionq.simulator"}, "InvalidRequest", "'..'", id="dot-dot"),
        pytest.param(
            "ghz.qasm",
            GHZ_QASM,
            {"target": "ionq.simulator", "shots": "many"},
            "InvalidRequest",
            "whole number",
            id="bad-shots",
        ),
        pytest.param(
            "ghz.qasm",
            GHZ_QASM,
            {"target": "ionq.simulator", "colour": "red"},
            "InvalidRequest",
            "Unknown metadata",
            id="unknown-key",
        ),
        pytest.param(
            "x.txt",
            b"hello",
            {"target": "ionq.simulator"},
            "InvalidDataFormat",
            "inputdataformat",
            id="unknown-format",
        ),
    ],
)
def test_a_dropped_blob_that_cannot_run_becomes_a_failed_job_that_says_why(
    name: str, data: bytes, meta: dict[str, str], code: str, words: str
) -> None:
    p = make_pipeline()
    job = intake.intake_program(p, "programs", name, data, meta)
    assert job.status is JobStatus.FAILED
    assert job.details.error_data is not None
    assert job.details.error_data.code == code
    assert words in job.details.error_data.message
    assert sent(p).sent == []
    assert p.jobs.get(job.id) == job


@pytest.mark.parametrize(
    ("params", "target", "fragment"),
    [
        ({"shots": 10, "note": "x"}, "inputParams.note", "inputParams.note is not a parameter of ionq.simulator"),
        ({"shots": 10, "errorBudget": 0.01}, "inputParams.errorBudget", "not a parameter of ionq.simulator"),
        ({"shots": 10, "entryPoint": 3}, "inputParams.entryPoint", "must be a JSON string for ionq.simulator; got 3"),
        ({"shots": True}, "inputParams.shots", "must be a JSON integer"),
    ],
)
def test_input_params_follow_the_targets_schema(params: dict[str, object], target: str, fragment: str) -> None:
    p = make_pipeline()
    upload(p, "j1")
    with pytest.raises(InvalidRequestError, match=re.escape(fragment)) as raised:
        submit_job(p, "j1", submission(inputParams=params), cause="test")
    assert raised.value.target == target
    assert p.jobs.get("j1") is None and sent(p).sent == []


def test_the_estimator_takes_its_own_parameters() -> None:
    p = make_pipeline()
    checked = validate.check_request(
        p, "microsoft-qc", "microsoft.estimator", "qir.v1", None, {"errorBudget": 0.01, "qubitParams": {"name": "x"}}
    )
    assert checked.route.output_format == "microsoft.resource-estimates.v1"


def test_a_wide_non_clifford_program_is_refused_by_a_noisy_target_but_a_wide_clifford_one_is_taken() -> None:
    p = make_pipeline()
    aria = p.catalog.target("ionq", "ionq.qpu.aria-1")
    assert aria.noise is not None
    width = aria.noise.max_non_clifford_qubits + 1
    ghz = [
        {"gate": "h", "targets": [0]},
        *({"gate": "x", "targets": [q], "controls": [q - 1]} for q in range(1, width)),
    ]
    wide_clifford = json.dumps({"qubits": width, "circuit": ghz}).encode()
    assert validate.check_program(p.programs, wide_clifford, "ionq.circuit.v1", aria).clifford
    wide_t = json.dumps({"qubits": width, "circuit": [*ghz, {"gate": "t", "targets": [0]}]}).encode()
    with pytest.raises(UnsupportedProgramError, match="non-Clifford gates") as raised:
        validate.check_program(p.programs, wide_t, "ionq.circuit.v1", aria)
    assert raised.value.diagnostics[0].path == "qubits"
    simulator = p.catalog.target("ionq", "ionq.simulator")
    assert not validate.check_program(p.programs, wide_t, "ionq.circuit.v1", simulator).clifford, (
        "an ideal target takes it"
    )

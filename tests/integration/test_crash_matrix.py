"""The crash matrix: the whole local stack (host, its Azurite, its simulation workers) SIGKILLed as one process
group at each step of the pipeline, started again on the same state, and nothing acknowledged is lost.

Steps are hit without hooks in the product: LOCAL_DISABLED_FUNCTIONS holds jobs after a step, the stack is
killed there, and it starts again with the next function enabled. Each job's program flips a set of qubits
of its own, so its exact answer (one basis state at probability 1.0) says whose output a job has.
`Ledger` and `audit` are shared with bench/crash.py, the randomized version.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.domain.jobs import ALLOWED_TRANSITIONS, JobStatus
from tests.e2e.helpers import FINAL, Api, ionq_job_body
from tests.event_receiver import EventReceiver, event_receiver
from tests.servers import LocalStack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

QUBITS = 12  # 4096 distinct answers
SECRET = "crash-matrix-webhook-secret"
HOLD_TRANSLATE = "translate_ionq,translate_quantinuum,translate_rigetti,translate_microsoft_qc"


def program(answer: int) -> bytes:
    """An IonQ circuit whose only outcome is basis state `answer`: an x on each qubit of its set bits."""
    gates = [{"gate": "x", "targets": [q]} for q in range(QUBITS) if answer >> q & 1]
    return json.dumps({"qubits": QUBITS, "circuit": gates}).encode()


def stack_settings(receiver: EventReceiver | None, **more: str) -> dict[str, str]:
    events = {"EVENT_WEBHOOKS": receiver.url, "EVENT_WEBHOOK_SECRET": SECRET} if receiver else {}
    return {
        "SIMULATION_WORKERS": "1",
        "QUEUE_POLL_SECONDS": "0.05",
        "EVENT_FIRST_RETRY_SECONDS": "0.2",
        **events,
        **more,
    }


@dataclass
class Ledger:
    """The client's side: what it uploaded and which jobs the service acknowledged (PUT answered 200 or 201)."""

    api: Api
    answers: dict[str, int] = field(default_factory=dict)  # acknowledged job -> its exact answer
    refused: int = 0  # PUTs answered 400 InputDataNotFound: the crash lost the upload, and the service said so
    _next: int = 1

    def upload(self) -> tuple[str, int, str]:
        job_id, answer = str(uuid.uuid4()), self._next
        self._next = (self._next + 1) % 2**QUBITS
        return job_id, answer, self.api.upload_program(program(answer), container=f"job-{job_id}")

    def put(self, job_id: str, answer: int, url: str) -> bool:
        """PUT the job; True once acknowledged. A connection cut by a kill raises requests.ConnectionError."""
        response = self.api.put_job(job_id, ionq_job_body(url, f"answer-{answer}", shots=5))
        if response.status_code in (200, 201):
            self.answers[job_id] = answer
            return True
        error = response.json().get("error", {})
        assert response.status_code == 400 and error.get("code") == "InputDataNotFound", response.text
        self.refused += 1
        return False

    def submit(self, count: int) -> list[str]:
        submitted = []
        for _ in range(count):
            job_id, answer, url = self.upload()
            if self.put(job_id, answer, url):
                submitted.append(job_id)
        return submitted


@dataclass
class Tally:
    kills: int = 0
    jobs: int = 0
    lost: int = 0  # acknowledged, and then missing, Failed, or Succeeded without its output
    stuck: int = 0  # acknowledged and not final in time
    duplicated: int = 0  # a job listed twice, or a status change published under two event ids
    mixed: int = 0  # a Succeeded job whose output is not its own answer
    illegal: int = 0  # a history step the state machine forbids, or events out of the history's order
    refused: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"kills={self.kills} jobs={self.jobs} lost={self.lost} stuck={self.stuck} duplicated={self.duplicated} "
            f"mixed={self.mixed} illegal={self.illegal} refused={self.refused}"
        )

    def count(self, kind: str, problem: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        self.problems.append(f"{kind}: {problem}")


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not {what} after {timeout} s")
        time.sleep(0.02)


def audit(ledger: Ledger, receiver: EventReceiver | None, kills: int, timeout: float = 90.0) -> Tally:
    """Every acknowledged job final, Succeeded with its own output, listed once, with a legal history and (with a
    receiver) each status change published once, in order."""
    api, tally = ledger.api, Tally(kills=kills, jobs=len(ledger.answers), refused=ledger.refused)
    jobs = _final_jobs(api, list(ledger.answers), timeout)
    listed = Counter(item["id"] for item in _listed(api))
    for job_id, answer in ledger.answers.items():
        job = jobs.get(job_id)
        if job is None or job.get("status") not in FINAL:
            tally.count("stuck" if job else "lost", f"{job_id} is {job and job.get('status')}")
            continue
        if job["status"] != "Succeeded":
            tally.count("lost", f"{job_id} ended {job['status']}: {job.get('errorData')}")
            continue
        if listed[job_id] != 1:
            tally.count("duplicated", f"{job_id} listed {listed[job_id]} times")
        expected = {"histogram": {str(answer): 1.0}}
        # The download URL as the API gives it now: its SAS lives SAS_TTL_MINUTES, and a long audit outlives the first.
        fresh = api.get_job(job_id).json()["outputDataUri"]
        for where, output in (("output", _output(api, job_id)), ("outputDataUri", _download(fresh))):
            if output is None:
                tally.count("lost", f"{job_id}: no output at {where}")
            elif output != expected:
                tally.count("mixed", f"{job_id}: {where} holds {output}, not answer {answer}")
        changes = _history_changes(api, job_id, tally)
        if receiver is not None:
            _check_events(receiver, job_id, changes, tally)
    tally.duplicated += sum(1 for job_id, n in listed.items() if n > 1 and job_id not in ledger.answers)
    return tally


def _final_jobs(api: Api, job_ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
    deadline, jobs = time.monotonic() + timeout, {}
    pending = set(job_ids)
    while pending:
        for job_id in list(pending):
            response = api.get_job(job_id)
            if response.status_code == 404:
                pending.discard(job_id)
                continue
            jobs[job_id] = response.json()
            if jobs[job_id]["status"] in FINAL:
                pending.discard(job_id)
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return jobs


def _listed(api: Api) -> Iterator[dict[str, Any]]:
    url: str | None = f"{api.base}/jobs"
    while url:
        page = api.session.get(url).json()
        yield from page["value"]
        url = page.get("nextLink")


def _output(api: Api, job_id: str) -> object:
    response = api.session.get(f"{api.base}/jobs/{job_id}/output")
    return response.json() if response.ok else None


def _download(url: str | None) -> object:
    if not url:
        return None
    response = requests.get(url, timeout=10)
    return response.json() if response.ok else None


def _history_changes(api: Api, job_id: str, tally: Tally) -> list[str]:
    """The job's status changes in order; a step the state machine forbids is counted."""
    history = api.session.get(f"{api.base}/jobs/{job_id}/history").json()["value"]
    statuses = [entry["status"] for entry in history]
    changes = [s for i, s in enumerate(statuses) if i == 0 or s != statuses[i - 1]]
    if changes[0] != "Waiting":
        tally.count("illegal", f"{job_id} began {changes[0]}")
    for before, after in itertools.pairwise(changes):
        if JobStatus(after) not in ALLOWED_TRANSITIONS[JobStatus(before)]:
            tally.count("illegal", f"{job_id}: {before} -> {after}")
    return changes


def _check_events(receiver: EventReceiver, job_id: str, changes: list[str], tally: Tally) -> None:
    """Deduplicated by id, the job's events name each of its status changes once, in the history's order."""
    deadline = time.monotonic() + 20
    while len(receiver.events(job_id)) < len(changes) and time.monotonic() < deadline:
        time.sleep(0.1)
    events = receiver.events(job_id)
    sequences = [event["data"]["sequence"] for event in events]
    if len(set(sequences)) != len(sequences):
        tally.count("duplicated", f"{job_id}: one status change published under two ids: {sequences}")
    published = [event["data"]["status"] for event in events]
    if published != changes:
        kind = "lost" if len(published) < len(changes) else "illegal"
        tally.count(kind, f"{job_id}: events {published}, history {changes}")


def queued(stack: LocalStack, queue: str) -> int:
    """Messages in one of the stack's embedded queues, read from its file beside the running host."""
    with sqlite3.connect(stack.state_dir / "queues.sqlite3", timeout=5) as db:
        return int(db.execute("SELECT count(*) FROM messages WHERE queue = ?", (queue,)).fetchone()[0])


def status(api: Api, job_id: str) -> str:
    return str(api.get_job(job_id).json()["status"])


@pytest.fixture
def receiver() -> Iterator[EventReceiver]:
    with event_receiver(EventReceiver(SECRET)) as running:
        yield running


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    started = LocalStack(state_dir=tmp_path / "state")
    yield started
    started.stop()


def test_hard_kills_of_the_whole_stack_at_each_step_lose_nothing(stack: LocalStack, receiver: EventReceiver) -> None:
    kills = 0

    def crash_and_restart(**settings: str) -> None:
        nonlocal kills
        stack.kill()
        kills += 1
        stack.settings = stack_settings(receiver, **settings)
        stack.start()

    stack.settings = stack_settings(receiver, LOCAL_DISABLED_FUNCTIONS=HOLD_TRANSLATE)
    stack.start()
    api = Api(stack)
    ledger = Ledger(api)

    # 1. Right after the client's upload: Azurite had not saved it, so the PUT after the restart is refused,
    # truthfully; it never becomes a job that loses its input later.
    job_id, answer, url = ledger.upload()
    crash_and_restart(LOCAL_DISABLED_FUNCTIONS=HOLD_TRANSLATE)
    ledger.put(job_id, answer, url)

    # 2. Right after PUT answered 201, the jobs enqueued and held there: their uploads were only in Azurite's
    # memory and in the journal.
    held = ledger.submit(3)
    assert len(held) == 3
    crash_and_restart(LOCAL_DISABLED_FUNCTIONS="run_simulator")

    # 3. After translate: the translated programs written and the runs queued.
    wait_until(lambda: queued(stack, "simulator-runs") >= 3, 30, "translated")
    crash_and_restart(LOCAL_DISABLED_FUNCTIONS="record_result")

    # 4. After the run, before the outcome is recorded.
    wait_until(lambda: queued(stack, "job-results") >= 3, 60, "run")
    crash_and_restart()

    # 5. Within a second of the first job becoming Succeeded (the repro: its output was gone after
    # the restart), likely between another job's output write and its state write.
    wait_until(lambda: any(status(api, j) == "Succeeded" for j in held), 30, "Succeeded")
    crash_and_restart()

    # 6. During a PUT: the client does not know whether it was taken, and sends it again after the restart.
    job_id, answer, url = ledger.upload()
    time.sleep(6)  # Azurite saves the upload (every 5 s): the input must then survive the kill during the PUT
    attempt = threading.Thread(target=_put_quietly, args=(ledger, job_id, answer, url))
    attempt.start()
    time.sleep(0.02)
    crash_and_restart()
    attempt.join()
    assert ledger.put(job_id, answer, url), "the saved upload is taken, whether the first PUT got in or not"

    # 7. During translate and run: killed as soon as one of the new jobs is Executing.
    flowing = ledger.submit(3)
    wait_until(lambda: any(status(api, j) != "Waiting" for j in flowing), 30, "Executing")
    crash_and_restart()

    # 8. During event delivery: killed as soon as the receiver has an event of the new jobs.
    delivering = ledger.submit(3)
    wait_until(lambda: any(receiver.events(j)[1:] for j in delivering), 30, "delivered")
    crash_and_restart()

    tally = audit(ledger, receiver, kills)
    assert tally.problems == [], tally.line()
    assert tally.jobs + tally.refused == 11, "each PUT was acknowledged, or refused as its upload was lost (step 1)"


def _put_quietly(ledger: Ledger, job_id: str, answer: int, url: str) -> None:
    """A PUT the kill may cut off."""
    try:
        ledger.put(job_id, answer, url)
    except requests.ConnectionError:
        return

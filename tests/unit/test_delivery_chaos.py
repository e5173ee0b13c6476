"""Delivery chaos: the pipeline under duplicated, reordered, late and crashing deliveries, cancels and re-drives.

Service Bus delivers at least once and in no particular order; a function may crash after some of its
writes; a user may cancel at any moment; the sweeper re-drives a stuck job with a new attempt while the
original attempt's messages are still on their way. This test replays all of that, from a seeded
random.Random, against the services over the in-memory fakes, and then checks what must hold whatever
the order: no illegal transition, every job final, each Succeeded job with exactly its own output
recorded once, no output served for a Cancelled or Failed job, no job twice, every status change
published as an event.

The scheduler:
- every message a service sends (taken from FakeSender after each step) goes into a pool of messages
  in flight, and into an archive of everything ever sent;
- a message may be put in the pool twice (duplicate), or held back for hundreds to thousands of steps
  (late: it arrives after later steps of its job, after a cancel, after a re-drive's new attempt);
- each step picks a random due message from the pool (reordering), and may leave it in the pool after
  delivering it (a lost lock: delivered again); between deliveries come new submissions, replayed PUTs,
  cancels, sweeps with the clock moved past the deadlines, replays of any archived message, and deletes of
  final jobs whose id is then used again for a new job with another program (the old job's late messages
  must not touch it);
- a delivery that raises is abandoned and delivered again later, up to Service Bus's
  max delivery count (10), then dead-lettered, as the host does; a message may also be dead-lettered at once
  (its deliveries all cut short by crashes); a dead letter goes to the re-drive trigger
  (`sweep.redrive_dead_letter`), itself delivered late, twice, or again after a failure;
- just before a job store write, the write may "crash" (a transient error: the function dies after its
  earlier writes, the message is delivered again) or a concurrent writer may get in first: a cancel,
  another delivery of one of the job's messages, a sweep (a re-drive racing the original), or, before a
  create, the same PUT.

A failure names its seed: rerun with `QJOBS_CHAOS_SEED=<seed>`.
"""

from __future__ import annotations

import heapq
import json
import os
import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import pairwise

import pytest
from pydantic import JsonValue

from shared.domain.catalog import Route, TargetSpec, quota_periods
from shared.domain.errors import (
    DependencyError,
    InputNotFoundError,
    NotCancellableError,
    NotFoundError,
    TransientJobError,
    UnsupportedProgramError,
)
from shared.domain.jobs import ACTIVE, ALLOWED_TRANSITIONS, TERMINAL, Job, JobStatus
from shared.domain.messages import JOB_RESULTS_QUEUE, SIMULATOR_QUEUE, JobOutcome, Message, RunJob, TranslateJob
from shared.domain.query import JobQuery
from shared.domain.storage import OUTPUT_BLOB, TRANSLATED_BLOB, job_container, sha256
from shared.ports import ProviderOutput
from shared.programs.translate import QiskitPrograms
from shared.services import execute, manage, sweep
from shared.services.pipeline import Pipeline
from shared.services.submit import JobSubmission, submit_job
from tests.fakes import (
    BASE,
    FakeArtifacts,
    FakeClock,
    FakeJobStore,
    FakePublisher,
    FakeSender,
    make_pipeline,
    with_events,
)

SEEDS = (20260101,)  # more: QJOBS_CHAOS_SEED=<n>
DELIVERIES = 10_000  # per seed, before the final drain
JOBS = 1800
MAX_DELIVERY_COUNT = 10  # infra/modules/servicebus.bicep
INLINE_BYTES = 256  # small, so that programs and outputs travel both inline and by claim check

P_DUPLICATE = 0.25  # a message is enqueued twice
P_LATE = 0.12  # a message is held back
LATE_TICKS = (100, 3000)
P_LOST_LOCK = 0.08  # a delivered message stays in the pool and is delivered again
P_CRASH = 0.03  # a job store write fails as if the function died just before it
P_RACE = 0.06  # a concurrent writer gets in just before a job store write
P_PROVIDER_FAILS = 0.04
P_DEAD_LETTER = 0.01  # a message is dead-lettered instead of delivered, as if each of its deliveries was cut
P_SUBMIT = 0.15  # per step, while jobs remain to submit
CLOCK_STEPS = (1.0, 20.0, 61.0, 61.0, 601.0)  # seconds; the deadlines are 60 s Waiting, 600 s Executing


def _seeds() -> tuple[int, ...]:
    chosen = os.environ.get("QJOBS_CHAOS_SEED")
    return (int(chosen),) if chosen else SEEDS


@dataclass
class InFlight:
    """A message in a queue: due at a tick, and how often it was delivered and abandoned."""

    queue: str
    message: Message
    due: int
    delivery_count: int = 0
    dead_letter: bool = False  # on the queue's dead-letter subqueue: for the re-drive trigger


class ChaosBackend:
    """A provider whose every run gives a distinct output, naming the program and shots, and sometimes fails.

    `outputs` keeps every output it gave per (sha256 of the program it ran, shots): those are the only
    outputs a job may end with.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.runs = 0
        self.outputs: dict[tuple[str, int], list[bytes]] = {}

    def run(
        self, target: TargetSpec, route: Route, program: bytes, shots: int, params: Mapping[str, JsonValue]
    ) -> ProviderOutput:
        self.runs += 1
        if self.rng.random() < P_PROVIDER_FAILS:
            raise UnsupportedProgramError(f"the provider failed run {self.runs} (chaos)")
        key = (sha256(program), shots)
        body: dict[str, JsonValue] = {"histogram": {"0": 1.0}, "program": key[0], "shots": shots, "run": self.runs}
        if shots % 2:
            body["padding"] = "x" * (INLINE_BYTES + 1)  # over the inline limit: the outcome carries a claim check
        data = json.dumps(body).encode()
        self.outputs.setdefault(key, []).append(data)
        return ProviderOutput(data=data, usage={"shots": float(shots)})


def history_violations(job: Job) -> list[str]:
    """What is wrong with a job's history: it starts Waiting, each change is allowed, nothing follows a final one.

    An entry with the status it came from is a note (a re-drive), not a transition.
    """
    found: list[str] = []
    first = job.history[0]
    if first.status is not JobStatus.WAITING or first.previous_status is not None:
        found.append(f"job {job.id} starts as {first.status} from {first.previous_status}")
    for before, entry in pairwise(job.history):
        if entry.previous_status is not before.status:
            found.append(
                f"job {job.id}: entry {entry.status} says it came from {entry.previous_status}, not {before.status}"
            )
        if before.status in TERMINAL:
            found.append(f"job {job.id} moved out of final {before.status} to {entry.status} ({entry.cause})")
        elif entry.status is not before.status and entry.status not in ALLOWED_TRANSITIONS[before.status]:
            found.append(f"job {job.id}: illegal transition {before.status} -> {entry.status} ({entry.cause})")
    if job.history[-1].status is not job.status:
        found.append(f"job {job.id} is {job.status} but its history ends {job.history[-1].status}")
    return found


def write_violations(old: Job, new: Job) -> list[str]:
    """What a single write of a job must not do: rewrite history, leave a final status, change a recorded output."""
    found = history_violations(new)
    if new.history[: len(old.history)] != old.history:
        found.append(f"job {new.id}: a write rewrote its history")
    if old.is_final and new.history != old.history:
        found.append(f"job {new.id}: a write changed the history of a {old.status} job")
    if old.output_sha256 is not None and new.output_sha256 != old.output_sha256:
        found.append(f"job {new.id}: a write replaced its recorded output {old.output_sha256} by {new.output_sha256}")
    if new.output_sha256 is not None and new.status is not JobStatus.SUCCEEDED:
        found.append(f"job {new.id} is {new.status} with an output recorded")
    if new.redrives < old.redrives:
        found.append(f"job {new.id}: redrives went back from {old.redrives} to {new.redrives}")
    return found


class ChaosJobStore:
    """The fake job store, checking every write, with a hook just before each write where chaos strikes."""

    def __init__(self, inner: FakeJobStore) -> None:
        self.inner = inner
        self.violations: list[str] = []
        self.creates: Counter[str] = Counter()
        self.counted: Counter[tuple[str, str]] = Counter()  # jobs created by provider and quota period
        self.before_write: Callable[[Job, bool], None] = lambda job, create: None

    def create(self, job: Job) -> Job:
        self.before_write(job, True)
        stored = self.inner.create(job)
        self.creates[job.id] += 1
        self.counted.update((job.details.provider_id, period) for period in quota_periods(job.details.creation_time))
        self.violations.extend(history_violations(stored))
        return stored

    def get(self, job_id: str) -> Job | None:
        return self.inner.get(job_id)

    def replace(self, job: Job) -> Job:
        self.before_write(job, False)
        old = self.inner.get(job.id)
        stored = self.inner.replace(job)
        if old is not None:
            self.violations.extend(write_violations(old, stored))
        return stored

    def delete(self, job_id: str) -> bool:
        return self.inner.delete(job_id)

    def query(self, query: JobQuery) -> list[Job]:
        return self.inner.query(query)

    def older_than(self, status: JobStatus, before: datetime, limit: int) -> list[Job]:
        return self.inner.older_than(status, before, limit)

    def count_created(self, provider_id: str, period: str) -> int:
        """As the stores count, kept with each create: no scan of every job at each of thousands of submits."""
        return self.counted[(provider_id, period)]

    def unpublished(self, since: datetime, before: datetime, limit: int) -> list[Job]:
        return self.inner.unpublished(since, before, limit)


class ChaosArtifacts(FakeArtifacts):
    """The fake blob store, counting the writes of each job's output blob."""

    def __init__(self) -> None:
        super().__init__()
        self.output_writes: Counter[str] = Counter()

    def put(self, container: str, blob: str, data: bytes, content_type: str, *, overwrite: bool = True) -> bool:
        written = super().put(container, blob, data, content_type, overwrite=overwrite)
        if written and blob == OUTPUT_BLOB:
            self.output_writes[container] += 1
        return written

    def delete_container(self, container: str) -> None:
        super().delete_container(container)
        self.output_writes.pop(container, None)


class RememberingPrograms(QiskitPrograms):
    """The programs, remembering each translation: the final check translates every job's input again."""

    def __init__(self) -> None:
        super().__init__()
        self.translations: dict[tuple[bytes, str, str], bytes] = {}

    def translate(self, data: bytes, input_format: str, output_format: str) -> bytes:
        key = (data, input_format, output_format)
        if key not in self.translations:
            self.translations[key] = super().translate(data, input_format, output_format)
        return self.translations[key]


def program(rng: random.Random) -> bytes:
    """A small random circuit in IonQ's JSON format; its size straddles the inline limit."""
    qubits = rng.randint(1, 4)
    gates: list[dict[str, JsonValue]] = []
    for _ in range(rng.randint(1, 8)):
        if qubits > 1 and rng.random() < 0.3:
            control, target = rng.sample(range(qubits), 2)
            gates.append({"gate": "x", "targets": [target], "controls": [control]})
        else:
            gates.append({"gate": rng.choice(("h", "x", "z")), "targets": [rng.randrange(qubits)]})
    return json.dumps({"qubits": qubits, "circuit": gates}).encode()


def submission(job_id: str, shots: int) -> JobSubmission:
    return JobSubmission.model_validate(
        {
            "name": job_id,
            "providerId": "ionq",
            "target": "ionq.simulator",
            "containerUri": f"{BASE}/job-{job_id}",
            "inputDataUri": f"{BASE}/job-{job_id}/inputData",
            "inputDataFormat": "ionq.circuit.v1",
            "inputParams": {"shots": shots},
            "outputDataFormat": "ionq.quantum-results.v1",
        }
    )


@dataclass
class Chaos:
    seed: int
    rng: random.Random
    p: Pipeline
    store: ChaosJobStore
    artifacts: ChaosArtifacts
    sender: FakeSender
    clock: FakeClock
    publisher: FakePublisher
    backend: ChaosBackend
    ready: list[InFlight] = field(default_factory=list)  # deliverable now, in no order
    held: list[tuple[int, int, InFlight]] = field(default_factory=list)  # a heap by due tick
    archive: list[tuple[str, Message]] = field(default_factory=list)
    sent_by_job: dict[str, list[tuple[str, Message]]] = field(default_factory=dict)
    submissions: dict[str, JobSubmission] = field(default_factory=dict)
    waiting: list[str] = field(default_factory=list)  # to submit, in order
    submitted: list[str] = field(default_factory=list)
    recreations: Counter[str] = field(default_factory=Counter)
    tick: int = 0
    enqueued: int = 0
    deliveries: int = 0
    armed: bool = False
    stats: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, seed: int) -> Chaos:
        rng = random.Random(seed)  # noqa: S311 - a reproducible schedule, not a secret
        store = ChaosJobStore(FakeJobStore())
        artifacts = ChaosArtifacts()
        publisher = FakePublisher()
        base = make_pipeline(inline_message_bytes=INLINE_BYTES)
        p = with_events(replace(base, jobs=store, artifacts=artifacts, programs=RememberingPrograms()), publisher)
        assert isinstance(p.sender, FakeSender) and isinstance(p.clock, FakeClock)
        chaos = cls(seed, rng, p, store, artifacts, p.sender, p.clock, publisher, ChaosBackend(rng))
        store.before_write = chaos.before_write
        return chaos

    # The queues.

    def collect(self) -> None:
        """Put what the services sent into the pool: some twice, some held back to arrive late."""
        for queue, message in self.sender.take():
            self.archive.append((queue, message))
            self.sent_by_job.setdefault(message.job_id, []).append((queue, message))
            copies = 2 if self.rng.random() < P_DUPLICATE else 1
            self.stats["duplicated"] += copies - 1
            for _ in range(copies):
                late = self.rng.random() < P_LATE
                self.stats["held back"] += late
                due = self.tick + (self.rng.randint(*LATE_TICKS) if late else 0)
                self.enqueue(InFlight(queue, message, due))

    def enqueue(self, item: InFlight) -> None:
        if item.due <= self.tick:
            self.ready.append(item)
        else:
            self.enqueued += 1
            heapq.heappush(self.held, (item.due, self.enqueued, item))

    def release(self, everything: bool = False) -> None:
        """Make the held messages whose time has come deliverable (all of them, to drain)."""
        while self.held and (everything or self.held[0][0] <= self.tick):
            self.ready.append(heapq.heappop(self.held)[2])

    def take(self, index: int) -> InFlight:
        item = self.ready[index]
        self.ready[index] = self.ready[-1]
        self.ready.pop()
        return item

    @property
    def in_flight(self) -> int:
        return len(self.ready) + len(self.held)

    def deliver(self, item: InFlight) -> None:
        """Run the message's function; on an error abandon it (delivered again later, then dead-lettered)."""
        self.deliveries += 1
        message = item.message
        self._observe(message)
        if self.armed and not item.dead_letter and self.rng.random() < P_DEAD_LETTER:
            self.dead_letter(item)
            return
        try:
            if item.dead_letter:
                self.stats["dead letter delivered"] += 1
                sweep.redrive_dead_letter(self.p, message, item.queue, "MaxDeliveryCountExceeded")
            elif isinstance(message, TranslateJob):
                execute.translate_job(self.p, message)
            elif isinstance(message, RunJob):
                assert item.queue == SIMULATOR_QUEUE
                execute.run_job(self.p, self.backend, message)
            else:
                assert item.queue == JOB_RESULTS_QUEUE and isinstance(message, JobOutcome)
                execute.record_outcome(self.p, message)
        except TransientJobError:
            self.stats["abandoned (transient)"] += 1
            self.abandon(item)
        except Exception as error:  # the host abandons on any error; an unexpected one is a finding
            self.violations.append(f"delivering {message.message_id()} raised {type(error).__name__}: {error}")
            self.abandon(item)
        else:
            if self.armed and self.rng.random() < P_LOST_LOCK:
                self.stats["lost lock, delivered again"] += 1
                self.enqueue(InFlight(item.queue, message, self.tick + self.rng.randint(1, 50)))
        self.collect()

    def _observe(self, message: Message) -> None:
        """Count the deliveries the test is about, so that it shows they happened."""
        job = self.p.jobs.get(message.job_id)
        if job is None:
            return
        if job.is_final:
            self.stats[f"{type(message).__name__} after {job.status}"] += 1
        if message.attempt < job.redrives:
            self.stats["delivered after a re-drive made a new attempt"] += 1

    def abandon(self, item: InFlight) -> None:
        item.delivery_count += 1
        if item.delivery_count >= MAX_DELIVERY_COUNT and not item.dead_letter:  # a dead letter stays
            self.dead_letter(item)
            return
        item.due = self.tick + self.rng.randint(1, 30)
        self.enqueue(item)

    def dead_letter(self, item: InFlight) -> None:
        self.stats["dead-lettered"] += 1
        for _ in range(2 if self.rng.random() < P_DUPLICATE else 1):
            self.enqueue(InFlight(item.queue, item.message, self.tick + self.rng.randint(1, 300), dead_letter=True))

    # What else happens meanwhile.

    def submit(self, job_id: str) -> bool:
        """PUT the job; False when it failed as a client sees a 503, and the client should try again."""
        try:
            submit_job(self.p, job_id, self.submissions[job_id], cause="chaos")
        except TransientJobError:
            self.stats["submit failed (transient)"] += 1
            return False
        except Exception as error:  # an unexpected error is a finding
            self.violations.append(f"submitting {job_id} raised {type(error).__name__}: {error}")
            return True  # the client gives up
        finally:
            self.collect()
        return True

    def cancel(self, job_id: str) -> None:
        try:
            manage.cancel_job(self.p, job_id)
            self.stats["cancelled"] += 1
        except NotCancellableError:
            self.stats["cancel refused (final)"] += 1
        except NotFoundError:
            self.stats["cancel refused (deleted)"] += 1
        except TransientJobError:
            self.stats["cancel failed (transient)"] += 1
        except Exception as error:  # an unexpected error is a finding
            self.violations.append(f"cancelling {job_id} raised {type(error).__name__}: {error}")
        self.collect()

    def sweep(self, seconds: float) -> None:
        self.clock.advance(seconds)
        try:
            report = sweep.sweep_stuck_jobs(self.p)
            self.stats["re-driven"] += report.redriven
            self.stats["timed out"] += report.failed
        except TransientJobError:
            self.stats["sweep failed (transient)"] += 1
        except Exception as error:  # an unexpected error is a finding
            self.violations.append(f"sweeping raised {type(error).__name__}: {error}")
        self.collect()

    def before_write(self, job: Job, create: bool) -> None:
        """Chaos just before a job store write: a crash, or a concurrent writer that gets in first."""
        if not self.armed:
            return
        roll = self.rng.random()
        if roll < P_CRASH:
            self.stats["crashed before a write"] += 1
            raise DependencyError("The function crashed before its write (chaos).")
        if roll >= P_CRASH + P_RACE:
            return
        self.armed = False
        try:
            self.race(job.id, create)
        finally:
            self.armed = True

    def race(self, job_id: str, create: bool) -> None:
        self.stats["raced"] += 1
        if create:
            self.submit(job_id)
            return
        choice = self.rng.random()
        if choice < 0.3:
            self.cancel(job_id)
            return
        if choice < 0.4:
            self.sweep(self.rng.choice(CLOCK_STEPS))
            return
        sent = self.sent_by_job.get(job_id)
        if sent:  # another consumer has one of the job's messages (a copy of one in flight, or a late one)
            self.deliver(InFlight(*self.rng.choice(sent), due=self.tick))

    # The run.

    def run(self) -> None:
        ids = [f"chaos-{n:04d}" for n in range(JOBS)]
        for n, job_id in enumerate(ids):
            self.p.artifacts.put(job_container(job_id), "inputData", program(self.rng), "application/json")
            self.submissions[job_id] = submission(job_id, shots=100 + n)
        waiting = self.waiting = list(ids)
        submitted = self.submitted
        self.armed = True
        while self.deliveries < DELIVERIES:
            self.tick += 1
            self.release()
            roll = self.rng.random()
            if waiting and (roll < P_SUBMIT or not self.ready):
                if self.submit(waiting[0]):
                    submitted.append(waiting.pop(0))
            elif roll < 0.16 and submitted:
                self.stats["replayed PUT"] += 1
                self.submit(self.rng.choice(submitted))
            elif roll < 0.18 and submitted:
                self.cancel(self.some_active(submitted))
            elif roll < 0.182:
                self.sweep(self.rng.choice(CLOCK_STEPS))
            elif roll < 0.185 and submitted:
                self.recreate(self.rng.choice(submitted))
            elif (roll < 0.193 or (not self.in_flight and not waiting)) and self.archive:
                self.stats["replayed from the archive"] += 1
                self.deliver(InFlight(*self.rng.choice(self.archive), due=self.tick))
            elif self.ready:
                self.deliver(self.take(self.rng.randrange(len(self.ready))))
            elif self.held:
                self.tick = self.held[0][0] - 1  # nothing to do until the next late message is due
        self.armed = False
        for job_id in waiting:
            if not self.submit(job_id):
                self.violations.append(f"submitting {job_id} failed without chaos")
        self.drain()

    def recreate(self, job_id: str) -> None:
        """DELETE a final job and PUT a new one under its id, with another program: the old messages are not its."""
        job = self.store.inner.docs.get(job_id)
        if job is None or not job.is_final:
            return
        manage.delete_job(self.p, job_id)
        self.recreations[job_id] += 1
        self.stats["deleted and created again"] += 1
        shots = 100 + JOBS + sum(self.recreations.values())
        self.p.artifacts.put(job_container(job_id), "inputData", program(self.rng), "application/json")
        self.submissions[job_id] = submission(job_id, shots)
        if not self.submit(job_id):
            self.waiting.insert(0, job_id)

    def some_active(self, submitted: list[str]) -> str:
        """A random submitted job, an active one if a few tries find one."""
        for _ in range(5):
            job_id = self.rng.choice(submitted)
            job = self.store.inner.docs.get(job_id)
            if job is not None and job.status in ACTIVE:
                break
        return job_id

    def drain(self) -> None:
        """Deliver everything still in flight, late ones included; sweep until no job is active."""
        for _ in range(10):
            while self.in_flight:
                self.release(everything=True)
                self.deliver(self.take(self.rng.randrange(len(self.ready))))
            if not any(job.status in ACTIVE for job in self.store.inner.docs.values()):
                break
            self.sweep(601)
        self.sweep(601)  # past the events' grace: the sweeper republishes what a crash left pending

    def replay_everything(self) -> None:
        """Deliver every message ever sent once more, and once as a dead letter, in a random order, after every job
        is final."""
        late = [(queue, message, dead) for queue, message in self.archive for dead in (False, True)]
        self.rng.shuffle(late)
        for queue, message, dead in late:
            self.deliver(InFlight(queue, message, due=self.tick, dead_letter=dead))


def final_violations(chaos: Chaos) -> list[str]:
    """The invariants over the end state."""
    p, found = chaos.p, list(chaos.violations) + chaos.store.violations
    jobs = chaos.store.inner.docs
    listed = [job.id for job in p.jobs.query(JobQuery(top=10 * JOBS))]
    if len(listed) != len(set(listed)) or sorted(listed) != sorted(chaos.submissions):
        found.append(f"the store lists {len(listed)} jobs ({len(set(listed))} distinct) for {JOBS} submitted")
    found.extend(
        f"job {j} was created {n} times, deleted {chaos.recreations[j]}"
        for j, n in chaos.store.creates.items()
        if n != 1 + chaos.recreations[j]
    )
    found.extend(
        f"job {j}'s output blob was written {n} times" for j, n in chaos.artifacts.output_writes.items() if n > 1
    )
    for job in jobs.values():
        found.extend(history_violations(job))
        if job.status in ACTIVE:
            found.append(f"job {job.id} is stuck {job.status}: {[h.cause for h in job.history]}")
        elif job.status is JobStatus.SUCCEEDED:
            found.extend(_output_violations(chaos, job))
        else:
            if job.output_sha256 is not None:
                found.append(f"job {job.id} is {job.status} with an output recorded")
            try:
                manage.job_blob(p, job.id, "output")
                found.append(f"job {job.id} is {job.status} but its output is served")
            except (NotFoundError, InputNotFoundError):
                pass
    found.extend(_event_violations(chaos))
    return found


def _output_violations(chaos: Chaos, job: Job) -> list[str]:
    container = job_container(job.id)
    blob = chaos.artifacts.blobs.get((container, OUTPUT_BLOB))
    if blob is None:
        return [f"job {job.id} Succeeded without an output blob"]
    found: list[str] = []
    if job.output_sha256 != sha256(blob):
        found.append(f"job {job.id}: the stored output is not the one recorded")
    fmt = job.details.input_data_format
    provider_format = chaos.p.catalog.target(job.details.provider_id, job.details.target).route_for(fmt).provider_format
    own, _ = manage.job_blob(chaos.p, job.id, "input")
    translated = chaos.p.programs.translate(own, fmt, provider_format)
    staged = chaos.artifacts.blobs.get((container, TRANSLATED_BLOB))  # only when too large for the message
    if staged is not None and staged != translated:
        found.append(f"job {job.id}: its translated input is not the translation of its own input")
    if blob not in chaos.backend.outputs.get((sha256(translated), chaos.p.shots(job)), []):
        found.append(f"job {job.id}: its output {blob[:120]!r} is not an output of its own program and shots")
    served, _ = manage.job_blob(chaos.p, job.id, "output")
    if served != blob:
        found.append(f"job {job.id}: the output served is not the output stored")
    if job.details.usage != {"shots": float(chaos.p.shots(job))}:
        found.append(f"job {job.id}: usage {job.details.usage} is not its own run's")
    return found


def _event_violations(chaos: Chaos) -> list[str]:
    """Every status change was published (at least once), and every event tells a change that is in the history."""
    found: list[str] = []
    jobs = chaos.store.inner.docs
    # The events of the jobs as they are now: not those of a deleted job whose id was used again.
    events = [e for e in chaos.publisher.events if e.data.time >= jobs[e.job_id].details.creation_time]
    published = {(event.job_id, event.sequence) for event in events}
    for event in events:
        history = jobs[event.job_id].history
        if event.sequence >= len(history):
            found.append(f"event {event.id} tells of change #{event.sequence}; the history has {len(history)}")
            continue
        entry = history[event.sequence]
        if (entry.status, entry.previous_status) != (event.data.status, event.data.previous_status):
            found.append(f"event {event.id} says {event.data.status}; the history says {entry.status}")
    for job in jobs.values():
        for sequence, entry in enumerate(job.history):
            if entry.status is not entry.previous_status and (job.id, sequence) not in published:
                found.append(f"job {job.id}: the change to {entry.status} (#{sequence}) was never published")
    return found


def snapshot(chaos: Chaos) -> tuple[dict[str, Job], dict[tuple[str, str], bytes]]:
    return dict(chaos.store.inner.docs), dict(chaos.artifacts.blobs)


@pytest.mark.parametrize("seed", _seeds())
def test_randomized_duplicate_reordered_and_late_deliveries_break_no_job(seed: int) -> None:
    chaos = Chaos.start(seed)
    chaos.run()
    found = final_violations(chaos)
    statuses = Counter(str(job.status) for job in chaos.store.inner.docs.values())
    stray = sum(
        1
        for job in chaos.store.inner.docs.values()
        if job.status is not JobStatus.SUCCEEDED and (job_container(job.id), OUTPUT_BLOB) in chaos.artifacts.blobs
    )
    summary = (
        f"seed {seed} (rerun: QJOBS_CHAOS_SEED={seed}): {chaos.deliveries} deliveries, statuses {dict(statuses)}, "
        f"{stray} unserved output blobs of unsucceeded jobs, {dict(chaos.stats)}"
    )
    assert not found, f"{summary}\n{len(found)} violations, the first:\n" + "\n".join(found[:25])

    # Every message ever sent, delivered once more after every job is final, changes nothing.
    before = snapshot(chaos)
    chaos.replay_everything()
    assert not chaos.violations and not chaos.store.violations, f"{summary}\n{chaos.violations[:25]}"
    assert snapshot(chaos) == before, f"{summary}: a delivery after every job was final changed a job or a blob"
    assert not chaos.in_flight, f"{summary}: a delivery after every job was final sent a message"

    # The schedule did what the test is about; otherwise it proves nothing.
    assert chaos.deliveries >= DELIVERIES, summary
    assert all(statuses[s] > 0 for s in ("Succeeded", "Cancelled", "Failed")), summary
    for happened in (
        "duplicated",
        "held back",
        "lost lock, delivered again",
        "crashed before a write",
        "raced",
        "re-driven",
        "dead-lettered",
        "dead letter delivered",
        "JobOutcome after Cancelled",
        "RunJob after Cancelled",
        "delivered after a re-drive made a new attempt",
        "replayed PUT",
        "deleted and created again",
    ):
        assert chaos.stats[happened] > 0, f"{summary}: no '{happened}'"

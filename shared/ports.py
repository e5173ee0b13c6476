"""The ports the services depend on. Adapters implement them; only bootstrap picks which."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import JsonValue

from shared.domain.analog import AnalogProgram
from shared.domain.catalog import Route, TargetSpec
from shared.domain.errors import Diagnostic
from shared.domain.events import JobEvent
from shared.domain.jobs import Job, JobStatus, ProgramSize
from shared.domain.messages import Message
from shared.domain.query import JobQuery
from shared.domain.sessions import Session


class Clock(Protocol):
    def now(self) -> datetime: ...


class JobStore(Protocol):
    """Jobs by id, with optimistic concurrency on the store's etag."""

    def create(self, job: Job) -> Job:
        """Insert a new job; raise JobExistsError when the id is taken. Returns it with its etag."""
        ...

    def get(self, job_id: str) -> Job | None: ...

    def replace(self, job: Job) -> Job:
        """Write `job` if the stored etag still equals `job.etag`, else raise StaleWriteError."""
        ...

    def delete(self, job_id: str) -> bool: ...

    def query(self, query: JobQuery) -> list[Job]:
        """One page: at most `query.top` jobs past `query.after` (by key, through an index) after skipping
        `query.skip`, in `query.orderby` order, ties broken by creation time then id (`sort_key`)."""
        ...

    def older_than(self, status: JobStatus, before: datetime, limit: int) -> list[Job]:
        """Jobs in `status` whose last update is before `before`, oldest first."""
        ...

    def count_created(self, provider_id: str, period: str) -> int:
        """Jobs for the provider created in a quota period (`QuotaSpec.period_key`): a counter the store keeps
        with every insert and delete (`quota_periods`), so that this is one read however many jobs there are."""
        ...

    def unpublished(self, since: datetime, before: datetime, limit: int) -> list[Job]:
        """Jobs with status changes whose events are not yet published, last updated in [since, before)."""
        ...


class SessionStore(Protocol):
    """Sessions by id, with optimistic concurrency on the store's etag, like JobStore."""

    def create(self, session: Session) -> Session:
        """Insert a new session; raise SessionExistsError when the id is taken."""
        ...

    def get(self, session_id: str) -> Session | None: ...

    def replace(self, session: Session) -> Session:
        """Write `session` if the stored etag still equals `session.etag`, else raise StaleWriteError."""
        ...

    def query(self, query: JobQuery) -> list[Session]: ...

    def idle(self, before: datetime, limit: int) -> list[Session]:
        """Sessions not yet final whose last job came before `before`, oldest first."""
        ...


class ArtifactStore(Protocol):
    """Blob storage: the per-job containers and the programs drop container."""

    def ensure_container(self, container: str) -> None: ...

    def put(self, container: str, blob: str, data: bytes, content_type: str, *, overwrite: bool = True) -> bool:
        """Write a blob; with overwrite=False an existing blob is kept and False is returned."""
        ...

    def get(self, container: str, blob: str, *, max_bytes: int) -> bytes:
        """Read a blob; raise InputNotFoundError if absent, InputTooLargeError past max_bytes."""
        ...

    def retain(self, container: str, blob: str, data: bytes, content_type: str) -> None:
        """Keep a blob the service accepted but did not write (a client's upload) as durably as its own writes:
        nothing to do where storage is durable once it acknowledges, as Blob storage is."""
        ...

    def delete_container(self, container: str) -> None: ...

    def blob_url(self, container: str, blob: str) -> str: ...

    def container_url(self, container: str) -> str: ...

    def locate(self, url: str) -> tuple[str, str] | None:
        """(container, blob) for a blob URL of this account, None for anything else."""
        ...

    def sas_token(self, container: str, blob: str | None, permissions: str, ttl: timedelta) -> str:
        """A SAS query string for the container (blob None) or for one blob in it, granting exactly
        `permissions` (Blob storage's letters: r read, c create, w write, l list) for `ttl`."""
        ...


class MessageSender(Protocol):
    def send(self, queue: str, message: Message) -> None:
        """Durably enqueue; a repeat of the same message id is dropped by duplicate detection."""
        ...


class EventPublisher(Protocol):
    def publish(self, events: Sequence[JobEvent]) -> None:
        """Durably hand the events, in order, to the event transport; raise a TransientJobError if it fails."""
        ...


@dataclass(frozen=True)
class ProviderOutput:
    data: bytes
    usage: dict[str, float]


class ProviderBackend(Protocol):
    """Runs a translated program on a target and returns the output in the target's format."""

    def run(
        self, target: TargetSpec, route: Route, program: bytes, shots: int, params: Mapping[str, JsonValue]
    ) -> ProviderOutput: ...


@dataclass(frozen=True)
class ProgramInfo:
    """Size of a validated program: qubits, classical result bits and gate applications."""

    num_qubits: int
    num_clbits: int
    gate_count: int
    # What pricing counts, and whether a stabilizer simulation can run it; not part of a summary's identity.
    size: ProgramSize = field(default_factory=ProgramSize, compare=False)
    clifford: bool = field(default=False, compare=False)
    # The QIR profile the program needs: "adaptive" when it reads results back or branches on them.
    profile: str = field(default="base", compare=False)
    # A neutral-atom program's atoms and pulses, for a target to check against its device (`domain.analog`).
    analog: AnalogProgram | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Sniffed:
    """What a program that came without a format looks like: its kind ("json", "qasm2", ...) and the formats
    of that kind, the one to prefer first."""

    kind: str
    formats: tuple[str, ...]


class Programs(Protocol):
    """Quantum programs in the formats the service knows. A format name it does not know raises
    UnsupportedFormatError; a program that is not valid, an InvalidProgramError with its findings."""

    def inspect(self, data: bytes, input_format: str, max_qubits: int) -> ProgramInfo:
        """Validate the program fully and summarise it; a text program using more than `max_qubits`
        qubits is refused before its circuit is built."""
        ...

    def translate(self, data: bytes, input_format: str, output_format: str) -> bytes:
        """The program in `output_format`, which the provider runs."""
        ...

    def content_type(self, data_format: str) -> str:
        """The Content-Type a program in this format is stored with."""
        ...

    def sniff(self, name: str, data: bytes) -> Sniffed | None:
        """What a dropped program's name and first bytes say it is; None when they say nothing."""
        ...

    def qubit_limit_diagnostic(self, data: bytes, input_format: str, used: int, limit: int) -> Diagnostic:
        """The finding for a valid program using `used` qubits where `limit` are available, at the
        declaration that takes it past the limit when the format has positions."""
        ...

"""The ports the services depend on. Adapters implement them; only bootstrap picks which."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import JsonValue

from shared.domain.catalog import Route, TargetSpec
from shared.domain.events import JobEvent
from shared.domain.jobs import Job, JobStatus
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
        """One page: at most `query.top` jobs after skipping `query.skip`, in `query.orderby` order."""
        ...

    def older_than(self, status: JobStatus, before: datetime, limit: int) -> list[Job]:
        """Jobs in `status` whose last update is before `before`, oldest first."""
        ...

    def count_created_since(self, provider_id: str, since: datetime) -> int: ...

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

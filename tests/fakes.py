"""In-memory stand-ins for the ports, for fast unit tests of the services (beside the real adapters)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from urllib.parse import unquote

from pydantic import JsonValue

from shared.domain.catalog import Route, TargetSpec, load_catalog, quota_periods
from shared.domain.errors import (
    DependencyError,
    InputNotFoundError,
    InputTooLargeError,
    JobExistsError,
    PermanentJobError,
    SessionExistsError,
    StaleWriteError,
)
from shared.domain.events import JobEvent
from shared.domain.jobs import Job, JobDetails, JobStatus
from shared.domain.messages import Message
from shared.domain.query import AllOf, Compare, Expr, JobQuery, Not, Op, QueryField, StartsWith, sort_key
from shared.domain.sessions import Session, SessionDetails
from shared.ports import ProviderOutput
from shared.programs.translate import QiskitPrograms
from shared.services.notify import PublishingJobStore
from shared.services.pipeline import Limits, Pipeline

BASE = "http://blobs.test/acct"
T = TypeVar("T")


class FakeClock:
    def __init__(self) -> None:
        self.moment = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        self.moment += timedelta(milliseconds=1)
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


_WIRE_NAMES = {
    QueryField.NAME: "name",
    QueryField.ITEM_TYPE: "itemType",
    QueryField.JOB_TYPE: "jobType",
    QueryField.PROVIDER_ID: "providerId",
    QueryField.TARGET: "target",
    QueryField.STATE: "status",
    QueryField.SESSION_ID: "sessionId",
}


def matches(expr: Expr, item: Mapping[str, object]) -> bool:
    """The list filter evaluated on an item's wire form (equality and startswith on strings suffice here)."""
    if isinstance(expr, Compare):
        assert expr.op in (Op.EQ, Op.NE), "the fake stores compare strings for equality only"
        value = item.get(_WIRE_NAMES[expr.field]) if expr.field in _WIRE_NAMES else None
        return (value == expr.value) == (expr.op is Op.EQ)
    if isinstance(expr, StartsWith):
        return str(item.get(_WIRE_NAMES[expr.field], "")).startswith(expr.prefix)
    if isinstance(expr, Not):
        return not matches(expr.item, item)
    results = (matches(part, item) for part in expr.items)
    return all(results) if isinstance(expr, AllOf) else any(results)


def listed(items: list[T], query: JobQuery, details: Callable[[T], JobDetails | SessionDetails]) -> list[T]:
    """One page of `items` as the stores answer `query`: filtered, in its order (`sort_key`), past its continuation."""
    field, descending = query.orderby.field, query.orderby.descending

    def key(item: T) -> tuple[str, datetime, str]:
        return sort_key(details(item), field).ordered()

    found = sorted(
        (i for i in items if query.filter is None or matches(query.filter, details(i).to_wire())),
        key=key,
        reverse=descending,
    )
    if query.after is not None:
        after = query.after.key.ordered()
        found = [i for i in found if (key(i) < after if descending else key(i) > after)]
    return found[query.skip : query.skip + query.top]


class FakeJobStore:
    def __init__(self) -> None:
        self.docs: dict[str, Job] = {}
        self.version = 0

    def _tag(self, job: Job) -> Job:
        self.version += 1
        stored = job.model_copy(update={"etag": str(self.version)})
        self.docs[job.id] = stored
        return stored

    def create(self, job: Job) -> Job:
        if job.id in self.docs:
            raise JobExistsError()
        return self._tag(job)

    def get(self, job_id: str) -> Job | None:
        return self.docs.get(job_id)

    def replace(self, job: Job) -> Job:
        if self.docs[job.id].etag != job.etag:
            raise StaleWriteError()
        return self._tag(job)

    def delete(self, job_id: str) -> bool:
        return self.docs.pop(job_id, None) is not None

    def query(self, query: JobQuery) -> list[Job]:
        jobs = [j for j in self.docs.values() if not (query.top_level and j.details.session_id)]
        return listed(jobs, query, lambda j: j.details)

    def older_than(self, status: JobStatus, before: datetime, limit: int) -> list[Job]:
        return [j for j in self.docs.values() if j.status is status and j.details.last_updated_time < before][:limit]

    def count_created(self, provider_id: str, period: str) -> int:
        return sum(
            1
            for j in self.docs.values()
            if j.details.provider_id == provider_id and period in quota_periods(j.details.creation_time)
        )

    def unpublished(self, since: datetime, before: datetime, limit: int) -> list[Job]:
        return [
            j for j in self.docs.values() if j.unpublished_changes() and since <= j.details.last_updated_time < before
        ][:limit]


class FakeSessionStore:
    def __init__(self) -> None:
        self.docs: dict[str, Session] = {}
        self._version = 0

    def _tag(self, session: Session) -> Session:
        self._version += 1
        tagged = session.model_copy(update={"etag": str(self._version)})
        self.docs[session.id] = tagged
        return tagged

    def create(self, session: Session) -> Session:
        if session.id in self.docs:
            raise SessionExistsError(f"Session '{session.id}' already exists.")
        return self._tag(session)

    def get(self, session_id: str) -> Session | None:
        return self.docs.get(session_id)

    def replace(self, session: Session) -> Session:
        if self.docs[session.id].etag != session.etag:
            raise StaleWriteError("stale")
        return self._tag(session)

    def query(self, query: JobQuery) -> list[Session]:
        return listed(list(self.docs.values()), query, lambda s: s.details)

    def idle(self, before: datetime, limit: int) -> list[Session]:
        return [s for s in self.docs.values() if not s.is_final and s.last_activity < before][:limit]


class FakeArtifacts:
    def __init__(self) -> None:
        self.blobs: dict[tuple[str, str], bytes] = {}
        self.containers: set[str] = set()
        self.retained: dict[tuple[str, str], bytes] = {}

    def ensure_container(self, container: str) -> None:
        self.containers.add(container)

    def put(self, container: str, blob: str, data: bytes, content_type: str, *, overwrite: bool = True) -> bool:
        if not overwrite and (container, blob) in self.blobs:
            return False
        self.blobs[(container, blob)] = data
        return True

    def get(self, container: str, blob: str, *, max_bytes: int) -> bytes:
        if (container, blob) not in self.blobs:
            raise InputNotFoundError()
        data = self.blobs[(container, blob)]
        if len(data) > max_bytes:
            raise InputTooLargeError()
        return data

    def retain(self, container: str, blob: str, data: bytes, content_type: str) -> None:
        self.retained[(container, blob)] = data

    def delete_container(self, container: str) -> None:
        self.containers.discard(container)
        self.blobs = {k: v for k, v in self.blobs.items() if k[0] != container}

    def blob_url(self, container: str, blob: str) -> str:
        return f"{BASE}/{container}/{blob}"

    def container_url(self, container: str) -> str:
        return f"{BASE}/{container}"

    def locate(self, url: str) -> tuple[str, str] | None:
        if not url.startswith(BASE + "/"):
            return None
        container, _, blob = unquote(url[len(BASE) + 1 :]).partition("/")  # as the storage SDK decodes it
        return (container, blob) if blob else None

    def sas_token(self, container: str, blob: str | None, permissions: str, ttl: timedelta) -> str:
        resource = "c" if blob is None else f"b:{blob}"
        return f"sr={resource}&sp={permissions}&sig=x"


@dataclass
class FakeSender:
    sent: list[tuple[str, Message]] = field(default_factory=list)

    def send(self, queue: str, message: Message) -> None:
        if all(m.message_id() != message.message_id() or q != queue for q, m in self.sent):
            self.sent.append((queue, message))

    def take(self) -> list[tuple[str, Message]]:
        taken, self.sent = self.sent, []
        return taken


@dataclass
class FakePublisher:
    """Records published events; while `broken`, fails like an unreachable topic."""

    events: list[JobEvent] = field(default_factory=list)
    broken: bool = False

    def publish(self, events: Sequence[JobEvent]) -> None:
        if self.broken:
            raise DependencyError("Event Grid is unreachable (test).")
        self.events.extend(events)


class FakeBackend:
    """Returns a fixed output, or raises the error it is given, like a provider would."""

    def __init__(self, output: bytes = b'{"histogram": {"0": 0.5, "3": 0.5}}') -> None:
        self.output = output
        self.error: PermanentJobError | None = None
        self.runs = 0

    def run(
        self, target: TargetSpec, route: Route, program: bytes, shots: int, params: Mapping[str, JsonValue]
    ) -> ProviderOutput:
        self.runs += 1
        if self.error is not None:
            raise self.error
        return ProviderOutput(data=self.output, usage={"shots": float(shots)})


def with_events(p: Pipeline, publisher: FakePublisher) -> Pipeline:
    """The pipeline with job events published, wired as bootstrap wires it."""
    outbox = PublishingJobStore(p.jobs, publisher, "subscriptions/s/resourceGroups/r/providers/x/workspaces/w", BASE)
    return replace(p, jobs=outbox, outbox=outbox)


def make_pipeline(**limits: object) -> Pipeline:
    defaults: dict[str, object] = {
        "max_input_bytes": 100_000,
        "inline_message_bytes": 10_000,
        "waiting_deadline": timedelta(seconds=60),
        "executing_deadline": timedelta(seconds=600),
        "max_redrives": 2,
        "sas_ttl": timedelta(minutes=30),
    }
    defaults.update(limits)
    return Pipeline(
        jobs=FakeJobStore(),
        sessions=FakeSessionStore(),
        artifacts=FakeArtifacts(),
        sender=FakeSender(),
        clock=FakeClock(),
        catalog=load_catalog(),
        limits=Limits(**defaults),  # type: ignore[arg-type]
        programs=QiskitPrograms(),
    )

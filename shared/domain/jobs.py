"""The job: Azure Quantum's JobDetails plus the history of its state changes, and the state machine."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic.alias_generators import to_camel

from shared.domain.callers import Caller, CallerKind
from shared.domain.errors import InvalidTransitionError
from shared.domain.ids import ProviderId, TargetId


class JobStatus(StrEnum):
    WAITING = "Waiting"
    EXECUTING = "Executing"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


TERMINAL: frozenset[JobStatus] = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})
ACTIVE: frozenset[JobStatus] = frozenset({JobStatus.WAITING, JobStatus.EXECUTING})
ALLOWED_TRANSITIONS: Mapping[JobStatus, frozenset[JobStatus]] = {
    JobStatus.WAITING: frozenset({JobStatus.EXECUTING, JobStatus.CANCELLED, JobStatus.FAILED}),
    JobStatus.EXECUTING: frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}


class WireModel(BaseModel):
    """A model whose JSON names are Azure Quantum's camelCase names."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    def to_wire(self) -> dict[str, JsonValue]:
        return self.model_dump(mode="json", by_alias=True)


class ErrorData(WireModel):
    code: str
    message: str
    target: str | None = None
    details: tuple[ErrorData, ...] = ()


class CostEvent(WireModel):
    dimension_id: str
    dimension_name: str
    measure_unit: str
    amount_billed: float
    amount_consumed: float
    unit_price: float


class CostEstimate(WireModel):
    currency_code: str = "USD"
    events: tuple[CostEvent, ...] = ()
    estimated_total: float = 0.0


Priority = Literal["Standard", "High"]


class ItemRequest(BaseModel):
    """What creating a job or a session takes alike, by the SDK's camelCase names; read-only fields are ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")

    name: str | None = Field(None, max_length=256)
    provider_id: ProviderId
    target: TargetId
    priority: Priority | None = None
    tags: tuple[str, ...] | None = Field(None, max_length=50)


class JobDetails(WireModel):
    """JobDetails exactly as the Azure Quantum data plane returns it."""

    id: str
    name: str
    provider_id: str
    target: str
    item_type: Literal["Job"] = "Job"
    job_type: Literal["QuantumComputing"] = "QuantumComputing"
    session_id: str | None = None
    container_uri: str
    input_data_uri: str
    input_data_format: str
    input_params: dict[str, JsonValue] = Field(default_factory=dict)
    metadata: dict[str, JsonValue] | None = None
    output_data_uri: str
    output_data_format: str
    status: JobStatus = JobStatus.WAITING
    priority: Priority = "Standard"
    tags: tuple[str, ...] = ()
    creation_time: datetime
    begin_execution_time: datetime | None = None
    end_execution_time: datetime | None = None
    cancellation_time: datetime | None = None
    last_updated_time: datetime
    created_by: str | None = None
    created_by_type: CallerKind | None = None
    last_modified_by: str | None = None
    last_modified_by_type: CallerKind | None = None
    cost_estimate: CostEstimate = Field(default_factory=CostEstimate)
    error_data: ErrorData | None = None
    usage: dict[str, float] | None = None


class ProgramSize(WireModel):
    """What pricing counts in a program: gates by kind and measurements.

    `two_qubit_gates` counts two-qubit gate equivalents: a gate on N > 2 qubits counts as 6(N-2).
    """

    one_qubit_gates: int = Field(0, ge=0)
    two_qubit_gates: int = Field(0, ge=0)
    measurements: int = Field(0, ge=0)


def two_qubit_equivalents(width: int) -> int:
    """How many two-qubit gates a gate on `width` qubits counts as."""
    return 1 if width == 2 else 6 * (width - 2)


class Transition(WireModel):
    """One entry of a job's history: the status it entered, when, and why."""

    status: JobStatus
    time: datetime
    cause: str
    previous_status: JobStatus | None = None


class Job(BaseModel):
    """A job as the service keeps it: the public details, the history, and bookkeeping.

    `fingerprint` identifies the submission, so a replayed PUT is recognised; `redrives` counts how
    often the sweeper re-sent a stuck job; `published` counts the history entries whose events have
    been published (the job document is its own outbox); `input_sha256` and `output_sha256` are the
    digests of the input that was validated and of the output that was written (see
    `shared.domain.storage`); `etag` is the store's version, set by the store on read.
    """

    model_config = ConfigDict(frozen=True)

    details: JobDetails
    history: tuple[Transition, ...]
    fingerprint: str
    redrives: int = 0
    published: int = 0
    size: ProgramSize = Field(default_factory=ProgramSize)
    input_sha256: str | None = None
    output_sha256: str | None = None
    etag: str | None = Field(default=None, exclude=True)

    @property
    def id(self) -> str:
        return self.details.id

    @property
    def status(self) -> JobStatus:
        return self.details.status

    @property
    def is_final(self) -> bool:
        return self.details.status in TERMINAL

    @property
    def shots(self) -> int | None:
        shots = self.details.input_params.get("shots")
        return shots if isinstance(shots, int) else None

    @classmethod
    def new(cls, details: JobDetails, fingerprint: str, cause: str) -> Self:
        entry = Transition(status=details.status, time=details.creation_time, cause=cause)
        return cls(details=details, history=(entry,), fingerprint=fingerprint)

    def transition_to(
        self,
        status: JobStatus,
        *,
        at: datetime,
        cause: str,
        error: ErrorData | None = None,
        usage: dict[str, float] | None = None,
        cost: CostEstimate | None = None,
        began_at: datetime | None = None,
    ) -> Self:
        """Return this job moved to `status`, with the change appended to its history.

        Raises InvalidTransitionError for a move the state machine does not allow, which includes
        every move out of a final status.
        """
        current = self.details.status
        if status not in ALLOWED_TRANSITIONS[current]:
            raise InvalidTransitionError(f"Job {self.id} is {current}; it cannot become {status}.")
        changes: dict[str, object] = {"status": status, "last_updated_time": at}
        if status is JobStatus.EXECUTING:
            changes["begin_execution_time"] = began_at or at
        if status in TERMINAL and (current is JobStatus.EXECUTING or began_at is not None):
            changes["begin_execution_time"] = self.details.begin_execution_time or began_at
            changes["end_execution_time"] = at
        if status is JobStatus.CANCELLED:
            changes["cancellation_time"] = at
        if error is not None:
            changes["error_data"] = error
        if usage is not None:
            changes["usage"] = usage
        if cost is not None:
            changes["cost_estimate"] = cost
        entry = Transition(status=status, time=at, cause=cause, previous_status=current)
        return self.model_copy(
            update={"details": self.details.model_copy(update=changes), "history": (*self.history, entry)}
        )

    def note(self, *, at: datetime, cause: str) -> Self:
        """Record something that happened to the job without a change of status (a re-drive, say)."""
        entry = Transition(status=self.status, time=at, cause=cause, previous_status=self.status)
        return self.model_copy(
            update={
                "details": self.details.model_copy(update={"last_updated_time": at}),
                "history": (*self.history, entry),
            }
        )

    def unpublished_changes(self) -> list[tuple[int, Transition]]:
        """The status changes not yet published as events, with their place in the history."""
        return [
            (sequence, entry)
            for sequence, entry in enumerate(self.history)
            if sequence >= self.published and entry.status != entry.previous_status
        ]

    def mark_published(self) -> Self:
        return self.model_copy(update={"published": len(self.history)})

    def modified_by(self, caller: Caller) -> Self:
        return self.with_details(last_modified_by=caller.name, last_modified_by_type=caller.kind)

    def with_details(self, **changes: object) -> Self:
        return self.model_copy(update={"details": self.details.model_copy(update=changes)})


def fingerprint(payload: Mapping[str, JsonValue]) -> str:
    """A stable digest of a submission, to tell a replayed request from a different one."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()

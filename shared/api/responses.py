"""The bodies the workspace endpoints answer with, besides JobDetails and SessionDetails, field for field.

A field that is None is left out of the JSON where the wire shape has no such key (`_absent`).
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field

from shared.domain.catalog import NoiseSpec, ProgramLimits, ProviderSpec, TargetSpec
from shared.domain.errors import Diagnostic
from shared.domain.jobs import JobDetails, Priority, WireModel
from shared.services.quotas import QuotaUsage
from shared.services.validate import Validation


def _absent(value: object) -> bool:
    return value is None


class JobPatchResult(WireModel):
    """PATCH jobs/{id}: the job's id and the fields a patch may change, as they now are (JobUpdateOptions)."""

    id: str
    name: str
    priority: Priority
    tags: tuple[str, ...]

    @classmethod
    def of(cls, details: JobDetails) -> Self:
        return cls(id=details.id, name=details.name, priority=details.priority, tags=details.tags)


class ValidationResult(WireModel):
    """POST jobs:validate: whether submit would take the job, every finding, and the program's size when valid."""

    valid: bool
    target: str
    diagnostics: tuple[Diagnostic, ...]
    qubits: int | None = Field(None, exclude_if=_absent)
    gates: int | None = Field(None, exclude_if=_absent)

    @classmethod
    def of(cls, result: Validation) -> Self:
        info = result.info
        return cls(
            valid=result.valid,
            target=result.target,
            diagnostics=result.findings,
            qubits=None if info is None else info.num_qubits,
            gates=None if info is None else info.gate_count,
        )


class OutputLimits(WireModel):
    max_shots_times_bits: int
    max_histogram_entries: int


class TargetMetadata(WireModel):
    """What a user choosing a target needs: formats, its own inputParams, QIR profiles, output limits, and
    noise if emulated."""

    description: str
    input_formats: tuple[str, ...]
    input_params: tuple[str, ...]
    qir_profiles: tuple[str, ...]
    output_limits: OutputLimits
    program_limits: ProgramLimits
    emulation: str | None = Field(None, exclude_if=_absent)
    noise: NoiseSpec | None = Field(None, exclude_if=_absent)

    @classmethod
    def of(cls, target: TargetSpec, program_limits: ProgramLimits) -> Self:
        return cls(
            description=target.description,
            input_formats=target.input_formats,
            input_params=tuple(sorted(target.input_params)),
            qir_profiles=tuple(sorted({profile for route in target.routes for profile in route.qir_profiles})),
            output_limits=OutputLimits(
                max_shots_times_bits=target.max_shots_times_bits, max_histogram_entries=target.max_histogram_entries
            ),
            program_limits=program_limits,
            emulation=None if target.noise is None else "local noisy emulation from published error rates",
            noise=target.noise,
        )


class TargetStatus(WireModel):
    id: str
    current_availability: Literal["Available"] = "Available"
    average_queue_time: int
    num_qubits: int
    metadata: TargetMetadata


class ProviderStatus(WireModel):
    """One provider of GET providerStatus: every target is available (they run here)."""

    id: str
    current_availability: Literal["Available"] = "Available"
    targets: tuple[TargetStatus, ...]

    @classmethod
    def of(cls, provider: ProviderSpec, program_limits: ProgramLimits) -> Self:
        targets = tuple(
            TargetStatus(
                id=t.id,
                average_queue_time=t.average_queue_time,
                num_qubits=t.max_qubits,
                metadata=TargetMetadata.of(t, program_limits),
            )
            for t in provider.targets
        )
        return cls(id=provider.id, targets=targets)


class QuotaItem(WireModel):
    """One quota of GET quotas, with how much of it is used."""

    dimension: str
    scope: Literal["Workspace"] = "Workspace"
    provider_id: str
    utilization: float
    holds: float = 0.0
    limit: float
    period: str

    @classmethod
    def of(cls, usage: QuotaUsage) -> Self:
        return cls.model_validate(usage, from_attributes=True)

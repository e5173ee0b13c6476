"""Providers and targets as data: what each target accepts, produces and allows.

The data lives in `catalog.json` beside this module; code reads it through these models and never
branches on a provider or target name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from shared.domain.analog import AnalogSpec
from shared.domain.errors import InvalidRequestError, UnknownTargetError, UnsupportedFormatError


class CatalogModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")


QirProfile = Literal["base", "adaptive"]


class Route(CatalogModel):
    """A way through a target: these input formats are translated to `provider_format`, which the
    provider runs, and the job's output is in `output_format`."""

    input_formats: tuple[str, ...]
    provider_format: str
    output_format: str
    qir_profiles: tuple[QirProfile, ...] = Field(
        default=("base",),
        min_length=1,
        description="the QIR profiles a qir.v1 program may use on this route: base (straight-line) or also "
        "adaptive (measurement results read back and branched on)",
    )
    default_shots: int | None = Field(
        None,
        ge=1,
        description="the shots a job on this route runs when it names none, where it differs from the target's",
    )
    answers_for: tuple[str, ...] = Field(
        default=(),
        description="output formats a client may ask for on this route, answered in `output_format` (which the "
        "job then records): the SDK's generic Target asks QIR jobs for microsoft.quantum-results.v2",
    )
    output_format_checked_after_run: bool = Field(
        default=False,
        description="a job asking for an output format this route does not produce is accepted and fails once it "
        "has run (CannotTranslateOutputData), as Azure's echo test targets do; elsewhere it is refused at submit",
    )

    def produces(self, output_format: str) -> bool:
        return output_format in (self.output_format, *self.answers_for)

    def recorded_output_format(self, requested: str | None) -> str:
        """The outputDataFormat a job on this route records: the route's own, unless the job asks for one the
        route does not produce and the route checks that after the run (the job keeps its request, and fails)."""
        if requested is None or self.produces(requested):
            return self.output_format
        return requested


class NoiseSpec(CatalogModel):
    """A machine's published error rates, which a noisy target's emulation applies to every program.

    Gate errors are average gate infidelities (1 - fidelity) of one native one- and two-qubit gate;
    the readout error is the chance that a measured bit comes out flipped (the published SPAM error).
    """

    source: str = Field(description="where the figures were published, and when")
    one_qubit_gate_error: float = Field(ge=0, le=0.5)
    two_qubit_gate_error: float = Field(ge=0, le=0.5)
    readout_error: float = Field(ge=0, le=0.5)
    max_non_clifford_qubits: int = Field(
        ge=1,
        description="the widest non-Clifford program the emulation takes: it costs a statevector simulation per "
        "shot, where a Clifford program runs on the stabilizer method at any width",
    )


JsonType = Literal["integer", "number", "string", "boolean", "array", "object"]
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


class ParamSpec(CatalogModel):
    """The schema of an inputParams value with more to check than its JSON type (a bare type is written alone)."""

    type: JsonType
    enum: tuple[str, ...] | None = Field(None, description="a string's allowed values")
    properties: dict[str, ParamSchema] | None = Field(None, description="an object's allowed keys and their schemas")
    values: ParamSchema | None = Field(None, description="the schema of every value of an object with free keys")
    items: ParamSchema | None = Field(None, description="the schema of every item of an array")


ParamSchema: TypeAlias = JsonType | ParamSpec
ParamSpec.model_rebuild()


def _check_param(path: str, value: object, schema: ParamSchema, target_id: str) -> None:
    """`value` has the schema's type, and so does each of its parts; the error names the part by its path."""
    spec = schema if isinstance(schema, ParamSpec) else ParamSpec(type=schema)
    if not isinstance(value, _JSON_TYPES[spec.type]) or (isinstance(value, bool) and spec.type != "boolean"):
        raise InvalidRequestError(
            f"{path} must be a JSON {spec.type} for {target_id}; got {json.dumps(value)}.", target=path
        )
    if spec.enum is not None and value not in spec.enum:
        raise InvalidRequestError(
            f"{path} must be one of {', '.join(spec.enum)} for {target_id}; got {json.dumps(value)}.", target=path
        )
    if isinstance(value, list) and spec.items is not None:
        for index, item in enumerate(value):
            _check_param(f"{path}[{index}]", item, spec.items, target_id)
    if isinstance(value, dict):
        for key, item in value.items():
            known = spec.properties
            if known is not None and key not in known:
                raise InvalidRequestError(
                    f"{path}.{key} is not a parameter of {target_id}; {path} takes {', '.join(sorted(known))}.",
                    target=f"{path}.{key}",
                )
            inner = spec.values if known is None else known[key]
            if inner is not None:
                _check_param(f"{path}.{key}", item, inner, target_id)


class TargetSpec(CatalogModel):
    id: str
    description: str
    routes: tuple[Route, ...]
    engine: Literal["exact", "ideal", "noisy", "syntax-check", "estimator", "echo", "analog"] = Field(
        description="how the provider runs it: exact probabilities (scaled to the shots where the output counts "
        "them), an ideal sampling simulator, a noisy emulation of a machine from its published error rates "
        "(`noise`), a syntax checker returning all zeros, a resource estimator, a test target whose output is "
        "its input, or a pulse-level emulation of neutral atoms (`analog`)"
    )
    input_params: dict[str, ParamSchema] = Field(
        default_factory=dict, description="inputParams this target takes beyond the catalog's common ones"
    )
    noise: NoiseSpec | None = None
    analog: AnalogSpec | None = None
    max_qubits: int = Field(ge=1)
    default_shots: int = Field(ge=1)
    max_shots: int = Field(ge=1)
    # Output limits, sized so an output stays within the 8 MiB that GET jobs/{id}/output serves.
    max_shots_times_bits: int = Field(
        ge=1,
        description="the most values a per-shot output may hold: shots x classical bits (results for QIR); "
        "a program past it is refused before it runs",
    )
    max_histogram_entries: int = Field(
        ge=1,
        description="the most outcomes a histogram may hold (an exact one can have 2^qubits); a program past it "
        "fails with OutputTooLarge, before its histogram is built",
    )
    cancels_executing: bool
    average_queue_time: int = Field(ge=0)

    @model_validator(mode="after")
    def _noise_only_on_noisy_targets(self) -> TargetSpec:
        if (self.engine == "noisy") != (self.noise is not None):
            raise ValueError(f"target {self.id}: a noisy target needs `noise`, and only a noisy target takes it")
        if (self.engine == "analog") != (self.analog is not None):
            raise ValueError(f"target {self.id}: an analog target needs `analog`, and only an analog target takes it")
        return self

    def default_shots_for(self, input_format: str) -> int:
        """The shots a job in `input_format` runs when it names none: its route's default, else the target's."""
        return self.route_for(input_format).default_shots or self.default_shots

    @property
    def input_formats(self) -> tuple[str, ...]:
        return tuple(f for route in self.routes for f in route.input_formats)

    def route_for(self, input_format: str) -> Route:
        """The route that takes `input_format`; UnsupportedFormatError names the formats the target takes."""
        for route in self.routes:
            if input_format in route.input_formats:
                return route
        raise UnsupportedFormatError(
            f"Target '{self.id}' does not accept inputDataFormat '{input_format}'. "
            f"Supported: {', '.join(self.input_formats)}.",
            target="inputDataFormat",
        )


# The job stores count jobs per provider and quota period: all time, and each (UTC) month of creation.
ALL_TIME = "all"


def quota_periods(created: datetime) -> tuple[str, str]:
    """The periods a job created at `created` counts in, as `QuotaSpec.period_key` names them."""
    return (ALL_TIME, created.astimezone(UTC).strftime("%Y-%m"))


class QuotaSpec(CatalogModel):
    dimension: str
    period: Literal["None", "Monthly"]
    limit: float = Field(ge=0)

    def period_key(self, now: datetime) -> str:
        """The period `now` falls in, as the stores' job counts name it."""
        return quota_periods(now)[1] if self.period == "Monthly" else ALL_TIME


class ProviderSpec(CatalogModel):
    id: str
    targets: tuple[TargetSpec, ...]
    quotas: tuple[QuotaSpec, ...] = ()

    @property
    def queue(self) -> str:
        """The Service Bus queue that carries this provider's new jobs."""
        return f"jobs-{self.id}"


class ProgramLimits(CatalogModel):
    """Bounds every program is checked against, whatever its target, before the work they bound is done."""

    max_qubits: int = Field(ge=1, description="qubits a text program may use when no target's smaller limit applies")
    max_classical_bits: int = Field(ge=1, description="classical bits a text program may declare")
    max_expanded_gates: int = Field(ge=1, description="gate applications once definitions and broadcasts expand")
    max_definition_depth: int = Field(ge=1, description="how deep OpenQASM gate definitions may call one another")
    max_nesting_depth: int = Field(ge=1, description="how deep brackets may nest in OpenQASM and Quil")
    max_statement_operators: int = Field(ge=1, description="operators in one OpenQASM statement or Quil line")
    max_json_depth: int = Field(ge=1, description="how deep an IonQ JSON program may nest")
    max_output_depth: int = Field(ge=1, description="how deep a QIR program's output records may nest")
    max_pulse_operations: int = Field(ge=1, description="operations in a pulse sequence (pasqal.pulser.v1)")
    max_sequence_nanoseconds: int = Field(
        ge=1, description="a pulse sequence's operations' durations added up, in ns: what its emulation samples"
    )
    max_layout_traps: int = Field(ge=1, description="traps in a pulse sequence's register layout")


class Catalog(CatalogModel):
    program_limits: ProgramLimits
    providers: tuple[ProviderSpec, ...]
    common_input_params: dict[str, ParamSchema] = Field(
        description="inputParams every target takes: shots (or count, its older name), and what the SDKs send "
        "with QIR programs"
    )

    def check_input_params(self, target: TargetSpec, params: Mapping[str, object]) -> None:
        """Each inputParams key must be one the target takes, with a value of its schema."""
        schema = {**self.common_input_params, **target.input_params}
        for key, value in params.items():
            expected = schema.get(key)
            if expected is None:
                raise InvalidRequestError(
                    f"inputParams.{key} is not a parameter of {target.id}; it takes {', '.join(sorted(schema))}.",
                    target=f"inputParams.{key}",
                )
            _check_param(f"inputParams.{key}", value, expected, target.id)

    def provider(self, provider_id: str) -> ProviderSpec:
        for provider in self.providers:
            if provider.id == provider_id.lower():
                return provider
        known = ", ".join(p.id for p in self.providers)
        raise UnknownTargetError(f"Provider '{provider_id}' is not known. Known providers: {known}.")

    def target(self, provider_id: str, target_id: str) -> TargetSpec:
        provider = self.provider(provider_id)
        for target in provider.targets:
            if target.id == target_id.lower():
                return target
        known = ", ".join(t.id for t in provider.targets)
        raise UnknownTargetError(
            f"Target '{target_id}' is not offered by provider '{provider.id}'. Known targets: {known}."
        )

    def provider_of(self, target_id: str) -> ProviderSpec:
        for provider in self.providers:
            if any(t.id == target_id.lower() for t in provider.targets):
                return provider
        known = ", ".join(t.id for p in self.providers for t in p.targets)
        raise UnknownTargetError(f"Target '{target_id}' is not known. Known targets: {known}.")


def check_formats(target: TargetSpec, input_format: str, output_format: str | None) -> Route:
    """The route for these formats; an input or output format the target does not take is refused."""
    route = target.route_for(input_format)
    if output_format is not None and not route.produces(output_format) and not route.output_format_checked_after_run:
        raise UnsupportedFormatError(
            f"Target '{target.id}' produces outputDataFormat '{route.output_format}' from '{input_format}', "
            f"not '{output_format}'.",
            target="outputDataFormat",
        )
    return route


CATALOG_PATH = Path(__file__).with_name("catalog.json")


@cache
def load_catalog(path: Path = CATALOG_PATH) -> Catalog:
    return Catalog.model_validate_json(path.read_bytes())

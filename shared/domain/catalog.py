"""Providers and targets as data: what each target accepts, produces and allows.

The data lives in `catalog.json` beside this module; code reads it through these models and never
branches on a provider or target name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

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


class TargetSpec(CatalogModel):
    id: str
    description: str
    routes: tuple[Route, ...]
    engine: Literal["ideal", "noisy", "syntax-check", "estimator"] = Field(
        description="how the provider runs it: an ideal simulator, a noisy emulation of a machine from its "
        "published error rates (`noise`), a syntax checker returning all zeros, or a resource estimator"
    )
    input_params: dict[str, JsonType] = Field(
        default_factory=dict, description="inputParams this target takes beyond the catalog's common ones"
    )
    noise: NoiseSpec | None = None
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
        return self

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


class QuotaSpec(CatalogModel):
    dimension: str
    period: Literal["None", "Monthly"]
    limit: float = Field(ge=0)


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


class Catalog(CatalogModel):
    program_limits: ProgramLimits
    providers: tuple[ProviderSpec, ...]
    common_input_params: dict[str, JsonType] = Field(
        description="inputParams every target takes: shots, and what the SDKs send with QIR programs"
    )

    def check_input_params(self, target: TargetSpec, params: Mapping[str, object]) -> None:
        """Each inputParams key must be one the target takes, with a value of its JSON type."""
        schema = {**self.common_input_params, **target.input_params}
        for key, value in params.items():
            expected = schema.get(key)
            if expected is None:
                raise InvalidRequestError(
                    f"inputParams.{key} is not a parameter of {target.id}; it takes {', '.join(sorted(schema))}.",
                    target=f"inputParams.{key}",
                )
            is_bool = isinstance(value, bool)
            if not isinstance(value, _JSON_TYPES[expected]) or (is_bool and expected != "boolean"):
                raise InvalidRequestError(
                    f"inputParams.{key} must be a JSON {expected} for {target.id}; got {json.dumps(value)}.",
                    target=f"inputParams.{key}",
                )

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
    if output_format is not None and output_format != route.output_format:
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

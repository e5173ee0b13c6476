"""Providers and targets as data: what each target accepts, produces and allows.

The data lives in `catalog.json` beside this module; code reads it through these models and never
branches on a provider or target name.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from shared.domain.errors import UnknownTargetError, UnsupportedFormatError


class CatalogModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")


class TargetSpec(CatalogModel):
    id: str
    description: str
    input_formats: tuple[str, ...]
    provider_format: str
    output_format: str
    max_qubits: int = Field(ge=1)
    default_shots: int = Field(ge=1)
    max_shots: int = Field(ge=1)
    cancels_executing: bool
    average_queue_time: int = Field(ge=0)


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


class Catalog(CatalogModel):
    providers: tuple[ProviderSpec, ...]

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


def check_formats(target: TargetSpec, input_format: str, output_format: str | None) -> None:
    """Refuse an input or output format the target does not take, naming what it does take."""
    if input_format not in target.input_formats:
        raise UnsupportedFormatError(
            f"Target '{target.id}' does not accept inputDataFormat '{input_format}'. "
            f"Supported: {', '.join(target.input_formats)}.",
            target="inputDataFormat",
        )
    if output_format is not None and output_format != target.output_format:
        raise UnsupportedFormatError(
            f"Target '{target.id}' produces outputDataFormat '{target.output_format}', not '{output_format}'.",
            target="outputDataFormat",
        )


CATALOG_PATH = Path(__file__).with_name("catalog.json")


@cache
def load_catalog(path: Path = CATALOG_PATH) -> Catalog:
    return Catalog.model_validate_json(path.read_bytes())

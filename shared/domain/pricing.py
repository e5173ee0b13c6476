"""Each provider's public pricing model as data (`pricing.json`), and the cost of a job under it.

A free target is listed as Azure shows it: its provider's usage dimensions, counted, at unit price 0. A
target that is not listed (Rigetti's QVM, the resource estimator, the echo test targets) has no dimension to
count and costs nothing. A time-billed target (Rigetti's QPU) counts the execution time its `secondsPerShot`
gives the shots, in the provider's billing increments. A job's cost is computed from its program's size
and shots when it is accepted (the estimate) and again when it ends (the actual). A job cancelled while
executing is billed for the part that ran, the fraction of its expected run time (`secondsPerShot` x
shots) that had passed.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from shared.domain.jobs import CostEstimate, CostEvent, ProgramSize

PRICING_PATH = Path(__file__).with_name("pricing.json")
Measure = Literal["oneQubitGateShots", "twoQubitGateShots", "hqc", "executionIncrements", "executionHours"]
EXECUTION_INCREMENT_SECONDS = 0.01  # Rigetti bills job execution time in 10-millisecond increments


class _PricingModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")


class PriceDimension(_PricingModel):
    id: str
    name: str
    unit: str
    unit_price: float = Field(ge=0)
    measure: Measure


class TargetPricing(_PricingModel):
    source: str
    dimensions: tuple[PriceDimension, ...]
    minimum: float = Field(0.0, ge=0)
    seconds_per_shot: float = Field(gt=0)

    def expected_seconds(self, shots: int) -> float:
        return self.seconds_per_shot * shots


class Pricing(_PricingModel):
    currency: str
    targets: dict[str, TargetPricing]

    def cost(self, target: str, size: ProgramSize, shots: int, *, ran: float = 1.0) -> CostEstimate:
        """The cost of running `size` for `shots` on `target`; `ran` < 1 bills only that part of the run."""
        pricing = self.targets.get(target)
        if pricing is None:
            return CostEstimate(currency_code=self.currency)
        events = []
        for dimension in pricing.dimensions:
            consumed = _amount(dimension.measure, size, shots, pricing.expected_seconds(shots))
            name = dimension.name if ran >= 1 else f"{dimension.name} (partial: {ran:.0%} of the run, cancelled)"
            events.append(
                CostEvent(
                    dimension_id=dimension.id,
                    dimension_name=name,
                    measure_unit=dimension.unit,
                    amount_billed=round(consumed * ran, 6),
                    amount_consumed=round(consumed, 6),
                    unit_price=dimension.unit_price,
                )
            )
        full_price = sum(e.amount_consumed * e.unit_price for e in events)
        total = max(full_price, pricing.minimum) * ran
        return CostEstimate(currency_code=self.currency, events=tuple(events), estimated_total=round(total, 2))

    def part_ran(self, target: str, shots: int, elapsed_seconds: float) -> float:
        """The fraction of a run that `elapsed_seconds` of execution covers (1 where the target is free)."""
        pricing = self.targets.get(target)
        if pricing is None:
            return 1.0
        return max(0.0, min(1.0, elapsed_seconds / pricing.expected_seconds(shots)))


def _amount(measure: Measure, size: ProgramSize, shots: int, seconds: float) -> float:
    """How much of `measure` a run of `size` for `shots` consumes; `seconds` is its expected execution time."""
    if measure == "oneQubitGateShots":
        return float(size.one_qubit_gates * shots)
    if measure == "twoQubitGateShots":
        return float(size.two_qubit_gates * shots)
    if measure == "executionIncrements":
        return float(math.ceil(round(seconds / EXECUTION_INCREMENT_SECONDS, 9)))
    if measure == "executionHours":  # PASQAL bills its QPU by the hour of execution
        return seconds / 3600
    return 5 + shots * (size.one_qubit_gates + 10 * size.two_qubit_gates + 5 * size.measurements) / 5000


@cache
def load_pricing(path: Path = PRICING_PATH) -> Pricing:
    return Pricing.model_validate_json(path.read_text())

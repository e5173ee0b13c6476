"""Quotas per provider and period, as the catalog states them: reported by `quotas`, enforced at submit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from shared.domain.catalog import ProviderSpec, QuotaSpec
from shared.domain.errors import QuotaExceededError
from shared.services.pipeline import Pipeline

_EVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class QuotaUsage:
    dimension: str
    provider_id: str
    period: str
    limit: float
    utilization: float


def usage(p: Pipeline) -> list[QuotaUsage]:
    now = p.clock.now()
    return [_used(p, provider, quota, now) for provider in p.catalog.providers for quota in provider.quotas]


def enforce(p: Pipeline, provider: ProviderSpec) -> None:
    """Refuse a new job when it would take the provider past a quota."""
    now = p.clock.now()
    for quota in provider.quotas:
        used = _used(p, provider, quota, now)
        if used.utilization + 1 > quota.limit:
            renews = (
                f"; it renews on {_period_start(quota, now, next_period=True):%Y-%m-%d}"
                if quota.period == "Monthly"
                else ""
            )
            raise QuotaExceededError(
                f"The {quota.period.lower()} quota of {quota.limit:g} {quota.dimension} for provider '{provider.id}' "
                f"is used up ({used.utilization:g} used){renews}.",
                target="providerId",
            )


def _used(p: Pipeline, provider: ProviderSpec, quota: QuotaSpec, now: datetime) -> QuotaUsage:
    count = p.jobs.count_created_since(provider.id, _period_start(quota, now))
    return QuotaUsage(quota.dimension, provider.id, quota.period, quota.limit, float(count))


def _period_start(quota: QuotaSpec, now: datetime, *, next_period: bool = False) -> datetime:
    if quota.period != "Monthly":
        return _EVER
    if not next_period:
        return datetime(now.year, now.month, 1, tzinfo=UTC)
    return datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)

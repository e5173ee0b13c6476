"""Quotas per provider and period, as the catalog states them: reported by `quotas`, enforced at submit.

Usage is the job store's count of the provider's jobs created in the period, a counter the store keeps with
every insert and delete: one read however many jobs the store holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from shared.domain.catalog import ProviderSpec, QuotaSpec
from shared.domain.errors import QuotaExceededError
from shared.services.pipeline import Pipeline


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
            renews = f"; it renews on {_next_period_start(now):%Y-%m-%d}" if quota.period == "Monthly" else ""
            raise QuotaExceededError(
                f"The {quota.period.lower()} quota of {quota.limit:g} {quota.dimension} for provider '{provider.id}' "
                f"is used up ({used.utilization:g} used){renews}.",
                target="providerId",
            )


def _used(p: Pipeline, provider: ProviderSpec, quota: QuotaSpec, now: datetime) -> QuotaUsage:
    count = p.jobs.count_created(provider.id, quota.period_key(now))
    return QuotaUsage(quota.dimension, provider.id, quota.period, quota.limit, float(count))


def _next_period_start(now: datetime) -> datetime:
    return datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)

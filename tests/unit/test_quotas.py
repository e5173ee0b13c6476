"""Quotas: reported with their utilization, enforced at submit with an error that says when they renew."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from shared.domain.catalog import QuotaSpec
from shared.domain.errors import QuotaExceededError
from shared.services import quotas
from shared.services.pipeline import Pipeline
from shared.services.submit import submit_job
from tests.fakes import FakeClock, make_pipeline
from tests.unit.test_services import submission, upload


def with_ionq_quota(p: Pipeline, limit: float) -> Pipeline:
    providers = tuple(
        provider.model_copy(update={"quotas": (QuotaSpec(dimension="jobs", period="Monthly", limit=limit),)})
        if provider.id == "ionq"
        else provider
        for provider in p.catalog.providers
    )
    return replace(p, catalog=p.catalog.model_copy(update={"providers": providers}))


def test_a_submit_past_the_monthly_quota_is_refused_and_the_quota_renews_next_month() -> None:
    p = with_ionq_quota(make_pipeline(), limit=2)
    assert isinstance(p.clock, FakeClock)
    p.clock.moment = datetime(2026, 12, 30, tzinfo=UTC)
    for n in (1, 2):
        upload(p, f"j{n}")
        submit_job(p, f"j{n}", submission(f"j{n}"), cause="test")
    upload(p, "j3")
    with pytest.raises(
        QuotaExceededError, match=r"quota of 2 jobs for provider 'ionq' is used up \(2 used\); it renews on 2027-01-01"
    ):
        submit_job(p, "j3", submission("j3"), cause="test")
    assert p.jobs.get("j3") is None and len(p.sender.sent) == 2  # type: ignore[attr-defined]
    ionq = next(u for u in quotas.usage(p) if u.provider_id == "ionq")
    assert (ionq.utilization, ionq.limit, ionq.period) == (2.0, 2.0, "Monthly")
    p.clock.moment = datetime(2027, 1, 1, tzinfo=UTC)
    assert submit_job(p, "j3", submission("j3"), cause="test").created
    assert next(u for u in quotas.usage(p) if u.provider_id == "ionq").utilization == 1.0

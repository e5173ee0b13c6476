"""Composition root: builds the adapters once per process from the settings and wires the services."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from shared.adapters.aer_simulator import AerSimulator
from shared.adapters.blob_artifacts import BlobArtifactStore
from shared.adapters.embedded_queue import EmbeddedQueue
from shared.adapters.local import EmbeddedQueueSender, LocalSimulators, SystemClock
from shared.adapters.sqlite_jobs import SqliteJobStore
from shared.api.http import ApiContext
from shared.config import Settings, get_settings
from shared.domain.catalog import load_catalog
from shared.ports import ProviderBackend
from shared.services.pipeline import Limits, Pipeline

_configured: list[Settings] = []


def configure(settings: Settings) -> None:
    """Use these settings instead of the environment's; call before anything else is built."""
    _configured[:] = [settings]


def settings() -> Settings:
    return _configured[0] if _configured else get_settings()


@cache
def embedded_queue() -> EmbeddedQueue:
    s = settings()
    return EmbeddedQueue(
        s.local_state_dir / "queues.sqlite3",
        lock_duration=s.queue_lock_seconds,
        max_delivery_count=s.queue_max_delivery_count,
        duplicate_window=s.queue_duplicate_window_seconds,
        poll_interval=s.queue_poll_seconds,
    )


@cache
def artifacts() -> BlobArtifactStore:
    return BlobArtifactStore(settings().blob_connection_string)


@cache
def pipeline() -> Pipeline:
    s = settings()
    return Pipeline(
        jobs=SqliteJobStore(s.local_state_dir / "jobs.sqlite3"),
        artifacts=artifacts(),
        sender=EmbeddedQueueSender(embedded_queue()),
        clock=SystemClock(),
        catalog=load_catalog(),
        limits=Limits(
            max_input_bytes=s.max_input_bytes,
            inline_message_bytes=s.inline_message_bytes,
            waiting_deadline=timedelta(seconds=s.waiting_deadline_seconds),
            executing_deadline=timedelta(seconds=s.executing_deadline_seconds),
            max_redrives=s.max_redrives,
            sas_ttl=timedelta(minutes=s.sas_ttl_minutes),
        ),
    )


@cache
def backend() -> ProviderBackend:
    return LocalSimulators(AerSimulator())


@cache
def api_context() -> ApiContext:
    return ApiContext(pipeline(), settings())

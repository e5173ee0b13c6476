"""Composition root: builds the adapters once per process from the settings and wires the services.

Each Azure endpoint in the settings selects the Azure adapter, reached with the managed identity:
Cosmos DB for jobs, Service Bus for messages, Blob storage by identity, an Event Grid topic for job
events. Without them the embedded parts serve: SQLite, the embedded queue, Azurite, and webhooks.

The settings come from the environment unless `configure` is given others (the local host, the bench);
tests also give it the pipeline and the backend, so the function app runs over fakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from azure.core.credentials import TokenCredential
from azure.cosmos import CosmosClient, DatabaseProxy
from azure.identity import DefaultAzureCredential

from shared.adapters.blob_artifacts import BlobArtifactStore
from shared.adapters.blob_journal import JournaledArtifactStore
from shared.adapters.cosmos_jobs import CosmosJobStore
from shared.adapters.cosmos_sessions import CosmosSessionStore
from shared.adapters.embedded_queue import EmbeddedQueue
from shared.adapters.eventgrid_publisher import EventGridTopicPublisher
from shared.adapters.local import EmbeddedQueueSender, PooledSimulators, SystemClock
from shared.adapters.sandbox import RunLimits
from shared.adapters.servicebus_sender import ServiceBusSender
from shared.adapters.sqlite_jobs import SqliteJobStore
from shared.adapters.sqlite_sessions import SqliteSessionStore
from shared.adapters.webhooks import WebhookDispatcher
from shared.api.auth import EntraTokens
from shared.api.http import ApiContext
from shared.api.local_identity import LocalIdentity
from shared.config import Settings, get_settings
from shared.domain.catalog import load_catalog
from shared.ports import ArtifactStore, EventPublisher, JobStore, MessageSender, ProviderBackend, SessionStore
from shared.programs.translate import QiskitPrograms
from shared.services.notify import PublishingJobStore
from shared.services.pipeline import Limits, Pipeline


@dataclass(frozen=True)
class Overrides:
    """Parts given to `configure` in place of those built here; None builds that part from the settings."""

    settings: Settings | None = None
    pipeline: Pipeline | None = None
    backend: ProviderBackend | None = None


_overrides: list[Overrides] = [Overrides()]


def configure(
    settings: Settings | None = None, *, pipeline: Pipeline | None = None, backend: ProviderBackend | None = None
) -> None:
    """Build from these settings instead of the environment's, and use the parts given as they are.

    Every part built so far is dropped (not closed), so the next call builds again from what was given:
    configure before starting anything that needs closing. `configure()` returns to the environment.
    """
    _overrides[0] = Overrides(settings, pipeline, backend)
    _drop_built()


def settings() -> Settings:
    return _overrides[0].settings or get_settings()


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
def credential() -> TokenCredential:
    """The app's user-assigned managed identity (AZURE_CLIENT_ID) in Azure; a developer's login elsewhere."""
    return DefaultAzureCredential(managed_identity_client_id=settings().managed_identity_client_id)


@cache
def blob_storage() -> BlobArtifactStore:
    s = settings()
    if s.blob_service_uri:
        return BlobArtifactStore.from_identity(s.blob_service_uri, credential())
    return BlobArtifactStore.from_connection_string(s.blob_connection_string)


@cache
def journal() -> JournaledArtifactStore | None:
    """Locally, Azurite behind a journal: what it acknowledged outlives a hard kill (see blob_journal)."""
    s = settings()
    if s.blob_service_uri:
        return None
    return JournaledArtifactStore(blob_storage(), s.local_state_dir / "blob-journal.sqlite3")


def artifacts() -> ArtifactStore:
    return journal() or blob_storage()


@cache
def cosmos_database(endpoint: str) -> DatabaseProxy:
    return CosmosClient(endpoint, credential()).get_database_client(settings().cosmos_database)


def job_store() -> JobStore:
    s = settings()
    if s.cosmos_endpoint:
        return CosmosJobStore(
            cosmos_database(s.cosmos_endpoint).get_container_client(s.cosmos_container), s.workspace_path
        )
    return SqliteJobStore(s.local_state_dir / "jobs.sqlite3")


def session_store() -> SessionStore:
    s = settings()
    if s.cosmos_endpoint:
        sessions = cosmos_database(s.cosmos_endpoint).get_container_client(s.cosmos_sessions_container)
        return CosmosSessionStore(sessions, s.workspace_path)
    return SqliteSessionStore(s.local_state_dir / "jobs.sqlite3")


def sender() -> MessageSender:
    s = settings()
    if s.servicebus_namespace:
        return ServiceBusSender.from_identity(s.servicebus_namespace, credential())
    return EmbeddedQueueSender(embedded_queue())


@cache
def webhooks() -> WebhookDispatcher | None:
    """The local host's event delivery, when EVENT_WEBHOOKS lists subscribers."""
    s = settings()
    if s.eventgrid_topic_endpoint or not s.webhook_urls() or s.event_webhook_secret is None:
        return None
    return WebhookDispatcher(
        s.local_state_dir / "events.sqlite3",
        s.webhook_urls(),
        s.event_webhook_secret,
        max_attempts=s.event_max_attempts,
        first_backoff=s.event_first_retry_seconds,
    )


def event_publisher() -> EventPublisher | None:
    s = settings()
    if s.eventgrid_topic_endpoint:
        return EventGridTopicPublisher(s.eventgrid_topic_endpoint, credential())
    return webhooks()


@cache
def pipeline() -> Pipeline:
    if _overrides[0].pipeline is not None:
        return _overrides[0].pipeline
    s = settings()
    jobs = job_store()
    publisher = event_publisher()
    outbox = None if publisher is None else PublishingJobStore(jobs, publisher, s.workspace_path, s.api_base_url)
    return Pipeline(
        jobs=outbox or jobs,
        sessions=session_store(),
        outbox=outbox,
        artifacts=artifacts(),
        sender=sender(),
        clock=SystemClock(),
        catalog=load_catalog(),
        programs=QiskitPrograms(),
        limits=Limits(
            max_input_bytes=s.max_input_bytes,
            inline_message_bytes=s.inline_message_bytes,
            waiting_deadline=timedelta(seconds=s.waiting_deadline_seconds),
            executing_deadline=timedelta(seconds=s.executing_deadline_seconds),
            max_redrives=s.max_redrives,
            sas_ttl=timedelta(minutes=s.sas_ttl_minutes),
            programs_container=s.programs_container,
        ),
    )


def backend() -> ProviderBackend:
    """What runs the programs: the simulators, unless `configure` was given another backend."""
    return _overrides[0].backend or simulators()


@cache
def simulators() -> PooledSimulators:
    """The simulators, in worker processes started here; the local host stops them with `close()`."""
    s = settings()
    limits = RunLimits(seconds=s.simulation_timeout_seconds, memory_mb=s.simulation_memory_mb)
    return PooledSimulators(workers=s.simulation_workers, limits=limits)


@cache
def local_identity() -> LocalIdentity:
    """The local host's managed identity (LOCAL_HTTPS), whose key is kept under the state folder."""
    return LocalIdentity.load(settings())


@cache
def api_context() -> ApiContext:
    s = settings()
    if s.local_https:  # the local host's own tokens, in exchange for the key (shared/localhost/cloud.py)
        return ApiContext(pipeline(), s, tokens=local_identity().tokens())
    return ApiContext(pipeline(), s, tokens=EntraTokens(s) if s.entra_tenant_id else None)


def _drop_built() -> None:
    for built in (
        embedded_queue,
        credential,
        blob_storage,
        journal,
        cosmos_database,
        webhooks,
        pipeline,
        simulators,
        local_identity,
        api_context,
    ):
        built.cache_clear()

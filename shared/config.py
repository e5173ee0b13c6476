"""The one settings class. Field aliases are the app-setting names; nothing else reads os.environ."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Self

from pydantic import AliasChoices, Field, model_validator
from pydantic.config import JsonDict
from pydantic_settings import BaseSettings, SettingsConfigDict

AZURITE_ACCOUNT = "devstoreaccount1"
LOCAL: JsonDict = {"scope": "local"}  # read only by the local host and its embedded stand-ins; never set in Azure
AZURE: JsonDict = {"scope": "azure"}  # set in Azure by infra/; absent locally, where embedded parts serve
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class Settings(BaseSettings):
    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    # The workspace this deployment serves.
    subscription_id: str = Field("00000000-0000-0000-0000-000000000000", alias="QUANTUM_SUBSCRIPTION_ID")
    resource_group: str = Field("local", alias="QUANTUM_RESOURCE_GROUP")
    workspace_name: str = Field("local", alias="QUANTUM_WORKSPACE")
    api_keys: str | None = Field(None, alias="QUANTUM_API_KEYS")
    # Microsoft Entra ID bearer tokens, beside the keys: accepted only when a tenant is set. Principals (object
    # ids, comma-separated, or * for any in the tenant) listed as contributors may change jobs; readers may look.
    entra_tenant_id: str | None = Field(None, alias="ENTRA_TENANT_ID")
    entra_audience: str = Field("https://quantum.microsoft.com", alias="ENTRA_AUDIENCE")
    entra_jwks_uri: str | None = Field(None, alias="ENTRA_JWKS_URI")
    entra_contributors: str = Field("", alias="ENTRA_CONTRIBUTORS")
    entra_readers: str = Field("", alias="ENTRA_READERS")

    # Local host.
    port: int = Field(7071, alias="PORT", json_schema_extra=LOCAL, ge=1, le=65535)
    local_state_dir: Path = Field(Path(".local"), alias="LOCAL_STATE_DIR", json_schema_extra=LOCAL)
    start_azurite: bool = Field(True, alias="LOCAL_START_AZURITE", json_schema_extra=LOCAL)
    azurite_blob_port: int = Field(10000, alias="AZURITE_BLOB_PORT", json_schema_extra=LOCAL, ge=1, le=65535)
    # Job data (per-job containers, program drops): a storage account of its own, never the Functions host's
    # (AzureWebJobsStorage holds the deployment package and host keys, which no SAS of ours may reach).
    storage_connection: str | None = Field(
        None,
        validation_alias=AliasChoices("JobsStorage", "STORAGE_CONNECTION"),
        alias="JobsStorage",
        json_schema_extra=LOCAL,
    )
    queue_workers: int = Field(4, alias="LOCAL_QUEUE_WORKERS", json_schema_extra=LOCAL, ge=1, le=64)
    blob_poll_seconds: float = Field(1.0, alias="LOCAL_BLOB_POLL_SECONDS", json_schema_extra=LOCAL, gt=0)
    disabled_functions: str = Field("", alias="LOCAL_DISABLED_FUNCTIONS", json_schema_extra=LOCAL)
    # The API over https (a certificate made under the state folder), a managed identity that exchanges the API
    # key for bearer tokens, and the management reads of a custom cloud: what `az login --identity` and
    # `az quantum` need (shared/localhost/cloud.py).
    local_https: bool = Field(False, alias="LOCAL_HTTPS", json_schema_extra=LOCAL)

    # Pipeline behaviour.
    programs_container: str = Field("programs", alias="PROGRAMS_CONTAINER")
    sweep_schedule: str = Field("*/30 * * * * *", alias="SWEEP_SCHEDULE")
    waiting_deadline_seconds: float = Field(300.0, alias="WAITING_DEADLINE_SECONDS", gt=0)
    executing_deadline_seconds: float = Field(1800.0, alias="EXECUTING_DEADLINE_SECONDS", gt=0)
    max_redrives: int = Field(3, alias="MAX_REDRIVES", ge=0)
    max_input_bytes: int = Field(4 * 1024 * 1024, alias="MAX_INPUT_BYTES", ge=1)
    max_request_bytes: int = Field(1024 * 1024, alias="MAX_REQUEST_BYTES", ge=1)
    inline_message_bytes: int = Field(96 * 1024, alias="INLINE_MESSAGE_BYTES", ge=0, le=160 * 1024)
    # SAS URLs given to clients: long enough for an upload and a download (the SDK renews one within 5 minutes
    # of its expiry), short enough that a leaked one soon stops working. Fractions are for tests of expiry: below
    # 6 the SDK takes a fresh SAS for every upload.
    sas_ttl_minutes: float = Field(15, alias="SAS_TTL_MINUTES", gt=0, le=24 * 60)

    # Simulations run in a pool of worker processes, apart from the API. A run past the timeout is stopped
    # and its job fails; the memory is what a run may allocate beyond a warmed-up worker's own.
    simulation_workers: int = Field(2, alias="SIMULATION_WORKERS", ge=1, le=32)
    simulation_timeout_seconds: float = Field(300.0, alias="SIMULATION_TIMEOUT_SECONDS", gt=0)
    simulation_memory_mb: int = Field(2048, alias="SIMULATION_MEMORY_MB", ge=64)

    # Azure: every connection is by managed identity. Each endpoint that is set selects the Azure adapter
    # over its embedded stand-in; infra/ sets them all.
    blob_service_uri: str | None = Field(None, alias="JobsStorage__blobServiceUri", json_schema_extra=AZURE)
    servicebus_namespace: str | None = Field(
        None, alias="ServiceBusConnection__fullyQualifiedNamespace", json_schema_extra=AZURE
    )
    cosmos_endpoint: str | None = Field(None, alias="CosmosDBConnection__accountEndpoint", json_schema_extra=AZURE)
    cosmos_database: str = Field("quantum", alias="COSMOS_DATABASE", json_schema_extra=AZURE)
    cosmos_container: str = Field("jobs", alias="COSMOS_CONTAINER", json_schema_extra=AZURE)
    cosmos_sessions_container: str = Field("sessions", alias="COSMOS_SESSIONS_CONTAINER", json_schema_extra=AZURE)
    eventgrid_topic_endpoint: str | None = Field(None, alias="EVENTGRID_TOPIC_ENDPOINT", json_schema_extra=AZURE)
    managed_identity_client_id: str | None = Field(None, alias="AZURE_CLIENT_ID", json_schema_extra=AZURE)

    # Job events on the local host: CloudEvents to these webhooks (comma-separated URLs), HMAC-signed.
    event_webhooks: str = Field("", alias="EVENT_WEBHOOKS", json_schema_extra=LOCAL)
    event_webhook_secret: str | None = Field(None, alias="EVENT_WEBHOOK_SECRET", json_schema_extra=LOCAL)
    event_max_attempts: int = Field(8, alias="EVENT_MAX_ATTEMPTS", ge=1, json_schema_extra=LOCAL)
    event_first_retry_seconds: float = Field(1.0, alias="EVENT_FIRST_RETRY_SECONDS", gt=0, json_schema_extra=LOCAL)
    # Set by the Functions platform; the public address that job links in events point to.
    website_hostname: str | None = Field(None, alias="WEBSITE_HOSTNAME")

    # Embedded queue (local host's Service Bus stand-in).
    queue_lock_seconds: float = Field(60.0, alias="QUEUE_LOCK_SECONDS", json_schema_extra=LOCAL, gt=0)
    queue_max_delivery_count: int = Field(10, alias="QUEUE_MAX_DELIVERY_COUNT", json_schema_extra=LOCAL, ge=1)
    queue_poll_seconds: float = Field(0.5, alias="QUEUE_POLL_SECONDS", json_schema_extra=LOCAL, gt=0)
    queue_duplicate_window_seconds: float = Field(
        600.0, alias="QUEUE_DUPLICATE_WINDOW_SECONDS", json_schema_extra=LOCAL, gt=0
    )

    @property
    def blob_connection_string(self) -> str:
        if self.storage_connection and self.storage_connection != "UseDevelopmentStorage=true":
            return self.storage_connection
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.azurite_blob_port}/{AZURITE_ACCOUNT};"
        )

    @property
    def api_base_url(self) -> str:
        if self.website_hostname:
            return f"https://{self.website_hostname}/api/"
        return f"{'https' if self.local_https else 'http'}://127.0.0.1:{self.port}/api/"

    def webhook_urls(self) -> tuple[str, ...]:
        return tuple(url.strip() for url in self.event_webhooks.split(",") if url.strip())

    @model_validator(mode="after")
    def _api_keys_are_resolved(self) -> Self:
        # App Service passes an unresolvable Key Vault reference through as text; it must not become a key.
        if (self.api_keys or "").lstrip().startswith("@Microsoft.KeyVault("):
            raise ValueError(
                "QUANTUM_API_KEYS is an unresolved Key Vault reference: set the secret and check the app's "
                "identity can read it (Key Vault Secrets User)."
            )
        return self

    @model_validator(mode="after")
    def _webhooks_are_signed(self) -> Self:
        if self.webhook_urls() and not self.event_webhook_secret:
            raise ValueError(
                "EVENT_WEBHOOK_SECRET must be set when EVENT_WEBHOOKS lists subscribers: deliveries are signed."
            )
        return self

    @property
    def workspace_path(self) -> str:
        return (
            f"subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Quantum/workspaces/{self.workspace_name}"
        )

    def is_disabled(self, function_name: str) -> bool:
        """The local host's stand-in for `AzureWebJobs.<name>.Disabled`: a comma-separated list of names."""
        return function_name in {n.strip() for n in self.disabled_functions.split(",")}

    def accepted_keys(self) -> frozenset[str]:
        return frozenset(k.strip() for k in (self.api_keys or "").split(",") if k.strip())


@cache
def get_settings() -> Settings:
    return Settings()

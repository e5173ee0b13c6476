"""Blob storage through azure-storage-blob: job containers, programs, SAS URLs.

Locally this talks to Azurite with its development account key, which also signs the SAS URLs. In
Azure it uses the managed identity, and SAS URLs are user-delegation SAS: signed with a key that Entra
ID grants the identity for a few hours, so no account key exists anywhere (the account disallows them).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlsplit

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import (
    BlobSasPermissions,
    BlobServiceClient,
    ContainerSasPermissions,
    ContentSettings,
    UserDelegationKey,
    generate_blob_sas,
    generate_container_sas,
)

from shared.domain.errors import DependencyError, InputNotFoundError, InputTooLargeError

# A user delegation key is asked for this long, and renewed when less than a SAS lifetime is left.
DELEGATION_KEY_LIFETIME = timedelta(hours=24)
MAX_DELEGATION_KEY_LIFETIME = timedelta(days=7)  # the longest Blob storage grants
KNOWN_CONTAINERS = 4096  # containers remembered as existing; an older one is created again (a 409, ignored)


def _transport() -> RequestsTransport:
    # Proxy settings are not read from the environment on every request (about 1 ms each).
    return RequestsTransport(use_env_settings=False, connection_timeout=10, read_timeout=60)


class BlobArtifactStore:
    def __init__(self, client: BlobServiceClient) -> None:
        self._client = client
        self._base = client.url.rstrip("/")
        self._account: str = client.account_name or ""
        self._key: str | None = getattr(client.credential, "account_key", None)
        self._delegation: UserDelegationKey | None = None
        self._delegation_expiry = datetime.min.replace(tzinfo=UTC)
        # Containers created lately, newest last: a job's own is made at sasUri and named again at submit.
        self._known: OrderedDict[str, None] = OrderedDict()
        self._known_lock = threading.Lock()

    @classmethod
    def from_connection_string(cls, connection_string: str) -> BlobArtifactStore:
        return cls(BlobServiceClient.from_connection_string(connection_string, transport=_transport()))

    @classmethod
    def from_identity(cls, service_uri: str, credential: TokenCredential) -> BlobArtifactStore:
        return cls(BlobServiceClient(service_uri, credential=credential, transport=_transport()))

    @property
    def client(self) -> BlobServiceClient:
        return self._client

    def ensure_container(self, container: str) -> None:
        with self._known_lock:
            if container in self._known:
                self._known.move_to_end(container)
                return
        try:
            self._client.create_container(container)
        except ResourceExistsError:
            pass
        except AzureError as error:
            raise DependencyError(f"Blob storage failed creating container '{container}': {error}") from error
        with self._known_lock:
            self._known[container] = None
            if len(self._known) > KNOWN_CONTAINERS:
                self._known.popitem(last=False)

    def put(self, container: str, blob: str, data: bytes, content_type: str, *, overwrite: bool = True) -> bool:
        client = self._client.get_blob_client(container, blob)
        settings = ContentSettings(content_type=content_type)
        try:
            client.upload_blob(data, overwrite=overwrite, content_settings=settings)
        except ResourceExistsError:
            return False
        except ResourceNotFoundError:
            self._forget(container)
            self.ensure_container(container)
            return self.put(container, blob, data, content_type, overwrite=overwrite)
        except AzureError as error:
            raise DependencyError(f"Blob storage failed writing {container}/{blob}: {error}") from error
        return True

    def get(self, container: str, blob: str, *, max_bytes: int) -> bytes:
        client = self._client.get_blob_client(container, blob)
        try:
            downloader = client.download_blob(max_concurrency=1)
            size = downloader.size
            if size > max_bytes:
                raise InputTooLargeError(
                    f"Blob {container}/{blob} is {size} bytes; the limit is {max_bytes}.", target="inputData"
                )
            return downloader.readall()
        except ResourceNotFoundError:
            raise InputNotFoundError(f"Blob {container}/{blob} does not exist.", target="inputDataUri") from None
        except AzureError as error:
            raise DependencyError(f"Blob storage failed reading {container}/{blob}: {error}") from error

    def _forget(self, container: str) -> None:
        with self._known_lock:
            self._known.pop(container, None)

    def retain(self, container: str, blob: str, data: bytes, content_type: str) -> None:
        """Nothing to do: Blob storage keeps what it acknowledged."""

    def delete_container(self, container: str) -> None:
        self._forget(container)
        try:
            self._client.delete_container(container)
        except ResourceNotFoundError:
            pass
        except AzureError as error:
            raise DependencyError(f"Blob storage failed deleting container '{container}': {error}") from error

    def list_blobs(self, container: str) -> list[tuple[str, str]]:
        """(name, etag) of every blob in a container; empty when the container does not exist."""
        try:
            return [(b.name, b.etag) for b in self._client.get_container_client(container).list_blobs()]
        except ResourceNotFoundError:
            return []
        except AzureError as error:
            raise DependencyError(f"Blob storage failed listing '{container}': {error}") from error

    def read_with_metadata(
        self, container: str, blob: str, *, max_bytes: int
    ) -> tuple[bytes | None, int, dict[str, str]] | None:
        """(body, size, metadata) of a blob, None if it is gone; the body is None, never read, past `max_bytes`.

        The size comes from the blob's properties, and the download asks for exactly that many bytes of that
        version (a blob replaced in between is a DependencyError: its new version is read on its own).
        """
        client = self._client.get_blob_client(container, blob)
        try:
            properties = client.get_blob_properties()
            metadata = dict(properties.metadata or {})
            if properties.size > max_bytes:
                return None, properties.size, metadata
            if properties.size == 0:
                return b"", 0, metadata
            downloader = client.download_blob(max_concurrency=1, offset=0, length=properties.size)
            if downloader.properties.etag != properties.etag:
                raise DependencyError(f"Blob {container}/{blob} changed while it was read.")
            return downloader.readall(), properties.size, metadata
        except ResourceNotFoundError:
            return None
        except AzureError as error:
            raise DependencyError(f"Blob storage failed reading {container}/{blob}: {error}") from error

    def blob_url(self, container: str, blob: str) -> str:
        return f"{self._base}/{container}/{blob}"

    def container_url(self, container: str) -> str:
        return f"{self._base}/{container}"

    def locate(self, url: str) -> tuple[str, str] | None:
        parts = urlsplit(url)
        base = urlsplit(self._base)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) or not parts.path.startswith(base.path + "/"):
            return None
        container, _, blob = unquote(parts.path[len(base.path) + 1 :]).partition("/")
        if not container or not blob:
            return None
        return container, blob

    def sas_token(self, container: str, blob: str | None, permissions: str, ttl: timedelta) -> str:
        now = datetime.now(UTC)
        key = None if self._key else self._delegation_key(now, ttl)
        start = now - timedelta(minutes=5)  # clients' clocks may run behind
        if blob is None:
            return generate_container_sas(
                self._account,
                container,
                account_key=self._key,
                user_delegation_key=key,
                permission=ContainerSasPermissions.from_string(permissions),
                expiry=now + ttl,
                start=start,
            )
        return generate_blob_sas(
            self._account,
            container,
            blob,
            account_key=self._key,
            user_delegation_key=key,
            permission=BlobSasPermissions.from_string(permissions),
            expiry=now + ttl,
            start=start,
        )

    def _delegation_key(self, now: datetime, ttl: timedelta) -> UserDelegationKey:
        """A user delegation key that outlives a SAS of `ttl` made now; asked for again when it would not."""
        if self._delegation is None or self._delegation_expiry < now + ttl:
            expiry = now + min(MAX_DELEGATION_KEY_LIFETIME, max(DELEGATION_KEY_LIFETIME, ttl + timedelta(hours=1)))
            try:
                self._delegation = self._client.get_user_delegation_key(now - timedelta(minutes=5), expiry)
            except AzureError as error:
                raise DependencyError(f"Blob storage refused a user delegation key: {error}") from error
            self._delegation_expiry = expiry
        return self._delegation

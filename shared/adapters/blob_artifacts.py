"""Blob storage through azure-storage-blob: job containers, programs, SAS URLs.

Locally this talks to Azurite with its development account key, which also signs the SAS URLs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlsplit

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import (
    BlobSasPermissions,
    BlobServiceClient,
    ContainerSasPermissions,
    ContentSettings,
    generate_blob_sas,
    generate_container_sas,
)

from shared.domain.errors import DependencyError, InputNotFoundError, InputTooLargeError


class BlobArtifactStore:
    def __init__(self, connection_string: str) -> None:
        # Proxy settings are not read from the environment on every request (about 1 ms each).
        transport = RequestsTransport(use_env_settings=False, connection_timeout=10, read_timeout=60)
        self._client = BlobServiceClient.from_connection_string(connection_string, transport=transport)
        self._base = self._client.url.rstrip("/")
        self._account: str = self._client.account_name or ""
        credential = self._client.credential
        self._key: str | None = getattr(credential, "account_key", None)
        self._known: set[str] = set()

    @property
    def client(self) -> BlobServiceClient:
        return self._client

    def ensure_container(self, container: str) -> None:
        if container in self._known:
            return
        try:
            self._client.create_container(container)
        except ResourceExistsError:
            pass
        except AzureError as error:
            raise DependencyError(f"Blob storage failed creating container '{container}': {error}") from error
        self._known.add(container)

    def put(self, container: str, blob: str, data: bytes, content_type: str, *, overwrite: bool = True) -> bool:
        client = self._client.get_blob_client(container, blob)
        settings = ContentSettings(content_type=content_type)
        try:
            client.upload_blob(data, overwrite=overwrite, content_settings=settings)
        except ResourceExistsError:
            return False
        except ResourceNotFoundError:
            self._known.discard(container)
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

    def delete_container(self, container: str) -> None:
        self._known.discard(container)
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

    def read_with_metadata(self, container: str, blob: str) -> tuple[bytes, dict[str, str]] | None:
        try:
            downloader = self._client.get_blob_client(container, blob).download_blob(max_concurrency=1)
            return downloader.readall(), dict(downloader.properties.metadata or {})
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

    def container_sas_url(self, container: str, ttl: timedelta) -> str:
        sas = generate_container_sas(
            self._account,
            container,
            account_key=self._require_key(),
            permission=ContainerSasPermissions(read=True, add=True, create=True, write=True, list=True),
            expiry=datetime.now(UTC) + ttl,
            start=datetime.now(UTC) - timedelta(minutes=5),
        )
        return f"{self.container_url(container)}?{sas}"

    def blob_sas_url(self, container: str, blob: str, ttl: timedelta) -> str:
        sas = generate_blob_sas(
            self._account,
            container,
            blob,
            account_key=self._require_key(),
            permission=BlobSasPermissions(read=True),
            expiry=datetime.now(UTC) + ttl,
            start=datetime.now(UTC) - timedelta(minutes=5),
        )
        return f"{self.blob_url(container, blob)}?{sas}"

    def _require_key(self) -> str:
        if self._key is None:
            raise DependencyError("This storage connection has no account key to sign SAS URLs with.")
        return self._key

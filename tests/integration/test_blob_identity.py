"""Blob storage by identity, as in Azure: bearer tokens, and SAS URLs signed with a user delegation key.

Azurite with `--oauth basic` plays the account: it takes any well-formed Entra ID token (it does not
check the signature) and grants user delegation keys, and it checks the SAS signatures made with them.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient, ContainerClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared.adapters.blob_artifacts import BlobArtifactStore
from tests.servers import azurite_oauth

pytestmark = pytest.mark.integration

TENANT = "ab1f708d-50f6-404c-a006-d71b2ac7a606"
IDENTITY = "11111111-2222-3333-4444-555555555555"


class ManagedIdentityToken:
    """Tokens shaped like the ones Entra ID issues a managed identity for Blob storage."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        now = int(time.time())
        claims = {
            "aud": "https://storage.azure.com",
            "iss": f"https://sts.windows.net/{TENANT}/",
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + 3600,
            "oid": IDENTITY,
            "tid": TENANT,
        }
        parts = [{"alg": "none", "typ": "JWT"}, claims]
        encoded = [base64.urlsafe_b64encode(json.dumps(p).encode()).rstrip(b"=").decode() for p in parts]
        return AccessToken(".".join([*encoded, "unsigned"]), now + 3600)


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    cert, key = self_signed(tmp_path_factory.mktemp("tls"))
    with azurite_oauth(cert, key) as port:
        yield f"https://127.0.0.1:{port}/devstoreaccount1", cert


def store(account: tuple[str, Path]) -> BlobArtifactStore:
    url, cert = account
    return BlobArtifactStore(BlobServiceClient(url, credential=ManagedIdentityToken(), connection_verify=str(cert)))


def test_the_store_works_with_a_token_and_no_account_key(account: tuple[str, Path]) -> None:
    blobs = store(account)
    blobs.ensure_container("job-identity")
    assert blobs.put("job-identity", "inputData", b"program", "text/plain")
    assert blobs.get("job-identity", "inputData", max_bytes=100) == b"program"


def test_sas_urls_are_user_delegation_sas_that_grant_what_they_say(account: tuple[str, Path]) -> None:
    blobs = store(account)
    blobs.ensure_container("job-sas")
    container, ten_minutes = blobs.container_url("job-sas"), timedelta(minutes=10)
    upload_token = blobs.sas_token("job-sas", "inputData", "c", ten_minutes)
    query = parse_qs(upload_token)
    assert query["skoid"] == [IDENTITY] and query["sktid"] == [TENANT], "signed by the identity's delegation key"
    cert = str(account[1])
    uploader = ContainerClient.from_container_url(f"{container}?{upload_token}", connection_verify=cert)
    uploader.upload_blob("inputData", b"program")
    with pytest.raises(HttpResponseError):
        uploader.upload_blob("rawOutputData", b"a blob the token does not name")
    reader_token = blobs.sas_token("job-sas", None, "rl", ten_minutes)
    reader = ContainerClient.from_container_url(f"{container}?{reader_token}", connection_verify=cert)
    assert {b.name for b in reader.list_blobs()} == {"inputData"}
    with pytest.raises(HttpResponseError):
        reader.upload_blob("uploaded", b"read and list grant no write")

    blob_url = f"{container}/inputData?{blobs.sas_token('job-sas', 'inputData', 'r', ten_minutes)}"
    assert requests.get(blob_url, verify=cert, timeout=10).content == b"program"
    assert (
        requests.put(blob_url, data=b"x", headers={"x-ms-blob-type": "BlockBlob"}, verify=cert, timeout=10).status_code
        == 403
    )
    tampered = blob_url.replace("sig=", "sig=AAAA")
    assert requests.get(tampered, verify=cert, timeout=10).status_code == 403


def test_one_delegation_key_signs_many_urls(account: tuple[str, Path]) -> None:
    blobs = store(account)
    blobs.ensure_container("job-reuse")
    starts = {parse_qs(blobs.sas_token("job-reuse", None, "rl", timedelta(minutes=10)))["skt"][0] for _ in range(3)}
    assert len(starts) == 1, "the key is reused while it outlives the SAS, not asked for on every URL"

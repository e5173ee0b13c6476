"""The local host's own managed identity (LOCAL_HTTPS): bearer tokens in exchange for the API key.

Tokens are shaped as Microsoft Entra ID issues them to a system-assigned managed identity (v1.0, `xms_mirid`,
`idtyp` app) and signed by a key made once under the state folder, so that `az login --identity` and
azure-identity's ManagedIdentityCredential take them, and the host's own token validation (`EntraTokens`, with
this key in place of a tenant's JWKS) accepts them. The identity is a contributor of the workspace, as the key
holder is; the key stays the only secret a person handles.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.api.auth import EntraTokens
from shared.config import Settings
from shared.domain.errors import AuthenticationError, InvalidRequestError

# The local stand-ins for the tenant, the identity's service principal (object id) and its application (client id).
LOCAL_TENANT = "10ca1000-0000-4000-8000-000000000000"
LOCAL_PRINCIPAL = "10ca1000-0000-4000-8000-000000000001"
LOCAL_CLIENT = "10ca1000-0000-4000-8000-000000000002"
TOKEN_LIFETIME = timedelta(hours=1)
KEY_FILE = "identity-key.pem"
PEM = serialization.Encoding.PEM


def write_private(path: Path, data: bytes) -> None:
    """Write a file whole or not at all, readable by its owner only."""
    written = path.with_suffix(".tmp")
    descriptor = os.open(written, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    written.replace(path)


class IdentityKeyRejectedError(AuthenticationError):
    default_message = "The identity header is not an API key of this service."
    code = "InvalidIdentityHeader"


def management_url(settings: Settings) -> str:
    """The resource manager of the local cloud (`az cloud register --endpoint-resource-manager`); no trailing slash."""
    return f"{settings.api_base_url}management"


def management_audience(settings: Settings) -> str:
    """The audience of management tokens, as the cloud's metadata names it (ARM's own ends with a slash)."""
    return f"{management_url(settings)}/"


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_on: int  # seconds since the epoch
    resource: str


class LocalIdentity:
    """Issues and verifies the local host's tokens; `EntraTokens` takes it as its signing keys."""

    def __init__(self, key: rsa.RSAPrivateKey, settings: Settings) -> None:
        self._key = key
        self._settings = settings
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        self._kid = hashlib.sha256(public["n"].encode()).hexdigest()[:32]
        self._public = jwt.PyJWK({**public, "kid": self._kid, "alg": "RS256", "use": "sig"})

    @classmethod
    def load(cls, settings: Settings) -> LocalIdentity:
        """The identity whose key is kept under the state folder, made there (readable by its owner only) once."""
        path = settings.local_state_dir / KEY_FILE
        if not path.exists():
            made = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            write_private(
                path, made.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            )
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{path} holds no RSA private key; delete it and a new one is made at start.")
        return cls(key, settings)

    def exchange(self, presented_key: str, resource: str, now: datetime) -> IssuedToken:
        """A token for `resource` (the workspace API or the local management), for one of the service's API keys."""
        presented = presented_key.encode("utf-8", "surrogatepass")
        if not presented or not any(hmac.compare_digest(presented, k.encode()) for k in self._settings.accepted_keys()):
            raise IdentityKeyRejectedError()
        known = (self._settings.entra_audience, management_audience(self._settings))
        if resource.rstrip("/") not in {k.rstrip("/") for k in known}:
            raise InvalidRequestError(
                f"No token is issued for '{resource}'; the resources here are {' and '.join(known)}.", target="resource"
            )
        expires = now + TOKEN_LIFETIME
        claims = {
            "aud": resource,
            "iss": f"https://sts.windows.net/{LOCAL_TENANT}/",
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "tid": LOCAL_TENANT,
            "oid": LOCAL_PRINCIPAL,
            "sub": LOCAL_PRINCIPAL,
            "appid": LOCAL_CLIENT,
            "idtyp": "app",
            "xms_mirid": f"/{self._settings.workspace_path}",
        }
        token = jwt.encode(claims, self._key, "RS256", {"kid": self._kid})
        return IssuedToken(token, int(expires.timestamp()), resource)

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK:
        if jwt.get_unverified_header(token).get("kid") != self._kid:
            raise jwt.InvalidTokenError("the token was not signed by this host's identity")
        return self._public

    def tokens(self, audience: str | None = None) -> EntraTokens:
        """Validation of this identity's tokens for the workspace API, or for `audience`."""
        local = self._settings.model_copy(
            update={"entra_tenant_id": LOCAL_TENANT, "entra_contributors": LOCAL_PRINCIPAL, "entra_readers": ""}
        )
        return EntraTokens(local, keys=self, audience=audience)

"""Microsoft Entra ID bearer tokens, as Azure Quantum takes them beside API keys (the SDK's default credential).

A token is accepted when its signature checks against the tenant's published signing keys (JWKS), and its
audience, issuer and tenant are this deployment's. Who it names decides what it may do: a principal listed
as a contributor may do everything an API key may; one listed as a reader may look but not change.
"""

from __future__ import annotations

from typing import Protocol

import jwt

from shared.config import Settings
from shared.domain.callers import Caller, CallerKind
from shared.domain.errors import AuthenticationError, DependencyError, ForbiddenError


class TokenRejectedError(AuthenticationError):
    default_message = "The bearer token is not valid for this workspace."
    code = "InvalidAuthenticationToken"


class SigningKeys(Protocol):
    """Where the key that signed a token is found: the tenant's JWKS (PyJWKClient), or a key held here."""

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK: ...


class EntraTokens:
    """Validates bearer tokens against one tenant; signing keys are fetched once and cached for an hour.

    `keys` replaces the tenant's published keys, and `audience` the API's own (ENTRA_AUDIENCE), for the local
    host's own tokens (shared/localhost/cloud.py).
    """

    def __init__(self, settings: Settings, keys: SigningKeys | None = None, audience: str | None = None) -> None:
        tenant = settings.entra_tenant_id or ""
        self._tenant = tenant
        # A resource is named with or without its trailing slash, and a token carries it as it was asked for.
        named = (audience or settings.entra_audience).rstrip("/")
        self._audience = [named, f"{named}/"]
        # v1.0 and v2.0 tokens name the tenant's issuer differently; Azure Quantum's resource takes both.
        self._issuers = [f"https://sts.windows.net/{tenant}/", f"https://login.microsoftonline.com/{tenant}/v2.0"]
        jwks_uri = settings.entra_jwks_uri or f"https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys"
        self._keys = keys or jwt.PyJWKClient(jwks_uri, cache_keys=True, lifespan=3600, timeout=10)
        self._contributors = _names(settings.entra_contributors)
        self._readers = _names(settings.entra_readers)

    def caller(self, token: str) -> Caller:
        """The caller a token names; raises TokenRejectedError (401) or ForbiddenError (403, no role)."""
        try:
            key = self._keys.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self._audience,
                issuer=self._issuers,
                leeway=60,
                options={"require": ["exp", "iss", "aud", "tid", "oid"]},
            )
        except jwt.PyJWKClientConnectionError as error:
            raise DependencyError(f"The tenant's signing keys could not be fetched: {error}") from None
        except jwt.PyJWTError as error:
            raise TokenRejectedError(f"The bearer token is not valid for this workspace: {error}.") from None
        if claims["tid"] != self._tenant:
            raise TokenRejectedError("The bearer token was issued for another tenant.")
        oid = str(claims["oid"])
        name = next(
            (str(claims[c]) for c in ("upn", "preferred_username", "unique_name", "appid", "azp") if claims.get(c)), oid
        )
        if _listed(oid, self._contributors):
            return Caller(kind=_kind(claims), name=name, contributor=True)
        if _listed(oid, self._readers):
            return Caller(kind=_kind(claims), name=name, contributor=False)
        raise ForbiddenError(f"The principal {oid} ({name}) has no role on this workspace.")


def _kind(claims: dict[str, object]) -> CallerKind:
    if claims.get("xms_mirid"):
        return "ManagedIdentity"
    return "Application" if claims.get("idtyp") == "app" else "User"


def _names(setting: str) -> frozenset[str]:
    return frozenset(n.strip().lower() for n in setting.split(",") if n.strip())


def _listed(oid: str, names: frozenset[str]) -> bool:
    return "*" in names or oid.lower() in names

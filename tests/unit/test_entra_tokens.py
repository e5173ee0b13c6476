"""Bearer tokens checked as Azure Quantum checks them: signature against the tenant's JWKS, audience, issuer,
tenant and lifetime; the principal's role decides what it may do (finding F20)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from shared.api.auth import EntraTokens, TokenRejectedError
from shared.config import Settings
from shared.domain.errors import DependencyError, ForbiddenError
from tests.entra import TENANT, SigningKey, jwks_server
from tests.servers import free_port

WRITER = "11111111-1111-4111-8111-111111111111"
READER = "22222222-2222-4222-8222-222222222222"
STRANGER = "33333333-3333-4333-8333-333333333333"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey()


@pytest.fixture(scope="module")
def tokens(key: SigningKey) -> Iterator[EntraTokens]:
    with jwks_server(key) as url:
        settings = Settings(entra_tenant_id=TENANT, entra_jwks_uri=url, entra_contributors=WRITER, entra_readers=READER)
        yield EntraTokens(settings)


def test_a_contributor_and_a_reader(tokens: EntraTokens, key: SigningKey) -> None:
    writer = tokens.caller(key.token(WRITER))
    assert (writer.kind, writer.name, writer.contributor) == ("User", "11111111@contoso.example", True)
    reader = tokens.caller(key.token(READER, upn=None, idtyp="app", appid="my-app"))
    assert (reader.kind, reader.name, reader.contributor) == ("Application", "my-app", False)
    identity = tokens.caller(key.token(WRITER, upn=None, idtyp="app", xms_mirid="/subscriptions/s/id"))
    assert identity.kind == "ManagedIdentity"


def test_a_principal_with_no_role_is_forbidden(tokens: EntraTokens, key: SigningKey) -> None:
    with pytest.raises(ForbiddenError, match=STRANGER):
        tokens.caller(key.token(STRANGER))


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        pytest.param({"exp": int(time.time()) - 3600}, "expired", id="expired"),
        pytest.param({"aud": "https://management.azure.com"}, "Audience", id="another-audience"),
        pytest.param({"iss": "https://sts.windows.net/another-tenant/"}, "issuer", id="another-issuer"),
        pytest.param({"tid": "another-tenant"}, "another tenant", id="another-tenant"),
        pytest.param({"subject": None}, "oid", id="no-object-id"),
    ],
)
def test_tokens_for_something_else_are_refused(
    tokens: EntraTokens, key: SigningKey, claims: dict[str, object], words: str
) -> None:
    subject = claims.pop("subject", WRITER)
    assert subject is None or isinstance(subject, str)
    token = key.token(subject, **claims)
    with pytest.raises(TokenRejectedError, match=words):
        tokens.caller(token)


def test_a_token_signed_by_another_key_is_refused(tokens: EntraTokens, key: SigningKey) -> None:
    impostor = SigningKey()
    impostor.kid = key.kid  # claims to be the tenant's key
    with pytest.raises(TokenRejectedError, match="Signature"):
        tokens.caller(impostor.token(WRITER))
    with pytest.raises(TokenRejectedError):
        tokens.caller(SigningKey().token(WRITER))  # a key the tenant never published
    with pytest.raises(TokenRejectedError):
        tokens.caller(key.token(WRITER).rsplit(".", 1)[0] + ".")  # signature stripped
    with pytest.raises(TokenRejectedError):
        tokens.caller("not a token")


def test_unreachable_signing_keys_are_a_dependency_failure(key: SigningKey) -> None:
    settings = Settings(
        entra_tenant_id=TENANT, entra_jwks_uri=f"http://127.0.0.1:{free_port()}/keys", entra_contributors="*"
    )
    with pytest.raises(DependencyError):
        EntraTokens(settings).caller(key.token(WRITER))

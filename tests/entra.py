"""A stand-in for Microsoft Entra ID's token signing: an RSA key, its JWKS served on 127.0.0.1, and tokens."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

TENANT = "72f988bf-0000-4000-8000-000000000001"
AUDIENCE = "https://quantum.microsoft.com"


class SigningKey:
    def __init__(self) -> None:
        self.kid = uuid.uuid4().hex
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def token(self, oid: str | None, **claims: Any) -> str:
        """A v1.0 access token for Azure Quantum's resource, as `az login` users and apps get one."""
        now = int(time.time())
        body = {
            "aud": AUDIENCE,
            "iss": f"https://sts.windows.net/{TENANT}/",
            "tid": TENANT,
            "oid": oid,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "upn": f"{(oid or 'nobody')[:8]}@contoso.example",
        } | claims
        return jwt.encode({k: v for k, v in body.items() if v is not None}, self.private, "RS256", {"kid": self.kid})


@contextmanager
def jwks_server(*keys: SigningKey) -> Iterator[str]:
    """Serve the keys' JWKS; yields its URL."""
    document = json.dumps({"keys": [k.jwk() for k in keys]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{TENANT}/discovery/v2.0/keys"
    finally:
        server.shutdown()
        server.server_close()

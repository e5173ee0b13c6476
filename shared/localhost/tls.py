"""HTTPS for the local host (LOCAL_HTTPS): a certificate authority and a server certificate for 127.0.0.1 and
localhost, made once under the state folder, and the listening socket wrapped in TLS.

Clients trust the authority's certificate, `<state folder>/tls/ca.pem`: `REQUESTS_CA_BUNDLE` for the Azure
SDKs and the `az` CLI, `--cacert` for curl. Nothing is ever signed with the authority's key but the server's
certificate, and both are made again when the server's nears its end.
"""

from __future__ import annotations

import ipaddress
import socketserver
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shared.api.local_identity import PEM, write_private
from shared.config import Settings

VALIDITY = timedelta(days=365)
RENEW_BEFORE = timedelta(days=30)


def folder(settings: Settings) -> Path:
    return settings.local_state_dir / "tls"


def ca_bundle(settings: Settings) -> Path:
    """The certificate a client trusts to reach the local host over https."""
    return folder(settings) / "ca.pem"


def secure(server: socketserver.TCPServer, settings: Settings) -> None:
    """Serve TLS on the server's listening socket when LOCAL_HTTPS is on; nothing otherwise.

    The handshake happens on a connection's first read, in the thread that serves it, under the idle
    timeout of the connection: never in the thread that accepts connections.
    """
    if settings.local_https:
        context = server_context(settings)
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)


def server_context(settings: Settings) -> ssl.SSLContext:
    certificate, key = _certificate(settings, datetime.now(UTC))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, key)
    return context


def _certificate(settings: Settings, now: datetime) -> tuple[Path, Path]:
    """The server's certificate and key, made (with a new authority) when missing or near their end."""
    where = folder(settings)
    certificate, key = where / "server.pem", where / "server-key.pem"
    if certificate.exists() and key.exists() and ca_bundle(settings).exists():
        expires = x509.load_pem_x509_certificate(certificate.read_bytes()).not_valid_after_utc
        if expires - now > RENEW_BEFORE:
            return certificate, key
    where.mkdir(parents=True, exist_ok=True)
    authority_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    authority = _name("Quantum job service local CA")
    ca = (
        _builder(authority, authority, authority_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(signs_certificates=True), critical=True)
        .sign(authority_key, hashes.SHA256())
    )
    server = (
        _builder(_name("127.0.0.1"), authority, server_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(signs_certificates=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(authority_key.public_key()), critical=False)
        .sign(authority_key, hashes.SHA256())
    )
    private = serialization.PrivateFormat.PKCS8
    write_private(key, server_key.private_bytes(PEM, private, serialization.NoEncryption()))
    write_private(certificate, server.public_bytes(PEM))
    write_private(ca_bundle(settings), ca.public_bytes(PEM))
    return certificate, key


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, now: datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _usage(*, signs_certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )

"""A real SMTP server on loopback for tests (aiosmtpd), collecting every message it receives.

Fixtures: `smtp_server` (plain), `smtp_auth_server` (asks for a login), `smtp_starttls_server`
(STARTTLS required) and `smtps_server` (TLS from the start). The TLS servers use a self-signed
certificate made at test time; a test trusts it by pointing SSL_CERT_FILE at `server.cert`.
`running(**controller_options)` starts a one-off server for anything else.
"""

from __future__ import annotations

import datetime as dt
import email
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from pipeline.core.config import SmtpConfig

HOST = "127.0.0.1"
SENDER = "Partnerships Team <partnerships@authority.example>"
USERNAME = "clerk"
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Received:
    """One message as the server got it; `peer` is the client's (address, port), one per connection."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    peer: tuple[str, int]
    authenticated: bool


class Collector:
    """The aiosmtpd handler: keeps each message, parsed, and accepts it."""

    def __init__(self) -> None:
        self.received: list[Received] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message,
                                      tuple(session.peer), bool(session.authenticated)))
        return "250 Message accepted for delivery"


def check_login(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    """aiosmtpd authenticator: only USERNAME with PASSWORD gets in."""
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USERNAME.encode()
          and auth_data.password == PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # not handled: the server answers 535


@dataclass
class LoopbackSmtp:
    host: str
    port: int
    collector: Collector
    cert: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def received(self) -> list[Received]:
        return self.collector.received

    def config(self, **changes: Any) -> SmtpConfig:
        """Settings that reach this server; `changes` as in pipeline.toml's [smtp]."""
        settings = {"host": self.host, "port": self.port, "sender": SENDER, "timeout": 5.0}
        return SmtpConfig(**(settings | changes))


def free_port() -> int:
    """A port nothing listens on just now (for servers, and for "connection refused")."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@contextmanager
def running(cert: Path | None = None, **options: Any) -> Iterator[LoopbackSmtp]:
    """Start an aiosmtpd server on a free loopback port; stop it afterwards."""
    collector = Collector()
    for attempt in range(5):
        port = free_port()
        controller = Controller(collector, hostname=HOST, port=port, **options)
        try:
            controller.start()
            break
        except OSError:  # the port was taken between probing and binding: try another
            if attempt == 4:
                raise
    try:
        yield LoopbackSmtp(HOST, port, collector, cert, options)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[LoopbackSmtp]:
    with running() as server:
        yield server


@pytest.fixture
def smtp_auth_server() -> Iterator[LoopbackSmtp]:
    with running(authenticator=check_login, auth_require_tls=False, auth_required=True) as server:
        yield server


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (certificate file, key file)."""
    x509 = pytest.importorskip("cryptography.x509", reason="cryptography makes the test certificate")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def smtp_starttls_server(tls_certificate: tuple[Path, Path]) -> Iterator[LoopbackSmtp]:
    context = _server_context(tls_certificate)
    with running(tls_certificate[0], tls_context=context, require_starttls=True) as server:
        yield server


@pytest.fixture
def smtps_server(tls_certificate: tuple[Path, Path]) -> Iterator[LoopbackSmtp]:
    with running(tls_certificate[0], ssl_context=_server_context(tls_certificate)) as server:
        yield server

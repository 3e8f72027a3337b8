"""HTTP(S) servers on loopback that record what they are sent, and a self-signed certificate for a name."""
from __future__ import annotations

import datetime
import socket
import ssl
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.chain.http_peer import QuietServer, send, start, stop


@dataclass
class Listener:
    """One server: the requests it took (path, Host header, signature header, body) and the TLS names asked."""

    server: QuietServer
    received: list[dict] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def stop(self) -> None:
        stop(self.server)


class _IPv6Server(QuietServer):
    """A server on an IPv6 address."""

    address_family = socket.AF_INET6


def listen(host: str, port: int = 0, *, status: int = 200, location: str | None = None,
           certificate: tuple[Path, Path] | None = None) -> Listener:
    """A server on (host, port), an IPv4 or IPv6 address, answering every POST with `status` (and `location`),
    over TLS when given a (certificate, key) pair."""
    box: list[Listener] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            box[0].received.append({"path": self.path, "host": self.headers["Host"], "body": body,
                                    "signature": self.headers.get("Signature")})
            send(self, status, b'{"reference":"seen"}',
                 {"Content-Type": "application/json", **({"Location": location} if location else {})})

        def log_message(self, *args):
            return None

    server_class = _IPv6Server if ":" in host else QuietServer
    listener = Listener(server_class((host, port), Handler))
    box.append(listener)
    if certificate:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*certificate)
        context.sni_callback = lambda _socket, name, _context: listener.server_names.append(name)
        listener.server.socket = context.wrap_socket(listener.server.socket, server_side=True)
    start(listener.server)
    return listener


def self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    """A certificate for the DNS name `name` (and no address), signed by its own key: (certificate, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    certificate_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return certificate_path, key_path

"""Two Lockdesk instances side by side: separate databases, separate exchange back offices, HTTP on loopback."""
from __future__ import annotations

import base64
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from werkzeug.serving import make_server

from app import create_app
from app.db import make_engine, make_sessionmaker
from exchange_sim.server import ExchangeServer, KeepAliveHandler
from tests import services
from tests.conftest import make_settings
from tests.incidents.exchange_peer import API_KEY, API_SECRET, http_exchange_settings


def seed_b64(index: int) -> str:
    """A fixed Ed25519 seed per instance."""
    return base64.b64encode(bytes([index]) * 32).decode()


def public_b64(seed: str) -> str:
    """The public key of a seed, as PEER_EXCHANGES gives it."""
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed))
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def key_id(seed: str) -> str:
    """The key id the instance gives its key (app.signing's rule)."""
    from app.signing import public_key_id

    return public_key_id(base64.b64decode(public_b64(seed)))


@dataclass
class Instance:
    """One running Lockdesk: its app, URL, exchange back office and HTTP server."""

    name: str
    app: object
    url: str
    exchange: ExchangeServer
    server: object
    engine: object

    def tick(self, rounds: int = 1) -> None:
        """What the worker would do: send the peer outbox, run the exchange outbox, seal the audit chain."""
        ports = self.app.extensions["lockdesk"].ports
        for _ in range(rounds):
            ports.dispatcher.drain()
            ports.peer_jobs()

    def api(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        """Call this instance's API over HTTP."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.request(method, self.url + path, headers=headers, timeout=20, **kwargs)

    def stop(self) -> None:
        """Stop serving (the database and exchange stay)."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def start(self, port: int) -> None:
        """Serve on the given port in a thread."""
        self.server = make_server("127.0.0.1", port, self.app, threaded=True, request_handler=KeepAliveHandler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def build(name: str, *, database_url: str, tmp_path: Path, port: int, seed: str, peers: dict,
          extra: dict | None = None) -> Instance:
    """An instance with its own exchange back office over its own database, served on loopback."""
    engine = make_engine(database_url)
    exchange = ExchangeServer(make_sessionmaker(engine), api_key=API_KEY, secret=API_SECRET).start()
    folder = tmp_path / name
    folder.mkdir()
    os.environ["LOCKDESK_INSTANCE_PATH"] = str(folder)
    settings = {**make_settings(database_url, folder), **http_exchange_settings(exchange),
                "SIGNING_KEY": seed, "EXCHANGE_NAME": name, "PEER_EXCHANGES": peers,
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", **(extra or {})}
    app = create_app(settings)
    instance = Instance(name=name, app=app, url=f"http://127.0.0.1:{port}", exchange=exchange, server=None,
                        engine=engine)
    instance.start(port)
    return instance


def free_port() -> int:
    """A port nobody listens on."""
    return services.free_port()

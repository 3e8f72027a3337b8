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
from exchange_sim.deposits import add_deposit_address
from tests.factories import exchange_account, make_staff, report_body
from tests.handoff.support import DEPOSIT, finished_trace
from tests.incidents.exchange_peer import backoffice_account, open_account


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


def beta_customer(pair, account_id: str = "V2002", address: str = DEPOSIT) -> None:
    """Beta's customer who received the stolen funds at a deposit address."""
    with pair.beta.app.extensions["lockdesk"].sessions() as session:
        if backoffice_account(session, account_id) is None:
            open_account(session, account_id)
        add_deposit_address(session, address=address, chain="ethereum", account_id=account_id)


def alpha_case(pair, **trace) -> tuple[str, str, str]:
    """A theft reported at Alpha and traced to Beta's deposit address: (incident id, trace id, agent token)."""
    exchange_account(pair.alpha.app, "U1001")
    answer = pair.alpha.api("POST", "/api/v1/reports", json=report_body("U1001")).json()
    incident_id = answer["incident"]["id"]
    trace_id = finished_trace(pair.alpha.app, incident_id, exchange="Beta", **trace)
    return incident_id, trace_id, make_staff(pair.alpha.app, "agent").token


def send(pair, trace_id: str, agent: str, **body):
    """Alpha's agent asks Beta to hold the deposits."""
    return pair.alpha.api("POST", f"/api/v1/traces/{trace_id}/freeze-requests", agent,
                          json={"exchange": "Beta", **body})

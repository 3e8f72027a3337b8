"""Fixtures of the hand-off tests: an instance with its signing key; two instances that are peers."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from app.cli import upgrade_database
from tests import services
from tests.handoff.pair import Instance, build, key_id, public_b64, seed_b64
from tests.handoff.support import SIGNING_SEED


@pytest.fixture
def settings(settings):
    """The test settings with this instance's Ed25519 signing key and name."""
    return {**settings, "SIGNING_KEY": SIGNING_SEED, "EXCHANGE_NAME": "Lockdesk Test Exchange"}


@pytest.fixture(scope="session")
def second_postgres_database() -> Iterator[str]:
    """The peer's own PostgreSQL database, migrated once per test process."""
    services.require("postgresql")
    name = services.create_database()
    upgrade_database(services.postgres_url(name))
    yield name
    services.drop_database(name)


@pytest.fixture
def peer_database_url(request, database_url, tmp_path) -> str:
    """A second fresh database on the same backend as `database_url`."""
    if database_url.startswith("sqlite"):
        path = tmp_path / "peer.sqlite"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    name = request.getfixturevalue("second_postgres_database")
    services.empty_database(name)
    return services.postgres_url(name)


# Alpha's next key, which Beta already accepts beside the current one (a rotation in progress).
ROTATED_KEY = {"key_id": key_id(seed_b64(3)), "public_key": public_b64(seed_b64(3))}


@dataclass
class Pair:
    """Alpha (where the theft is reported) and Beta (where the funds landed), peers of each other."""

    alpha: Instance
    beta: Instance
    ports: dict[str, int]


def peer_entry(name: str, port: int, seed: str, **extra) -> dict:
    """A PEER_EXCHANGES entry."""
    return {name: {"url": f"http://127.0.0.1:{port}", "key_id": key_id(seed), "public_key": public_b64(seed),
                   **extra}}


@pytest.fixture
def pair(database_url, peer_database_url, tmp_path, monkeypatch) -> Iterator[Pair]:
    """Two instances over HTTP on loopback, each with its own database and exchange back office."""
    monkeypatch.setenv("LOCKDESK_INSTANCE_PATH", str(tmp_path))
    ports = {"Alpha": services.free_port(), "Beta": services.free_port()}
    seeds = {"Alpha": seed_b64(1), "Beta": seed_b64(2)}
    alpha = build("Alpha", database_url=database_url, tmp_path=tmp_path, port=ports["Alpha"], seed=seeds["Alpha"],
                  peers=peer_entry("Beta", ports["Beta"], seeds["Beta"]))
    beta = build("Beta", database_url=peer_database_url, tmp_path=tmp_path, port=ports["Beta"], seed=seeds["Beta"],
                 peers=peer_entry("Alpha", ports["Alpha"], seeds["Alpha"], keys=[ROTATED_KEY]))
    yield Pair(alpha=alpha, beta=beta, ports=ports)
    for instance in (alpha, beta):
        instance.stop()
        instance.exchange.stop()
        instance.app.extensions["lockdesk"].engine.dispose()
        instance.engine.dispose()

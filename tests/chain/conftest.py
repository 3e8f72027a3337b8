"""Fixtures for the chain domain: a real anvil node, web3's in-process tester, local HTTP peers."""
from __future__ import annotations

import pytest
from web3 import EthereumTesterProvider, Web3

from app.db import make_engine, make_sessionmaker
from tests.chain.anvil import Anvil, anvil_binary
from tests.services import require


@pytest.fixture(scope="session")
def anvil():
    """A fresh anvil node for the test session (installed from npm on first use)."""
    binary = anvil_binary()
    if binary is None:
        require("anvil")
    node = Anvil(binary)
    yield node
    node.stop()


@pytest.fixture
def tester_w3():
    """web3 over eth-tester: an in-process chain with funded, unlocked accounts."""
    return Web3(EthereumTesterProvider())


@pytest.fixture
def chain_session(database_url):
    """A session on a freshly migrated database (SQLite, and PostgreSQL where present)."""
    engine = make_engine(database_url)
    session = make_sessionmaker(engine)()
    yield session
    session.close()
    engine.dispose()

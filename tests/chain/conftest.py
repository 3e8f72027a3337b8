"""Fixtures for the chain domain: a real anvil node, web3's in-process tester, local HTTP peers."""
from __future__ import annotations

import os

import pytest
from web3 import EthereumTesterProvider, Web3

from tests.chain.anvil import Anvil, anvil_binary


def require(name: str, reason: str) -> None:
    """Skip when a service is absent, unless LOCKDESK_REQUIRE names it (then fail)."""
    try:
        from tests.services import require as shared_require
    except ImportError:
        shared_require = None
    if shared_require is not None:
        shared_require(name)
        return
    wanted = {part.strip() for part in os.environ.get("LOCKDESK_REQUIRE", "").split(",")}
    if name in wanted:
        pytest.fail(f"{name} is required here but unavailable: {reason}")
    pytest.skip(f"{name} unavailable: {reason}")


@pytest.fixture(scope="session")
def anvil():
    """A fresh anvil node for the test session (installed from npm on first use)."""
    binary = anvil_binary()
    if binary is None:
        require("anvil", "no anvil binary and no npm to install @foundry-rs/anvil-linux-amd64")
    node = Anvil(binary)
    yield node
    node.stop()


@pytest.fixture
def tester_w3():
    """web3 over eth-tester: an in-process chain with funded, unlocked accounts."""
    return Web3(EthereumTesterProvider())

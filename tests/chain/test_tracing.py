"""The tracer and its three taint methods, on hand-made histories (no chain, no network)."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from chain.explorers.port import Transaction, Transfer
from chain.tracing import TraceBounds, amount_text, trace_funds

VICTIM, THIEF, MULE, SHOP, EXCHANGE = "0xv", "0xt", "0xm", "0xs", "0xe"


def _root(amount="10", to=THIEF) -> Transaction:
    return Transaction("0xroot", "confirmed", 5, 100, datetime(2026, 1, 1, tzinfo=UTC), VICTIM,
                       to, Decimal(amount), "ETH", Decimal("0.001"))


def _t(sender, receiver, amount, block, tx=None, asset="ETH") -> Transfer:
    return Transfer(tx or f"0x{sender}{receiver}{block}", sender, receiver, Decimal(amount),
                    asset, block)


class FakeHistory:
    """Outgoing transfers by address; records each level it was asked for."""

    def __init__(self, *transfers: Transfer):
        self.transfers = transfers
        self.calls: list[tuple[list[str], int]] = []

    def __call__(self, addresses, after_block):
        self.calls.append((list(addresses), after_block))
        return {a: [t for t in self.transfers if t.from_address == a
                    and t.block_number > after_block] for a in addresses}


def test_depth_zero_shows_only_the_root_transaction():
    history = FakeHistory(_t(THIEF, MULE, "5", 101))
    flow = trace_funds(_root(), history, bounds=TraceBounds(depth=0))
    assert [(e.transfer.from_address, e.transfer.to_address, e.hop) for e in flow.edges] == [
        (VICTIM, THIEF, 1)]
    assert history.calls == []


def test_each_hop_level_is_fetched_in_one_call():
    history = FakeHistory(_t(THIEF, MULE, "6", 101), _t(THIEF, SHOP, "4", 102),
                          _t(MULE, EXCHANGE, "6", 103), _t(SHOP, EXCHANGE, "1", 104))
    flow = trace_funds(_root(), history, bounds=TraceBounds(depth=3))
    assert history.calls == [([THIEF], 99), ([MULE, SHOP], 100), ([EXCHANGE], 102)]
    assert {a: n.hop for a, n in flow.nodes.items()} == {VICTIM: 0, THIEF: 1, MULE: 2, SHOP: 2,
                                                         EXCHANGE: 3}


def test_transfers_before_the_theft_arrived_are_not_followed():
    history = FakeHistory(_t(THIEF, SHOP, "3", 90), _t(THIEF, MULE, "5", 120))
    flow = trace_funds(_root(), history, bounds=TraceBounds(depth=1))
    assert SHOP not in flow.nodes and MULE in flow.nodes


def test_dust_and_fan_out_bounds_leave_edges_out_and_say_how_many():
    history = FakeHistory(*[_t(THIEF, f"0xr{i}", str(i + 1), 101 + i) for i in range(5)],
                          _t(THIEF, "0xdust", "0.0001", 110))
    flow = trace_funds(_root("100"), history,
                       bounds=TraceBounds(depth=1, max_fan_out=3, min_amount=Decimal("0.01")))
    assert sorted(e.transfer.to_address for e in flow.edges if e.hop == 2) == ["0xr2", "0xr3",
                                                                                "0xr4"]
    assert flow.nodes[THIEF].left_out == 3


def test_services_are_not_followed_further():
    history = FakeHistory(_t(THIEF, EXCHANGE, "10", 101), _t(EXCHANGE, SHOP, "10", 102))
    labels = {EXCHANGE: [{"category": "exchange", "label": "OKX"}]}
    flow = trace_funds(_root(), history, bounds=TraceBounds(depth=3),
                       labels_of=lambda a: labels.get(a, []))
    assert SHOP not in flow.nodes and flow.nodes[EXCHANGE].labels[0]["label"] == "OKX"


def test_the_three_methods_disagree_when_a_thief_mixes_in_clean_coins():
    # The thief gets 10 stolen ETH, already holds 10 clean ETH, and sends 10 to MULE then 10
    # to SHOP. Poison taints everything; haircut splits evenly; FIFO spends the clean coins
    # (the opening balance) first, so MULE is clean and SHOP got all the stolen coins.
    history = FakeHistory(_t(THIEF, MULE, "10", 101), _t(THIEF, SHOP, "10", 102))
    flow = trace_funds(_root(), history, bounds=TraceBounds(depth=1),
                       opening_balances={(THIEF, "ETH"): Decimal(10)})
    assert flow.nodes[MULE].taint["ETH"] == {"poison": 10, "haircut": 5, "fifo": 0}
    assert flow.nodes[SHOP].taint["ETH"] == {"poison": 10, "haircut": 5, "fifo": 10}


def test_haircut_keeps_exact_decimals_across_hops():
    history = FakeHistory(_t(THIEF, MULE, "3", 101), _t(THIEF, SHOP, "6", 101, tx="0xb"),
                          _t(MULE, EXCHANGE, "1", 102), _t(MULE, VICTIM + "2", "2", 103))
    flow = trace_funds(_root("9"), history, bounds=TraceBounds(depth=2))
    assert flow.nodes[EXCHANGE].taint["ETH"]["haircut"] == Decimal(1)
    assert flow.to_json()["edges"][0]["amount"] == "9"


def test_tokens_are_traced_as_their_own_asset():
    root = Transaction("0xroot", "confirmed", 5, 100, None, VICTIM, "0xtoken", Decimal(0), "ETH",
                       Decimal(0))
    from chain.explorers.port import TokenTransfer
    root = Transaction(**{**root.__dict__, "token_transfers": (
        TokenTransfer("0xtoken", "USDT", VICTIM, THIEF, Decimal("500"), 500_000_000),)})
    history = FakeHistory(_t(THIEF, MULE, "200", 101, asset="USDT"), _t(THIEF, SHOP, "1", 101,
                                                                        asset="ETH"))
    flow = trace_funds(root, history, bounds=TraceBounds(depth=1))
    assert MULE in flow.nodes and SHOP not in flow.nodes  # no stolen ETH to follow
    assert flow.nodes[MULE].taint["USDT"]["poison"] == Decimal(200)


def test_depth_outside_zero_to_five_is_refused():
    with pytest.raises(ValueError):
        TraceBounds(depth=6)


def test_amount_text_never_uses_an_exponent():
    assert [amount_text(Decimal(x)) for x in ("0E-18", "5.900", "1E+2")] == ["0", "5.9", "100"]

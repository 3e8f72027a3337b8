"""Shipped labels per chain (Ethereum, BNB Smart Chain, TRON, Bitcoin) and imports for one chain."""
from __future__ import annotations

import base58
import pytest

from kernel.errors import InvalidInput
from chain import service
from chain.addresses import AddressError, tron_from_hex, tron_to_hex, validate_address
from chain.labels import shipped_index
from chain.models import AddressLabel

BINANCE_TRON = "TAzsQ9Gx8eqFNFSKbeXrbi45CuVPHzA8wr"
USDT_TRON = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"


def _first(chain: str, address: str) -> dict:
    return shipped_index(chain).labels_of(address)[0]


def test_each_traced_chain_knows_binance_huobi_and_okx_wallets():
    for chain in ("ethereum", "bsc", "tron", "bitcoin"):
        index = shipped_index(chain)
        entities = {label.entity for address in index._by_address
                    for label in index.lookup(address) if label.category == "exchange"}
        assert {"Binance", "HTX (Huobi)", "Bybit"} <= entities, chain
    assert _first("tron", "TQ7wK19fhZZqLdj2Xcw2e6Ejs3cTZbfBbF")["entity"] == "OKCoin"


def test_a_proof_of_reserves_wallet_is_called_the_exchange_wallet_never_a_deposit_address():
    label = _first("tron", BINANCE_TRON)
    assert label == {"category": "exchange", "entity": "Binance", "source": "shipped",
                     "label": "wallet of exchange Binance (proof-of-reserves list gathered by DefiLlama)"}
    assert "deposit" not in label["label"]


def test_tron_addresses_are_matched_exactly_as_base58_is_case_sensitive():
    assert shipped_index("tron").labels_of(BINANCE_TRON.lower()) == []
    assert _first("tron", "TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre")["category"] == "sanctioned"


def test_labels_stay_on_their_chain_but_an_evm_sanction_holds_on_every_evm_chain():
    sanctioned_eth = "0x01e2919679362dfbc9ee1644ba9c6da6d6245bb1"
    assert _first("polygon", sanctioned_eth)["category"] == "sanctioned"
    assert shipped_index("tron").labels_of(sanctioned_eth) == []
    assert _first("bsc", "0x01c952174c24e1210d26961d456a77a39e1f0bb0")["entity"] == "Binance"
    assert _first("tron", "TAC21biCBL9agjuUyzd4gZr356zRgJq61b")["category"] == "bridge"
    assert _first("bitcoin", "1DEuKerATHWRfyB14s6QCt4LPkfCTx4zaW")["entity"] == "Binance"


@pytest.mark.parametrize(("text", "reason"), [
    ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u", "checksum"),  # last character changed
    ("0xa614f803b6fd780986a42c78ec9c7f77e6ded13c", "T followed by"),  # hex given for TRON
    ("41a614f803b6fd780986a42c78ec9c7f77e6ded13c", "T followed by"),
    ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6", "T followed by"),  # one character short
])
def test_malformed_tron_addresses_are_refused_with_the_reason(text, reason):
    with pytest.raises(AddressError, match=reason):
        validate_address("tron", text)


def test_a_base58check_address_with_another_prefix_is_not_a_tron_address():
    # 0x42 + 20 bytes also encodes to 34 characters starting with T, with a valid checksum
    wrong_prefix = base58.b58encode_check(bytes([0x42]) + bytes(20)).decode()
    assert wrong_prefix.startswith("T") and len(wrong_prefix) == 34
    with pytest.raises(AddressError, match="0x41 prefix"):
        validate_address("tron", wrong_prefix)


def test_tron_hex_and_base58_forms_round_trip():
    assert tron_to_hex(USDT_TRON) == "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"
    assert tron_from_hex("a614f803b6fd780986a42c78ec9c7f77e6ded13c") == USDT_TRON


def test_labels_import_for_tron_keeps_the_address_exact_and_refuses_hex(chain_session, tmp_path):
    good = tmp_path / "tron.csv"
    good.write_text(f"address,label,category\n{BINANCE_TRON},Desk,exchange\n")
    assert service.import_labels(chain_session, good, chain="tron").added == 1
    stored = chain_session.query(AddressLabel).one()
    assert (stored.chain, stored.address) == ("tron", BINANCE_TRON)
    bad = tmp_path / "hex.csv"
    bad.write_text("address,label,category\n0xa614f803b6fd780986a42c78ec9c7f77e6ded13c,Desk,exchange\n")
    with pytest.raises(InvalidInput, match="row 1: .* is not a tron address"):
        service.import_labels(chain_session, bad, chain="tron")
    assert chain_session.query(AddressLabel).count() == 1


@pytest.mark.parametrize(("label", "chain", "destination"), [
    ("Arbitrum One: L1 ERC20 Gateway", "ethereum", "arbitrum"),
    ("Avalanche: Avalanche-Ethereum Bridge", "ethereum", "avalanche"),
    ("zkLink Nova: bridge", "tron", "zklink-nova"),
    ("Wormhole: Binance Smart Chain Core Bridge", "bsc", None),  # names only the chain it is on
    ("Allbridge Core: USDT pool", "tron", None),  # serves many chains: the deposit event says which
])
def test_a_bridge_finding_names_the_destination_when_the_bridge_serves_one_chain(label, chain, destination):
    from chain.labels import bridge_destination
    assert bridge_destination(label, chain) == destination

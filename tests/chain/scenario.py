"""A theft laid out on a real EVM node: a withdrawal, three hops, an exchange, a mixer, a sanction."""
from __future__ import annotations

from dataclasses import dataclass, field

from web3 import Web3

from tests.chain.evm_token import deployment_code, token_runtime, transfer_call

OKX = "0x6cc5f688a315f3dc28a7781717a9a798a59fda7b"
TORNADO_1_ETH = "0x47ce0c6ed5b0ce3d3a51fdb1c52dc66a7c3c2936"
KUCOIN = "0x2b5634c42055806a59e9107ed44d43c426e58258"
SANCTIONED = "0x01e2919679362dfbc9ee1644ba9c6da6d6245bb1"
MULE_A = "0x00000000000000000000000000000000000a11ce"
MULE_B = "0x00000000000000000000000000000000000b0b00"
MULE_C = "0x00000000000000000000000000000000000c0c00"
DUST = "0x00000000000000000000000000000000000d0570"
ETHER = 10**18


@dataclass
class Theft:
    """Addresses and hashes of the laid-out theft."""

    root: str
    exchange_hot: str
    thief: str
    token: str
    hashes: dict[str, str] = field(default_factory=dict)


def send_and_wait(w3: Web3, sender: str, to: str, value: int = 0, data: str = "0x") -> str:
    """Send from an unlocked or impersonated account and wait for the receipt."""
    tx_hash = w3.eth.send_transaction({"from": Web3.to_checksum_address(sender),
                                       "to": Web3.to_checksum_address(to), "value": value,
                                       "data": data})
    w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10)
    return tx_hash.to_0x_hex()


def impersonate(w3: Web3, address: str) -> None:
    """Let the node sign for an arbitrary address and give it gas money."""
    w3.provider.make_request("anvil_impersonateAccount", [Web3.to_checksum_address(address)])
    w3.provider.make_request("anvil_setBalance", [Web3.to_checksum_address(address),
                                                  hex(ETHER)])


def lay_out_theft(w3: Web3) -> Theft:
    """Play the theft on anvil and return where everything went."""
    hot, thief = (account.lower() for account in w3.eth.accounts[:2])
    deploy = w3.eth.send_transaction({"from": w3.eth.accounts[0],
                                      "data": "0x" + deployment_code(token_runtime("USDX", 6)).hex()})
    token = w3.eth.wait_for_transaction_receipt(deploy)["contractAddress"].lower()
    theft = Theft(root=send_and_wait(w3, hot, thief, 10 * ETHER), exchange_hot=hot, thief=thief,
                  token=token)
    for mule in (MULE_A, MULE_B, MULE_C):
        impersonate(w3, mule)
    theft.hashes["thief->a"] = send_and_wait(w3, thief, MULE_A, 6 * ETHER)
    theft.hashes["thief->b"] = send_and_wait(w3, thief, MULE_B, 3 * ETHER)
    theft.hashes["thief->dust"] = send_and_wait(w3, thief, DUST, 10**14)
    theft.hashes["root usdx"] = send_and_wait(w3, hot, token, data=transfer_call(thief, 500 * 10**6))
    theft.hashes["thief->b usdx"] = send_and_wait(w3, thief, token, data=transfer_call(MULE_B, 500 * 10**6))
    theft.hashes["a->okx"] = send_and_wait(w3, MULE_A, OKX, 59 * ETHER // 10)
    theft.hashes["b->tornado"] = send_and_wait(w3, MULE_B, TORNADO_1_ETH, ETHER)
    theft.hashes["b->c"] = send_and_wait(w3, MULE_B, MULE_C, 15 * ETHER // 10)
    theft.hashes["b->kucoin usdx"] = send_and_wait(w3, MULE_B, token,
                                           data=transfer_call(KUCOIN, 500 * 10**6))
    theft.hashes["c->sanctioned"] = send_and_wait(w3, MULE_C, SANCTIONED, 14 * ETHER // 10)
    return theft

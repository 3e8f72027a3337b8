"""Token balances on EVM chains: balanceOf through eth_call, every holding in one batch."""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from chain.explorers.jsonrpc import RpcFailure

BALANCE_OF = "0x70a08231"


class TokenBalances:
    """balanceOf reads for EvmExplorer (needs its `rpc`, `_tokens` and `_token_calls`)."""

    def token_balances(self, holdings: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
        """Each (holder, token) balance now, in token units; unknown token metadata in the same batch."""
        if not holdings:
            return {}
        meta = self._token_calls(token for _, token in holdings)
        calls = meta + [("eth_call", [{"to": token, "data": BALANCE_OF + holder[2:].rjust(64, "0")},
                                      "latest"]) for holder, token in holdings]
        answers = self.rpc.batch(calls)
        self._remember_tokens(meta, answers[:len(meta)])
        balances = {}
        for (holder, token), answer in zip(holdings, answers[len(meta):], strict=True):
            text = bytes(answer).hex() if isinstance(answer, (bytes, bytearray)) else str(answer or "")
            if isinstance(answer, RpcFailure) or text.removeprefix("0x") == "":
                continue
            raw = int(text, 16)
            decimals = self._tokens.get(token, (None, None))[1]
            balances[(holder, token)] = Decimal(raw).scaleb(-decimals) if decimals is not None \
                else Decimal(raw)
        return balances

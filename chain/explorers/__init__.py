"""Chain data sources behind one port: EVM JSON-RPC, Esplora (Bitcoin), Etherscan-style APIs."""
from chain.explorers.port import (
    Explorer,
    ExplorerError,
    ExplorerUnavailable,
    History,
    TokenTransfer,
    Transaction,
    TransactionNotFound,
    Transfer,
)

__all__ = ["Explorer", "ExplorerError", "ExplorerUnavailable", "History", "TokenTransfer",
           "Transaction", "TransactionNotFound", "Transfer"]

"""The one place that turns settings into explorers, chain name by chain name.

ETH_RPC_URL and EVM_RPC_URLS (EVM JSON-RPC), ESPLORA_URL (bitcoin), ETHERSCAN_API_URL/KEY (history
for ethereum), TRON_API_URL/TRON_API_KEY (a TronGrid-compatible API).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chain.explorers.esplora import EsploraExplorer
from chain.explorers.etherscan import EtherscanClient
from chain.explorers.evm import EvmExplorer
from chain.explorers.http import HttpClient
from chain.explorers.port import Explorer
from chain.explorers.tron import TronExplorer

NATIVE_ASSETS = {"polygon": "POL", "bsc": "BNB", "avalanche": "AVAX", "gnosis": "xDAI",
                 "fantom": "FTM"}


def build_explorers(settings: Mapping[str, Any]) -> dict[str, Explorer]:
    """Explorers for every chain the settings configure (none configured: an empty dict)."""
    etherscan = None
    if settings.get("ETHERSCAN_API_URL"):
        etherscan = EtherscanClient.for_url(settings["ETHERSCAN_API_URL"],
                                            settings.get("ETHERSCAN_API_KEY"))
    finality = int(settings.get("EVM_FINALITY_DEPTH", 12))
    urls = _evm_urls(settings)
    explorers: dict[str, Explorer] = {
        name: EvmExplorer.over_http(url, chain=name, native_asset=NATIVE_ASSETS.get(name, "ETH"),
                                    finality_depth=finality,
                                    etherscan=etherscan if name == "ethereum" else None)
        for name, url in urls.items()}
    if settings.get("ESPLORA_URL"):
        explorers["bitcoin"] = EsploraExplorer(HttpClient(settings["ESPLORA_URL"]))
    if settings.get("TRON_API_URL"):
        explorers["tron"] = TronExplorer.over_http(settings["TRON_API_URL"],
                                                   settings.get("TRON_API_KEY"))
    return explorers


def _evm_urls(settings: Mapping[str, Any]) -> dict[str, str]:
    """ETH_RPC_URL for ethereum plus EVM_RPC_URLS (a JSON object name -> URL, or a dict)."""
    urls: dict[str, str] = {}
    extra = settings.get("EVM_RPC_URLS") or {}
    if isinstance(extra, str):
        try:
            extra = json.loads(extra)
        except ValueError as exc:
            raise ValueError("EVM_RPC_URLS must be a JSON object of chain name to URL") from exc
    if not isinstance(extra, dict):
        raise ValueError("EVM_RPC_URLS must be a JSON object of chain name to URL")
    urls.update({str(name).lower(): str(url) for name, url in extra.items() if url})
    if settings.get("ETH_RPC_URL"):
        urls["ethereum"] = settings["ETH_RPC_URL"]
    return urls

"""Who is behind an address: shipped public labels, sanctions, imported labels, and the advice."""
from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from chain.addresses import AddressError, canonical_address, validate_address
from chain.sanctions import sanctioned_addresses

DATA = Path(__file__).parent / "data"
CATEGORIES = ("exchange", "mixer", "bridge", "sanctioned", "phishing", "hack")
SEVERITY = ("sanctioned", "hack", "phishing", "mixer", "bridge", "exchange")
# Files of exchange addresses, by file name: Etherscan/BscScan name tags and DefiLlama's lists of
# the wallets exchanges publish for proof of reserves. None: the exchange is named in each tag.
EXCHANGES = {"okx": "OKX", "okx-defillama": "OKX", "coinbase": "Coinbase", "kraken": "Kraken",
             "kucoin": "KuCoin", "bitfinex": "Bitfinex", "bithumb": "Bithumb", "upbit": "Upbit",
             "gate-io": "Gate.io", "binance": "Binance", "huobi": "HTX (Huobi)", "okcoin": "OKCoin",
             "bybit": "Bybit", "bitget": "Bitget", "mexc": "MEXC", "exchanges-other": None}
OTHER_FILES = {"ethereum-mixer": "mixer", "bridge": "bridge", "heist": "hack"}
# Chains a bridge's label can name as where it delivers (a canonical rollup or chain bridge does).
BRIDGED_CHAINS = {"arbitrum": "arbitrum", "optimism": "optimism", "base": "base", "polygon": "polygon",
                  "matic": "polygon", "avalanche": "avalanche", "gnosis": "gnosis", "xdai": "gnosis",
                  "fantom": "fantom", "harmony": "harmony", "ronin": "ronin", "zksync": "zksync",
                  "zklink nova": "zklink-nova", "linea": "linea", "scroll": "scroll", "celo": "celo",
                  "moonriver": "moonriver", "boba": "boba", "fuel": "fuel", "starknet": "starknet",
                  "ethereum": "ethereum", "binance smart chain": "bsc", "bnb chain": "bsc", "bsc": "bsc",
                  "tron": "tron", "solana": "solana"}
PROOF_OF_RESERVES = re.compile(r"(?P<entity>.+): exchange wallet \(DefiLlama\)")
# The labels this module writes itself, each with a code a page can translate (see `label_code`).
LABEL_TEXTS = {"exchange_wallet": "wallet of exchange {exchange} (proof-of-reserves list gathered by DefiLlama)",
               "phishing_tag": "reported for phishing or a hack (Etherscan tag)",
               "ofac_sdn": "OFAC SDN list ({asset})"}
_LABEL_PATTERNS = {code: re.compile(re.escape(text).replace(r"\{exchange\}", "(?P<exchange>.+)")
                                    .replace(r"\{asset\}", "(?P<asset>[^()]+)"))
                   for code, text in LABEL_TEXTS.items()}
# Tornado Cash entries that are pools or the routes into them; the rest are governance or grants
MIXER_ENTRY = re.compile(r"(\d[\d,]*(\.\d+)? \w+$)|mixer|proxy|router", re.IGNORECASE)


@dataclass(frozen=True)
class Label:
    """One statement about an address: its category, a human label and whom it belongs to."""

    address: str
    category: str
    label: str
    entity: str | None = None
    source: str = "shipped"

    def to_json(self) -> dict[str, Any]:
        """The shape graph nodes carry."""
        return {k: v for k, v in asdict(self).items() if k != "address"}


class LabelIndex:
    """Labels by canonical address: hex case-insensitive (EIP-55 differs only in case), base58 exact."""

    def __init__(self, labels: Iterable[Label] = ()):
        self._by_address: dict[str, list[Label]] = {}
        self.extend(labels)

    def extend(self, labels: Iterable[Label]) -> LabelIndex:
        """Add labels, skipping exact repeats."""
        for label in labels:
            key = canonical_address(label.address)
            known = self._by_address.setdefault(key, [])
            if label not in known:
                known.append(label)
        return self

    def lookup(self, address: str) -> list[Label]:
        """Every label of an address, sanctions first."""
        found = self._by_address.get(canonical_address(address), [])
        return sorted(found, key=lambda label: SEVERITY.index(label.category)
                      if label.category in SEVERITY else len(SEVERITY))

    def labels_of(self, address: str) -> list[dict[str, Any]]:
        """Labels as JSON dicts (what the tracer attaches to nodes)."""
        return [label.to_json() for label in self.lookup(address)]

    def __len__(self) -> int:
        return len(self._by_address)


@lru_cache(maxsize=16)
def shipped_labels(chain: str = "ethereum") -> tuple[Label, ...]:
    """The labels and sanctions shipped in chain/data for one chain (read once per process)."""
    labels: list[Label] = []
    folder = DATA / "labels" / chain
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        labels += _file_labels(path)
    labels += [Label(address, "sanctioned", LABEL_TEXTS["ofac_sdn"].format(asset=asset), "OFAC")
               for address, asset in sanctioned_addresses() if _fits(chain, address)]
    return tuple(labels)


def _file_labels(path: Path) -> list[Label]:
    """The labels one shipped file states, by what its name says it holds."""
    name = path.stem
    rows = _read_json(path)
    if name in EXCHANGES:
        return [_exchange_label(row, EXCHANGES[name]) for row in rows]
    if name == "tornado-cash":
        return [Label(row["address"], "mixer", row["nameTag"], "Tornado Cash") for row in rows
                if MIXER_ENTRY.search(row["nameTag"].split(":")[-1])]
    if name == "phish-hack":
        return [Label(address, "phishing", LABEL_TEXTS["phishing_tag"])
                for address in rows["addresses"]]
    if name in OTHER_FILES:
        return [Label(row["address"], OTHER_FILES[name], row["nameTag"]) for row in rows]
    return []  # token-contracts.json: what the contracts are, not whom funds reached


def _exchange_label(row: dict[str, str], entity: str | None) -> Label:
    """A proof-of-reserves wallet says whose wallet it is, never that it is a deposit address."""
    tag = row["nameTag"]
    listed = PROOF_OF_RESERVES.fullmatch(tag)
    if listed:
        owner = entity or listed["entity"]
        return Label(row["address"], "exchange", LABEL_TEXTS["exchange_wallet"].format(exchange=owner), owner)
    return Label(row["address"], "exchange", tag, entity or tag.split(":")[0].strip())


def label_code(text: str) -> tuple[str, dict[str, str]] | None:
    """The code and values of a label this module wrote (LABEL_TEXTS), so a page can say it in its language;
    None for a label taken as it is from a source (a name tag, an imported row)."""
    for code, pattern in _LABEL_PATTERNS.items():
        matched = pattern.fullmatch(text)
        if matched:
            return code, matched.groupdict()
    return None


def _fits(chain: str, address: str) -> bool:
    """Whether a sanctioned address has this chain's shape (an EVM key is the same on every EVM chain)."""
    try:
        validate_address(chain, address)
    except AddressError:
        return False
    return True


def shipped_index(chain: str = "ethereum") -> LabelIndex:
    """A fresh index over a chain's shipped labels (callers may extend it with imported ones)."""
    return LabelIndex(shipped_labels(chain))


def bridge_destination(label: str, chain: str) -> str | None:
    """The chain a bridge delivers to when its label names one other than `chain`, else None."""
    text = label.lower()
    named = [target for word, target in BRIDGED_CHAINS.items()
             if re.search(rf"\b{re.escape(word)}\b", text) and target != chain]
    return named[0] if named else None


def advice_for(label: Label, chain: str | None = None, deposit_tx: str | None = None) -> str:
    """What the responder should do about funds that reached an address with this label."""
    name = label.entity or label.label
    destination = bridge_destination(label.label, chain or "") if label.category == "bridge" else None
    at = f" at {deposit_tx}" if deposit_tx else ""
    return {
        "exchange": f"reached exchange {name}: send it a freeze request",
        "mixer": f"entered a mixer ({label.label}): record the deposit; the trail usually ends here",
        "bridge": f"crossed a bridge ({label.label}) from {chain or 'this chain'} to {destination}{at}: "
                  f"follow on {destination}" if destination else
                  f"crossed a bridge ({label.label}) from {chain or 'this chain'}: the bridge serves several "
                  f"chains, so read the destination chain from the bridge's deposit event{at}, "
                  "then continue the trace there",
        "sanctioned": "sanctioned address: report, do not transact",
        "phishing": f"known phishing address ({label.label}): add it to the evidence and report it",
        "hack": f"known hack address ({label.label}): add it to the evidence and report it",
    }.get(label.category, f"labelled {label.category}: {label.label}")


def findings_for(nodes: Iterable[dict[str, Any]], chain: str | None = None,
                 edges: Iterable[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """One finding per labelled address met (graph nodes as JSON), nearest hop first."""
    # The first transfer into a bridge is its deposit: the tx whose event names where funds went.
    deposits: dict[str, str] = {}
    for edge in edges:
        deposits.setdefault(edge["to"], edge["tx_hash"])
    found = []
    for node in sorted(nodes, key=lambda n: (n["hop"], n["address"])):
        for raw in node["labels"]:
            label = Label(node["address"], raw["category"], raw["label"], raw.get("entity"),
                          raw.get("source", "shipped"))
            deposit = deposits.get(node["address"]) if label.category == "bridge" else None
            finding = {"address": node["address"], "hop": node["hop"],
                       "category": label.category, "label": label.label,
                       "entity": label.entity, "advice": advice_for(label, chain, deposit)}
            if label.category == "bridge":
                finding["from_chain"] = chain
                finding["destination_chain"] = bridge_destination(label.label, chain or "")
                finding["deposit_tx"] = deposit
            found.append(finding)
    return found


def read_label_file(path: Path, *, source: str | None = None) -> list[Label]:
    """Parse a CSV (address,label,category), JSON list, or GraphSense TagPack YAML file."""
    source = source or path.name
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    elif suffix == ".json":
        rows = _read_json(path)
        rows = rows.get("labels", rows.get("tags", [])) if isinstance(rows, dict) else rows
    elif suffix in (".yaml", ".yml"):
        rows = _tagpack_rows(path)
    else:
        raise ValueError(f"unsupported label file type {suffix!r} (csv, json, yaml)")
    return [_label_from_row(row, source, index) for index, row in enumerate(rows, start=1)]


def _label_from_row(row: dict[str, Any], source: str, line: int) -> Label:
    """Validate one imported row; the category must be one we give advice for."""
    address = str(row.get("address") or "").strip()
    label = str(row.get("label") or row.get("nameTag") or "").strip()
    category = str(row.get("category") or "").strip().lower()
    if not address or not label:
        raise ValueError(f"row {line}: address and label are required")
    if category not in CATEGORIES:
        raise ValueError(f"row {line}: category must be one of {', '.join(CATEGORIES)}")
    return Label(canonical_address(address), category, label, row.get("entity") or None, source)


def _tagpack_rows(path: Path) -> list[dict[str, Any]]:
    """GraphSense TagPack: header fields are defaults for every tag below them."""
    import yaml  # only the TagPack format needs it

    pack = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    defaults = {key: pack[key] for key in ("label", "category") if key in pack}
    return [{**defaults, **tag} for tag in pack.get("tags") or []]


def _read_json(path: Path) -> Any:
    """Load a JSON file as UTF-8."""
    return json.loads(path.read_text(encoding="utf-8"))

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

from chain.sanctions import sanctioned_addresses

DATA = Path(__file__).parent / "data"
CATEGORIES = ("exchange", "mixer", "bridge", "sanctioned", "phishing", "hack")
SEVERITY = ("sanctioned", "hack", "phishing", "mixer", "bridge", "exchange")
EXCHANGES = {"okx": "OKX", "coinbase": "Coinbase", "kraken": "Kraken", "kucoin": "KuCoin",
             "bitfinex": "Bitfinex", "bithumb": "Bithumb", "upbit": "Upbit", "gate-io": "Gate.io"}
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
    """Labels by lowercased address; lookups are case-insensitive (EIP-55 differs only in case)."""

    def __init__(self, labels: Iterable[Label] = ()):
        self._by_address: dict[str, list[Label]] = {}
        self.extend(labels)

    def extend(self, labels: Iterable[Label]) -> LabelIndex:
        """Add labels, skipping exact repeats."""
        for label in labels:
            key = label.address.lower()
            known = self._by_address.setdefault(key, [])
            if label not in known:
                known.append(label)
        return self

    def lookup(self, address: str) -> list[Label]:
        """Every label of an address, sanctions first."""
        found = self._by_address.get(address.lower(), [])
        return sorted(found, key=lambda label: SEVERITY.index(label.category)
                      if label.category in SEVERITY else len(SEVERITY))

    def labels_of(self, address: str) -> list[dict[str, Any]]:
        """Labels as JSON dicts (what the tracer attaches to nodes)."""
        return [label.to_json() for label in self.lookup(address)]

    def __len__(self) -> int:
        return len(self._by_address)


@lru_cache(maxsize=1)
def shipped_labels() -> tuple[Label, ...]:
    """The labels and sanctions shipped in chain/data (read once per process)."""
    folder = DATA / "labels" / "ethereum"
    labels: list[Label] = []
    for name, entity in EXCHANGES.items():
        labels += [Label(row["address"], "exchange", row["nameTag"], entity)
                   for row in _read_json(folder / f"{name}.json")]
    labels += [Label(row["address"], "mixer", row["nameTag"], "Tornado Cash")
               for row in _read_json(folder / "tornado-cash.json")
               if MIXER_ENTRY.search(row["nameTag"].split(":")[-1])]
    labels += [Label(row["address"], "mixer", row["nameTag"])
               for row in _read_json(folder / "ethereum-mixer.json")]
    labels += [Label(row["address"], "bridge", row["nameTag"])
               for row in _read_json(folder / "bridge.json")]
    labels += [Label(address, "phishing", "reported for phishing or a hack (Etherscan tag)")
               for address in _read_json(folder / "phish-hack.json")["addresses"]]
    labels += [Label(address, "sanctioned", f"OFAC SDN list ({asset})", "OFAC")
               for address, asset in sanctioned_addresses()]
    return tuple(labels)


def shipped_index() -> LabelIndex:
    """A fresh index over the shipped labels (callers may extend it with imported ones)."""
    return LabelIndex(shipped_labels())


def advice_for(label: Label) -> str:
    """What the responder should do about funds that reached an address with this label."""
    name = label.entity or label.label
    return {
        "exchange": f"reached exchange {name}: send it a freeze request",
        "mixer": f"entered a mixer ({label.label}): record the deposit; the trail usually ends here",
        "bridge": f"crossed a bridge ({label.label}): continue the trace on the destination chain",
        "sanctioned": "sanctioned address: report, do not transact",
        "phishing": f"known phishing address ({label.label}): add it to the evidence and report it",
        "hack": f"known hack address ({label.label}): add it to the evidence and report it",
    }.get(label.category, f"labelled {label.category}: {label.label}")


def findings_for(nodes: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One finding per labelled address met (graph nodes as JSON), nearest hop first."""
    found = []
    for node in sorted(nodes, key=lambda n: (n["hop"], n["address"])):
        for raw in node["labels"]:
            label = Label(node["address"], raw["category"], raw["label"], raw.get("entity"),
                          raw.get("source", "shipped"))
            found.append({"address": node["address"], "hop": node["hop"],
                          "category": label.category, "label": label.label,
                          "entity": label.entity, "advice": advice_for(label)})
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
    return Label(address.lower(), category, label, row.get("entity") or None, source)


def _tagpack_rows(path: Path) -> list[dict[str, Any]]:
    """GraphSense TagPack: header fields are defaults for every tag below them."""
    import yaml  # only the TagPack format needs it

    pack = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    defaults = {key: pack[key] for key in ("label", "category") if key in pack}
    return [{**defaults, **tag} for tag in pack.get("tags") or []]


def _read_json(path: Path) -> Any:
    """Load a JSON file as UTF-8."""
    return json.loads(path.read_text(encoding="utf-8"))

"""Follow stolen funds forward, hop by hop, and say how tainted each reached address is.

Pure: no I/O. The caller hands in the root transaction and a `fetch` callable that returns
the outgoing transfers of a whole hop level at once, so an adapter can batch the level.

Taint methods (they disagree on purpose; the findings show all three side by side):

- poison: any coin that touches stolen coins is stolen. Every transfer out of a tainted
  address carries its full amount as taint. The most alarming; it over-counts.
- haircut: stolen coins mix evenly with the rest. An address's tainted amount is spread over
  all of its outgoing transfers of that asset in proportion to their size, so each transfer
  carries taint = amount * min(1, tainted / total sent). The middle view.
- fifo: coins leave in the order they came in (first in, first out). An address's opening
  balance (0 unless the caller knows better) leaves first, then the stolen lots in arrival
  order; a transfer is tainted only for the part that consumed stolen lots. Matches how
  courts in the UK (Clayton's case) have reasoned; it can clear a thief who spends old
  coins first.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from chain.addresses import canonical_address
from chain.explorers.port import Transaction, Transfer, amount_text

METHODS = ("poison", "haircut", "fifo")
MAX_DEPTH = 5
STOP_CATEGORIES = frozenset({"exchange", "mixer", "bridge", "sanctioned"})

FetchLevel = Callable[[Sequence[str], int], dict[str, list[Transfer]]]
LabelsOf = Callable[[str], list[dict[str, str]]]


@dataclass(frozen=True)
class TraceBounds:
    """How far and how wide to follow: hops after the root, edges per address, dust floor."""

    depth: int = 3
    max_fan_out: int = 8
    min_amount: Decimal = Decimal(0)
    min_amounts: dict[str, Decimal] = field(default_factory=dict)  # per asset, overrides

    def __post_init__(self):
        if not 0 <= self.depth <= MAX_DEPTH:
            raise ValueError(f"depth must be between 0 and {MAX_DEPTH}")

    def floor(self, asset: str) -> Decimal:
        """The smallest amount of `asset` worth following."""
        return self.min_amounts.get(asset, self.min_amount)


@dataclass
class Node:
    """An address met on the way, at its first (shortest) hop from the victim."""

    address: str
    hop: int
    labels: list[dict[str, str]] = field(default_factory=list)
    taint: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # asset -> method -> amt
    received: dict[str, Decimal] = field(default_factory=dict)
    left_out: int = 0  # outgoing edges not followed (fan-out or dust bounds)
    cut: int = 0  # tainted transfers above the dust floor not followed because of the fan-out bound
    is_expanded: bool = False


@dataclass(frozen=True)
class Edge:
    """A followed transfer with the taint it carries under each method."""

    transfer: Transfer
    hop: int
    taint: dict[str, Decimal]


@dataclass
class FundFlow:
    """The traced graph: nodes by address and edges in the order they were found."""

    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The API shape: nodes and edges with amounts and taints as decimal strings."""
        return {
            "nodes": [_node_json(node) for node in self.nodes.values()],
            "edges": [_edge_json(edge) for edge in self.edges],
        }


def trace_funds(root: Transaction, fetch: FetchLevel, *, bounds: TraceBounds,
                labels_of: LabelsOf = lambda address: [],
                opening_balances: dict[tuple[str, str], Decimal] | None = None) -> FundFlow:
    """Follow the root transaction's money forward level by level, one fetch per level."""
    flow = FundFlow()
    opening = opening_balances or {}
    frontier = _seed(flow, root, labels_of)
    for hop in range(2, bounds.depth + 2):
        frontier = [a for a in frontier if _is_followable(flow.nodes[a])]
        if not frontier:
            break
        arrivals = {a: _arrival_block(flow, a) for a in frontier}
        outgoing = fetch(frontier, min(arrivals.values()) - 1)
        next_frontier: list[str] = []
        for address in frontier:
            sent = [t for t in outgoing.get(address, []) if _is_after_arrival(t, flow, address)]
            next_frontier += _expand(flow, address, sent, hop, bounds, labels_of, opening)
        frontier = list(dict.fromkeys(next_frontier))
    return flow


def _seed(flow: FundFlow, root: Transaction, labels_of: LabelsOf) -> list[str]:
    """The root transaction's transfers are hop 1 and fully tainted under every method."""
    sender = canonical_address(root.from_address or "")
    _node(flow, sender, 0, labels_of).is_expanded = True
    for transfer in root_transfers(root):
        _node(flow, transfer.from_address, 0, labels_of).is_expanded = True
        _add_edge(flow, transfer, 1, {m: transfer.amount for m in METHODS}, labels_of)
    return [a for a, node in flow.nodes.items() if node.hop == 1]


def root_transfers(root: Transaction) -> list[Transfer]:
    """The value the root transaction moved: native value, outputs, and token transfers."""
    if root.status != "confirmed":
        return []
    block = root.block_number or 0
    sender = canonical_address(root.from_address or "")
    moved: list[Transfer] = []
    if root.outputs:
        moved += [Transfer(root.hash, sender, canonical_address(address), amount, root.asset,
                           block, root.timestamp) for address, amount in root.outputs
                  if canonical_address(address) != sender and amount > 0]
    elif root.value > 0 and root.to_address:
        moved.append(Transfer(root.hash, sender, canonical_address(root.to_address), root.value,
                              root.asset, block, root.timestamp))
    moved += [Transfer(root.hash, canonical_address(t.from_address), canonical_address(t.to_address), t.amount,
                       t.symbol or t.token, block, root.timestamp, index, t.token)
              for index, t in enumerate(root.token_transfers) if t.amount > 0]
    return moved


def _expand(flow: FundFlow, address: str, sent: list[Transfer], hop: int, bounds: TraceBounds,
            labels_of: LabelsOf, opening: dict) -> list[str]:
    """Split the address's taint over what it sent, follow the biggest transfers, return receivers."""
    node = flow.nodes[address]
    node.is_expanded = True
    taints = _outgoing_taints(node, sent, opening)
    followed = [t for t in sent if t.amount >= bounds.floor(t.asset) and t.asset in node.taint
                and t.to_address != address]
    followed.sort(key=lambda t: (-taints[id(t)]["haircut"], -t.amount, t.block_number))
    node.cut = max(len(followed) - bounds.max_fan_out, 0)
    node.left_out = node.cut + (len(sent) - len(followed))
    receivers = []
    for transfer in followed[:bounds.max_fan_out]:
        _add_edge(flow, transfer, hop, taints[id(transfer)], labels_of)
        receivers.append(transfer.to_address)
    return receivers


def _outgoing_taints(node: Node, sent: list[Transfer], opening: dict) -> dict[int, dict]:
    """Taint carried by each outgoing transfer under each method, asset by asset."""
    result: dict[int, dict[str, Decimal]] = {}
    by_asset: dict[str, list[Transfer]] = defaultdict(list)
    for transfer in sent:
        by_asset[transfer.asset].append(transfer)
    for asset, transfers in by_asset.items():
        tainted = node.taint.get(asset, {})
        haircut = _haircut(tainted.get("haircut", Decimal(0)), transfers)
        fifo = _fifo(tainted.get("fifo", Decimal(0)), transfers,
                     opening.get((node.address, asset), Decimal(0)))
        for transfer in transfers:
            poison = transfer.amount if tainted.get("poison", Decimal(0)) > 0 else Decimal(0)
            result[id(transfer)] = {"poison": poison, "haircut": haircut[id(transfer)],
                                    "fifo": fifo[id(transfer)]}
    return result


def _haircut(tainted: Decimal, transfers: list[Transfer]) -> dict[int, Decimal]:
    """Each transfer carries the same tainted fraction: min(1, tainted / total sent)."""
    total = sum((t.amount for t in transfers), Decimal(0))
    if total == 0:
        return {id(t): Decimal(0) for t in transfers}
    share = min(tainted, total)
    return {id(t): t.amount * share / total for t in transfers}


def _fifo(tainted: Decimal, transfers: list[Transfer], opening: Decimal) -> dict[int, Decimal]:
    """Transfers in chain order spend the opening balance first, then the stolen lot."""
    clean, stolen, result = opening, tainted, {}
    for transfer in sorted(transfers, key=lambda t: (t.block_number, t.log_index, t.tx_hash)):
        from_clean = min(clean, transfer.amount)
        clean -= from_clean
        from_stolen = min(stolen, transfer.amount - from_clean)
        stolen -= from_stolen
        result[id(transfer)] = from_stolen
    return result


def _add_edge(flow: FundFlow, transfer: Transfer, hop: int, taint: dict[str, Decimal],
              labels_of: LabelsOf) -> None:
    """Record an edge and credit its receiver with the amount and taint it carried."""
    flow.edges.append(Edge(transfer, hop, taint))
    receiver = _node(flow, transfer.to_address, hop, labels_of)
    receiver.received[transfer.asset] = receiver.received.get(transfer.asset, Decimal(0)) + \
        transfer.amount
    held = receiver.taint.setdefault(transfer.asset, {m: Decimal(0) for m in METHODS})
    for method in METHODS:
        held[method] += taint[method]


def _node(flow: FundFlow, address: str, hop: int, labels_of: LabelsOf) -> Node:
    """The node for an address, created at its first hop with its labels."""
    if address not in flow.nodes:
        flow.nodes[address] = Node(address, hop, list(labels_of(address)))
    return flow.nodes[address]


def _is_followable(node: Node) -> bool:
    """Stop at addresses already expanded and at services (exchange, mixer, bridge, sanction)."""
    return not node.is_expanded and not any(
        label.get("category") in STOP_CATEGORIES for label in node.labels)


def _arrival_block(flow: FundFlow, address: str) -> int:
    """The block in which tainted funds first reached the address."""
    return min(e.transfer.block_number for e in flow.edges if e.transfer.to_address == address)


def _is_after_arrival(transfer: Transfer, flow: FundFlow, address: str) -> bool:
    """Only transfers sent at or after the stolen funds arrived can carry them."""
    arrived = [e.transfer for e in flow.edges if e.transfer.to_address == address]
    first = min(arrived, key=lambda t: t.block_number)
    hashes = {t.tx_hash for t in arrived}
    return transfer.block_number >= first.block_number and transfer.tx_hash not in hashes


def _node_json(node: Node) -> dict[str, Any]:
    """A node in the API shape."""
    return {
        "address": node.address, "hop": node.hop, "labels": node.labels,
        "received": {asset: amount_text(v) for asset, v in node.received.items()},
        "taint": {asset: {m: amount_text(v) for m, v in methods.items()}
                  for asset, methods in node.taint.items()},
        "left_out": node.left_out, "cut_by_fan_out": node.cut,
    }


def _edge_json(edge: Edge) -> dict[str, Any]:
    """An edge in the API shape."""
    t = edge.transfer
    return {
        "from": t.from_address, "to": t.to_address, "tx_hash": t.tx_hash,
        "amount": amount_text(t.amount), "asset": t.asset, "token": t.token, "hop": edge.hop,
        "block_number": t.block_number,
        "timestamp": t.timestamp.isoformat() if t.timestamp else None,
        "taint": {m: amount_text(v) for m, v in edge.taint.items()},
    }


def stopped_findings(graph: dict[str, Any], max_fan_out: int) -> list[dict[str, Any]]:
    """Where the fan-out bound stopped the trace: the reader must know the graph is not whole there."""
    return [{"address": node["address"], "hop": node["hop"], "category": "stopped",
             "label": f"{node['cut_by_fan_out']} more tainted transfers not followed "
                      f"(at most {max_fan_out} per address)",
             "entity": None, "cut": node["cut_by_fan_out"],
             "advice": "the trace stopped widening here: trace this address on its own to follow the rest"}
            for node in graph["nodes"] if node.get("cut_by_fan_out")]

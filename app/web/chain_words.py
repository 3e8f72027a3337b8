"""A trace in the page's language: findings' labels and advice, the fund-flow picture's legend and captions.

chain/ states findings as data (category, entity, label, chains, deposit, balance) with English advice for
the API; the pages say the same from that data through the catalogue.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from chain.graph import COLOURS, GraphWords, render_svg
from chain.labels import label_code

GRAPH_LEGEND = {
    "sanctioned": _l("sanctioned"),
    "hack": _l("hack"),
    "phishing": _l("phishing"),
    "mixer": _l("mixer"),
    "bridge": _l("bridge"),
    "exchange": _l("exchange"),
}

# Chains by their names; a chain only a bridge's label names (arbitrum, zksync, …) is shown capitalised.
CHAIN_NAMES = {
    "ethereum": _l("Ethereum"),
    "tron": _l("TRON"),
    "bsc": _l("BNB Smart Chain"),
    "bitcoin": _l("Bitcoin"),
}


def chain_name(chain: str | None) -> str:
    """A chain's name in the page's language."""
    if not chain:
        return _("this chain")
    return str(CHAIN_NAMES[chain]) if chain in CHAIN_NAMES else chain.replace("-", " ").title()


def label_words(text: str | None) -> str:
    """A label in the page's language where chain/ wrote it; a source's own name tag as it is."""
    found = label_code(text or "")
    if found is None:
        return text or ""
    code, values = found
    if code == "exchange_wallet":
        return _("wallet of exchange %(exchange)s (proof-of-reserves list gathered by DefiLlama)", **values)
    if code == "phishing_tag":
        return _("reported for phishing or a hack (Etherscan tag)")
    return _("OFAC SDN list (%(asset)s)", **values)


def finding_label(finding: Mapping[str, Any]) -> str:
    """What a finding says about the address, in the page's language."""
    category = finding.get("category")
    if category == "stablecoin":
        return _("%(balance)s %(asset)s still held at this address; ask %(issuer)s to freeze it",
                 balance=finding.get("balance"), asset=finding.get("asset"), issuer=finding.get("entity"))
    if category == "stopped":
        return _("%(count)s more transfers of stolen funds were not followed", count=finding.get("cut"))
    return label_words(finding.get("label"))


def finding_advice(finding: Mapping[str, Any]) -> str:
    """What the responder should do about a finding, in the page's language."""
    category, label = finding.get("category"), label_words(finding.get("label"))
    name = finding.get("entity") or label
    if category == "bridge":
        return _bridge_advice(finding, label)
    simple = {
        "exchange": lambda: _("reached exchange %(name)s: send it a freeze request", name=name),
        "mixer": lambda: _("entered a mixer (%(label)s): record the deposit; the trail usually ends here",
                           label=label),
        "sanctioned": lambda: _("sanctioned address: report, do not transact"),
        "phishing": lambda: _("known phishing address (%(label)s): add it to the evidence and report it",
                              label=label),
        "hack": lambda: _("known hack address (%(label)s): add it to the evidence and report it", label=label),
        "stablecoin": lambda: _("%(balance)s %(asset)s still held here: ask %(issuer)s to freeze it at this "
                                "address", balance=finding.get("balance"), asset=finding.get("asset"),
                                issuer=finding.get("entity")),
        "stopped": lambda: _("the trace stopped widening here: trace this address on its own to follow the rest"),
    }
    if category in simple:
        return simple[category]()
    return _("labelled %(category)s: %(label)s", category=category, label=label)


def _bridge_advice(finding: Mapping[str, Any], label: str) -> str:
    """Where bridged funds went: the destination chain when the bridge serves one, and the deposit to read."""
    source = chain_name(finding.get("from_chain"))
    deposit = finding.get("deposit_tx")
    destination = chain_name(finding["destination_chain"]) if finding.get("destination_chain") else None
    if destination and deposit:
        return _("crossed a bridge (%(label)s) from %(source)s to %(destination)s at %(tx)s: follow on "
                 "%(destination)s", label=label, source=source, destination=destination, tx=deposit)
    if destination:
        return _("crossed a bridge (%(label)s) from %(source)s to %(destination)s: follow on %(destination)s",
                 label=label, source=source, destination=destination)
    if deposit:
        return _("crossed a bridge (%(label)s) from %(source)s: the bridge serves several chains, so read the "
                 "destination chain from the bridge's deposit event at %(tx)s, then continue the "
                 "trace there", label=label, source=source, tx=deposit)
    return _("crossed a bridge (%(label)s) from %(source)s: the bridge serves several chains, so read the "
             "destination chain from the bridge's deposit event, then continue the trace there",
             label=label, source=source)


def graph_words() -> GraphWords:
    """The fund-flow picture's words in the page's language."""
    return GraphWords(legend={category: str(GRAPH_LEGEND.get(category, category)) for category in COLOURS},
                      hop=lambda hop: _("hop %(hop)s", hop=hop), label=label_words)


def graph_svg(graph: Mapping[str, Any] | None, chain: str, tx_hash: str) -> str:
    """A trace's fund-flow picture with its words in the page's language."""
    return render_svg(dict(graph or {"nodes": [], "edges": []}), title=f"{chain} {tx_hash}", words=graph_words())


def trace_svg(trace) -> str | None:
    """The picture of a stored trace that has a graph; None before it has one."""
    return graph_svg(trace.graph, trace.chain, trace.tx_hash) if trace.graph else None


def init_app(app: Flask) -> None:
    """Make the words and the picture available to every template."""
    app.add_template_global(finding_label)
    app.add_template_global(finding_advice)
    app.add_template_global(graph_svg)
    app.add_template_global(chain_name)

"""The fund-flow picture: layered left to right by hop, services coloured, every label escaped."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

COLUMN, ROW, BOX_W, BOX_H, MARGIN, LEGEND_H = 250, 70, 200, 46, 30, 40
COLOURS = {  # category -> (fill, stroke); the first category of a node wins (sanctions first)
    "sanctioned": ("#fde2e2", "#c0392b"),
    "hack": ("#fde2e2", "#8e1b10"),
    "phishing": ("#fdebd0", "#b9770e"),
    "mixer": ("#e8daef", "#6c3483"),
    "bridge": ("#d6eaf8", "#1f618d"),
    "exchange": ("#d5f5e3", "#1e8449"),
}
PLAIN = ("#ffffff", "#566573")


def _english_hop(hop: int) -> str:
    """The caption of an unlabelled address."""
    return f"hop {hop}"


@dataclass(frozen=True)
class GraphWords:
    """The picture's words: the legend's category names, the caption of an unlabelled address by its hop,
    and a label as shown. English by default; a caller with a catalogue passes its translations."""

    legend: Mapping[str, str] = field(default_factory=lambda: {category: category for category in COLOURS})
    hop: Callable[[int], str] = _english_hop
    label: Callable[[str], str] = str


def render_svg(graph: dict[str, Any], *, title: str = "", words: GraphWords | None = None) -> str:
    """An SVG document for a graph in the API shape (nodes with hop and labels, edges)."""
    words = words or GraphWords()
    nodes = graph.get("nodes") or []
    places = _place(nodes)
    width = MARGIN * 2 + COLUMN * (max((n["hop"] for n in nodes), default=0)) + BOX_W
    rows = max((sum(1 for n in nodes if n["hop"] == hop) for hop in {n["hop"] for n in nodes}),
               default=1)
    height = MARGIN * 2 + LEGEND_H + ROW * rows
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
             f"<title>{escape(title)}</title>",
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
             'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#566573"/>'
             "</marker></defs>"]
    parts += _legend(words)
    parts += [_edge(edge, places) for edge in graph.get("edges") or []
              if edge["from"] in places and edge["to"] in places]
    parts += [_node(node, *places[node["address"]], words) for node in nodes]
    parts.append("</svg>")
    return "\n".join(parts)


def _place(nodes: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Top-left corner of each node's box: column by hop, row by order met."""
    rows: dict[int, int] = {}
    places = {}
    for node in nodes:
        row = rows.get(node["hop"], 0)
        rows[node["hop"]] = row + 1
        places[node["address"]] = (MARGIN + COLUMN * node["hop"], MARGIN + LEGEND_H + ROW * row)
    return places


def _category(node: dict[str, Any]) -> str | None:
    """The most serious category on a node (sanctioned before mixer before exchange)."""
    found = {label.get("category") for label in node.get("labels") or []}
    return next((category for category in COLOURS if category in found), None)


def _node(node: dict[str, Any], x: int, y: int, words: GraphWords) -> str:
    """One address box with a short address and its first label."""
    fill, stroke = COLOURS.get(_category(node) or "", PLAIN)
    address = node["address"]
    short = address if len(address) <= 20 else f"{address[:10]}…{address[-6:]}"
    labels = node.get("labels") or []
    label = words.label(str(labels[0]["label"])) if labels and labels[0].get("label") else words.hop(node["hop"])
    return (f'<g class="node"><title>{escape(address)}</title>'
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="2"/>'
            f'<text x="{x + 8}" y="{y + 18}" font-family="monospace">{escape(short)}</text>'
            f'<text x="{x + 8}" y="{y + 36}">{escape(str(label)[:34])}</text></g>')


def _edge(edge: dict[str, Any], places: dict[str, tuple[int, int]]) -> str:
    """An arrow from box to box, labelled with amount and asset."""
    (x1, y1), (x2, y2) = places[edge["from"]], places[edge["to"]]
    start, end = (x1 + BOX_W, y1 + BOX_H // 2), (x2, y2 + BOX_H // 2)
    if x2 <= x1:  # a hop back (funds returning): route from the right edge
        end = (x2 + BOX_W, y2 + BOX_H // 2)
    text = f"{edge['amount']} {edge['asset']}"
    middle = ((start[0] + end[0]) // 2, (start[1] + end[1]) // 2 - 4)
    return (f'<g class="edge"><title>{escape(edge["tx_hash"])}</title>'
            f'<line x1="{start[0]}" y1="{start[1]}" x2="{end[0]}" y2="{end[1]}" '
            f'stroke="#566573" marker-end="url(#arrow)"/>'
            f'<text x="{middle[0]}" y="{middle[1]}" text-anchor="middle">{escape(text)}</text></g>')


def _legend(words: GraphWords) -> list[str]:
    """Colour swatches for the highlighted categories, named in the caller's words."""
    parts = []
    for index, (category, (fill, stroke)) in enumerate(COLOURS.items()):
        x = MARGIN + index * 110
        parts.append(f'<g class="legend"><rect x="{x}" y="{MARGIN - 14}" width="14" height="14" '
                     f'fill="{fill}" stroke="{stroke}" stroke-width="2"/>'
                     f'<text x="{x + 20}" y="{MARGIN - 3}">{escape(str(words.legend.get(category, category)))}</text></g>')
    return parts

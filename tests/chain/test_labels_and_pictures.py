"""Labels, sanctions, imports, the SVG picture and the freeze letter."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kernel.errors import InvalidInput
from chain import service
from chain.graph import render_svg
from chain.labels import findings_for, read_label_file, shipped_index
from chain.letters import freeze_request_letter
from chain.sanctions import is_sanctioned

OKX = "0x6cc5f688a315f3dc28a7781717a9a798a59fda7b"


def test_lookups_ignore_checksum_case():
    index = shipped_index()
    assert index.lookup(OKX.upper().replace("0X", "0x"))[0].entity == "OKX"
    assert is_sanctioned("0x01E2919679362DFBC9EE1644BA9C6DA6D6245BB1")


def test_tornado_pools_are_mixers_but_its_governance_is_not():
    index = shipped_index()
    assert index.lookup("0x47ce0c6ed5b0ce3d3a51fdb1c52dc66a7c3c2936")[-1].category == "mixer"
    grants = "0xdd4c48c0b24039969fc16d1cdf626eab821d3384"  # "Gitcoin Grants: Tornado.cash"
    assert [label.category for label in index.lookup(grants)] != ["mixer"]


def test_sanctions_come_first_in_findings():
    nodes = [{"address": "0x47ce0c6ed5b0ce3d3a51fdb1c52dc66a7c3c2936", "hop": 3,
              "labels": shipped_index().labels_of("0x47ce0c6ed5b0ce3d3a51fdb1c52dc66a7c3c2936")}]
    assert [f["category"] for f in findings_for(nodes)] == ["sanctioned", "mixer"]


def test_csv_json_and_tagpack_imports_are_read(tmp_path):
    (tmp_path / "a.csv").write_text("address,label,category\n0xABC,Shady desk,exchange\n")
    (tmp_path / "b.json").write_text('[{"address": "0xdef", "label": "Drainer", "category": "phishing"}]')
    (tmp_path / "c.yaml").write_text("title: pack\ncategory: hack\nlabel: Bybit hack\n"
                                     "tags:\n  - address: '0x123'\n  - address: '0x456'\n")
    assert read_label_file(tmp_path / "a.csv")[0].address == "0xabc"
    assert read_label_file(tmp_path / "b.json")[0].category == "phishing"
    assert [entry.label for entry in read_label_file(tmp_path / "c.yaml")] == ["Bybit hack"] * 2


def test_an_import_with_an_unknown_category_is_refused(tmp_path):
    (tmp_path / "bad.csv").write_text("address,label,category\n0xabc,Cafe,restaurant\n")
    with pytest.raises(ValueError, match="category"):
        read_label_file(tmp_path / "bad.csv")


def test_imported_labels_are_stored_once(chain_session, tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text(f"address,label,category\n0x{'AB' * 20},Shady desk,exchange\n0x{'de' * 20},Drainer,phishing\n")
    assert service.import_labels(chain_session, path).added == 2
    again = service.import_labels(chain_session, path)
    assert (again.added, again.skipped) == (0, 2)
    with pytest.raises(InvalidInput):
        service.import_labels(chain_session, tmp_path / "missing.csv")


GRAPH = {"nodes": [{"address": "0xv", "hop": 0, "labels": []},
                   {"address": "0xt", "hop": 1, "labels": [{"category": "phishing",
                                                              "label": "<script>x</script>"}]},
                   {"address": OKX, "hop": 2, "labels": [{"category": "exchange", "label": "OKX",
                                                          "entity": "OKX"}]}],
         "edges": [{"from": "0xv", "to": "0xt", "tx_hash": "0xroot", "amount": "10",
                    "asset": "ETH", "hop": 1, "block_number": 5, "timestamp": None},
                   {"from": "0xt", "to": OKX, "tx_hash": "0xnext", "amount": "9.5",
                    "asset": "ETH", "hop": 2, "block_number": 6, "timestamp": None}]}


def test_svg_escapes_labels_and_colours_services_with_a_legend():
    svg = render_svg(GRAPH, title="t & <b>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "t &amp; &lt;b&gt;" in svg
    assert 'fill="#d5f5e3"' in svg  # the exchange colour
    assert svg.count('class="legend"') == 6 and "9.5 ETH" in svg


def test_letter_carries_the_path_hashes_and_amounts():
    findings = [{"address": OKX, "hop": 2, "category": "exchange", "label": "OKX",
                 "entity": "OKX", "advice": "reached exchange OKX: send it a freeze request"}]
    text = freeze_request_letter(exchange="OKX", chain="ethereum",
                                 transaction={"hash": "0xroot", "value": "10", "asset": "ETH"},
                                 graph=GRAPH, findings=findings,
                                 now=datetime(2026, 3, 1, tzinfo=UTC))
    assert "Subject: Urgent freeze request" in text and "0xnext" in text and "9.5 ETH" in text
    assert f"{OKX} (OKX), hop 2" in text

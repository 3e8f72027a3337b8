"""A trace's findings, advice and fund-flow picture in the page's language: English as the API says it,
Chinese from the catalogue, on the console's trace page too."""
from __future__ import annotations

import re

import pytest
from flask_babel import force_locale

from app.web.chain_words import finding_advice, finding_label, graph_svg
from chain.labels import LABEL_TEXTS, findings_for
from chain.models import Trace
from chain.tracing import stopped_findings
from tests.web.pages import sign_in

ROOT, MULE, LOOSE = "0x" + "10" * 20, "0x" + "20" * 20, "0x" + "30" * 20
DEPOSIT_TX, OTHER_TX = "0x" + "ab" * 32, "0x" + "cd" * 32
LABELLED = {  # address -> (category, label, entity)
    "0x" + "a1" * 20: ("exchange", LABEL_TEXTS["exchange_wallet"].format(exchange="Binance"), "Binance"),
    "0x" + "a2" * 20: ("mixer", "Tornado.Cash: 10 ETH", "Tornado Cash"),
    "0x" + "a3" * 20: ("bridge", "Arbitrum One: Bridge", None),
    "0x" + "a4" * 20: ("bridge", "Allbridge: Bridge", None),
    "0x" + "a5" * 20: ("sanctioned", LABEL_TEXTS["ofac_sdn"].format(asset="ETH"), "OFAC"),
    "0x" + "a6" * 20: ("phishing", LABEL_TEXTS["phishing_tag"], None),
    "0x" + "a7" * 20: ("hack", "Ronin Bridge Exploiter", None),
}
STABLECOIN = {"address": MULE, "hop": 1, "category": "stablecoin", "label": "holds 1000 USDT (read at trace time)",
              "entity": "Tether", "issuer": "tether", "asset": "USDT", "token": "0x" + "dd" * 20,
              "balance": "1000", "advice": "1000 USDT still held here: ask Tether to freeze it at this address"}


def graph() -> dict:
    """The root, an unlabelled mule (cut by the fan-out bound), and one labelled address of each category."""
    nodes = [{"address": ROOT, "hop": 0, "labels": []},
             {"address": MULE, "hop": 1, "labels": [], "cut_by_fan_out": 7},
             {"address": LOOSE, "hop": 2, "labels": []}]
    nodes += [{"address": address, "hop": 2, "labels": [{"category": c, "label": label, "entity": entity,
                                                          "source": "shipped"}]}
              for address, (c, label, entity) in LABELLED.items()]
    edges = [{"from": ROOT, "to": MULE, "tx_hash": OTHER_TX, "amount": "10", "asset": "ETH", "hop": 1}]
    edges += [{"from": MULE, "to": node["address"], "tx_hash": DEPOSIT_TX, "amount": "1", "asset": "ETH", "hop": 2}
              for node in nodes[2:]]
    return {"nodes": nodes, "edges": edges}


def findings() -> list[dict]:
    """What the trace service stores: label findings, an issuer finding, where the trace stopped."""
    found = graph()
    return (findings_for([n for n in found["nodes"] if n["hop"] > 0], "ethereum", found["edges"])
            + [STABLECOIN] + stopped_findings(found, 25))


def test_in_english_the_pages_say_what_the_api_says(app):
    with app.test_request_context(), force_locale("en"):
        for finding in findings():
            # the same words; the pages name the chains (Ethereum) where the API gives their keys (ethereum)
            assert finding_advice(finding).lower() == finding["advice"].lower(), finding["category"]
            if finding["category"] not in ("stablecoin", "stopped"):
                assert finding_label(finding) == finding["label"]


def test_in_chinese_every_finding_label_and_advice_is_translated(app):
    with app.test_request_context(), force_locale("zh_CN"):
        said = {(f["category"], f["label"]): (finding_label(f), finding_advice(f)) for f in findings()}
    for (category, _label), (label, advice) in said.items():
        words = re.sub(r"0x[0-9a-f]+|[A-Z][\w.]*|\d+|\(|\)", "", advice)
        assert re.search(r"[\u4e00-\u9fff]", advice) and not re.search(r"\b[a-z]{4,}\b", words), (category, advice)
    by_category = {category: texts for (category, _), texts in said.items()}
    assert by_category["exchange"] == ("交易所 Binance 的钱包（DefiLlama 收集的储备金证明地址清单）",
                                       "资金已进入交易所 Binance：请向其发送冻结请求")
    assert by_category["sanctioned"][0] == "OFAC 制裁名单（SDN）（ETH）"
    assert by_category["phishing"][0] == "曾被举报涉及钓鱼或黑客攻击（Etherscan 标签）"
    bridges = [texts[1] for (category, _), texts in said.items() if category == "bridge"]
    assert any("以太坊" in advice and "Arbitrum" in advice and DEPOSIT_TX in advice for advice in bridges)  # it serves one chain
    assert any("读取目标链" in advice and DEPOSIT_TX in advice for advice in bridges)  # it serves several
    assert by_category["stablecoin"][0] == "该地址仍持有 1000 USDT，可请 Tether 冻结"
    assert by_category["stopped"] == ("另有 7 笔被盗资金转账未被追踪", "追踪在此处停止扩展：请单独追踪该地址以跟进其余资金")


def legend_and_captions(svg: str) -> tuple[list[str], list[str]]:
    """The legend's words and the boxes' second lines of a rendered picture."""
    legend = re.findall(r'<g class="legend">.*?<text[^>]*>([^<]*)</text></g>', svg)
    captions = re.findall(r'<g class="node">.*?<text[^>]*>[^<]*</text><text[^>]*>([^<]*)</text></g>', svg)
    return legend, captions


@pytest.mark.parametrize(("locale", "legend", "caption", "wallet"), [
    ("en", ["sanctioned", "hack", "phishing", "mixer", "bridge", "exchange"], "hop 1", "wallet of exchange Binance"),
    ("zh_CN", ["受制裁", "黑客", "钓鱼", "混币器", "跨链桥", "交易所"], "第 1 跳", "交易所 Binance 的钱包"),
])
def test_the_fund_flow_picture_speaks_the_page_language(app, locale, legend, caption, wallet):
    with app.test_request_context(), force_locale(locale):
        svg = graph_svg(graph(), "ethereum", OTHER_TX)
    found_legend, captions = legend_and_captions(svg)
    assert found_legend == legend
    assert caption in captions and any(text.startswith(wallet) for text in captions)


def test_the_console_trace_page_in_chinese_gives_advice_legend_and_both_letters(app, client, agent, clock,
                                                                                  session):
    found = graph()
    trace = Trace(chain="ethereum", tx_hash=OTHER_TX, depth=2, status="done",
                  transaction={"hash": OTHER_TX, "status": "confirmed", "confirmations": 20, "block_number": 100,
                               "from": ROOT, "to": MULE, "value": "10", "asset": "ETH", "token_transfers": []},
                  graph=found, findings=findings())
    session.add(trace)
    session.commit()
    sign_in(client, agent, clock)
    chinese = {"Accept-Language": "zh-CN"}
    page = client.get(f"/console/traces/{trace.id}", headers=chinese).text
    assert "资金已进入交易所 Binance：请向其发送冻结请求" in page and "send it a freeze request" not in page
    assert "第 1 跳" in page and ">跨链桥</text>" in page and ">bridge</text>" not in page
    assert "the trace stopped widening" not in page and "追踪在此处停止扩展" in page
    letters = client.get(f"/console/traces/{trace.id}/letters", headers=chinese).text
    assert "To: Binance compliance" in letters and "致：Binance 合规" in letters and 'lang="zh-CN"' in letters

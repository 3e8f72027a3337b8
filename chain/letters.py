"""The freeze request to an exchange that received stolen funds, with the evidence, in English and Chinese."""
from __future__ import annotations

from datetime import datetime
from typing import Any


def freeze_request_letter(*, exchange: str, chain: str, transaction: dict[str, Any],
                          graph: dict[str, Any], findings: list[dict[str, Any]],
                          now: datetime, language: str = "en") -> str:
    """Draft the letter: what was stolen, the path to the exchange's addresses, the ask."""
    text = ZH if language == "zh-CN" else EN
    deposits = [f for f in findings if f["category"] == "exchange"
                and (f.get("entity") or f["label"]) == exchange]
    lines = [line.format(exchange=exchange, chain=chain, now=now) for line in text["head"]]
    lines += [
        text["theft"],
        f"  {text['tx']}  {transaction.get('hash')}",
        f"  {text['time']}  {transaction.get('timestamp') or text['unknown']} "
        f"({text['block']} {transaction.get('block_number')})",
        f"  {text['from']}  {transaction.get('from')}",
        f"  {text['to']}  {transaction.get('to')}",
        f"  {text['amount']}  {transaction.get('value')} {transaction.get('asset')}",
    ]
    lines += [f"  {text['token']}  {t['amount']} {t.get('symbol') or t['token']} {text['to_word']} {t['to']}"
              for t in transaction.get("token_transfers") or []]
    lines += ["", text["deposits"].format(exchange=exchange)]
    for deposit in deposits:
        lines.append(f"  {deposit['address']} ({deposit['label']}), {text['hop']} {deposit['hop']}")
        lines += [f"    {text['path']}: {path}" for path in _paths_to(graph, deposit["address"])]
    lines += ["", text["evidence"]]
    for edge in graph.get("edges") or []:
        lines.append(f"  {text['hop']} {edge['hop']}: {edge['from']} -> {edge['to']}  {edge['amount']} "
                     f"{edge['asset']}  tx {edge['tx_hash']}  {text['block']} {edge.get('block_number')}"
                     f"  {edge.get('timestamp') or ''}".rstrip())
    lines += ["", *text["close"], ""]
    return "\n".join(lines)


EN = {
    "head": ["To: {exchange} compliance / law-enforcement response team",
             "Date: {now:%Y-%m-%d %H:%M} UTC",
             "Subject: Urgent freeze request - stolen funds deposited to {exchange} ({chain})", "",
             "We are the security team of a cryptocurrency exchange. One of our customers' accounts",
             "was taken over and the funds below were withdrawn without the owner's consent. Our",
             "trace shows part of these funds reaching addresses that public labels attribute to {exchange}.",
             "We ask you to freeze the credited funds and the receiving account(s) while the case is",
             "investigated, and to preserve KYC, login and withdrawal records of the account holder.", ""],
    "theft": "Stolen withdrawal:", "tx": "transaction", "time": "time       ", "unknown": "unknown",
    "block": "block", "from": "from       ", "to": "to         ", "amount": "amount     ",
    "token": "token      ", "to_word": "to", "deposits": "Deposits at {exchange}:", "hop": "hop",
    "path": "path", "evidence": "Evidence, hop by hop (amounts in asset units, times UTC):",
    "close": ["Every hash above can be checked on a public block explorer. Please confirm",
              "receipt and tell us the amount you were able to freeze."],
}

ZH = {
    "head": ["致：{exchange} 合规 / 执法协助团队",
             "日期：{now:%Y-%m-%d %H:%M}（UTC）",
             "事由：紧急冻结请求——被盗资金已充值至 {exchange}（{chain}）", "",
             "我们是一家加密货币交易所的安全团队。我们一位客户的账户被盗，下列资金在未经本人同意的情况下被提走。",
             "我们的追踪显示，其中部分资金进入了公开标签归属于 {exchange} 的地址。",
             "恳请贵方在调查期间冻结已入账的资金及收款账户，并保留该账户持有人的 KYC、登录及提现记录。", ""],
    "theft": "被盗提现：", "tx": "交易", "time": "时间", "unknown": "未知", "block": "区块",
    "from": "发送方", "to": "接收方", "amount": "金额", "token": "代币", "to_word": "转至",
    "deposits": "充值至 {exchange} 的地址：", "hop": "跳数", "path": "路径",
    "evidence": "逐跳证据（金额以资产单位计，时间为 UTC）：",
    "close": ["以上每个哈希均可在公开区块浏览器上核验。请确认收到本函，并告知可冻结的金额。"],
}


def _paths_to(graph: dict[str, Any], target: str) -> list[str]:
    """Each chain of transaction hashes that leads from the root to `target`."""
    into: dict[str, list[dict[str, Any]]] = {}
    for edge in graph.get("edges") or []:
        into.setdefault(edge["to"], []).append(edge)
    paths: list[str] = []

    def walk(address: str, trail: list[dict[str, Any]], seen: frozenset[str]) -> None:
        incoming = [e for e in into.get(address, []) if e["from"] not in seen]
        if not incoming:
            steps = " -> ".join(f"{e['from'][:10]}… [{e['amount']} {e['asset']}, "
                                f"{e['tx_hash'][:12]}…]" for e in reversed(trail))
            paths.append(f"{steps} -> {target}")
            return
        for edge in incoming[:4]:  # bounded: a letter, not a dump
            walk(edge["from"], [*trail, edge], seen | {address})

    walk(target, [], frozenset())
    return paths[:6]

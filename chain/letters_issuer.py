"""The request to a stablecoin issuer to freeze stolen tokens at addresses, in English and Chinese."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from chain.letters import _paths_to

CHAIN_NAMES = {"en": {"tron": "TRON (TRC-20)", "ethereum": "Ethereum (ERC-20)"},
               "zh-CN": {"tron": "波场 TRON（TRC-20）", "ethereum": "以太坊 Ethereum（ERC-20）"}}


def issuer_request_letter(*, issuer: str, chain: str, transaction: dict[str, Any],
                          graph: dict[str, Any], holdings: list[dict[str, Any]], now: datetime,
                          language: str = "en") -> str:
    """Draft the freeze request to one issuer: the theft, the addresses, balances, the paths."""
    chain_name = CHAIN_NAMES.get(language, {}).get(chain, chain)
    text = ZH if language == "zh-CN" else EN
    lines = [line.format(issuer=issuer, chain=chain_name, now=now) for line in text["head"]]
    lines += [text["theft"],
              f"  {text['tx']}  {transaction.get('hash')}",
              f"  {text['time']}  {transaction.get('timestamp') or '-'} "
              f"({text['block']} {transaction.get('block_number')})",
              f"  {text['from']}  {transaction.get('from')}"]
    lines += [f"  {text['token']}  {t['amount']} {t.get('symbol') or t['token']} -> {t['to']}"
              for t in transaction.get("token_transfers") or []]
    lines += ["", text["holdings"]]
    for holding in holdings:
        lines.append(f"  {holding['address']}  {holding['balance']} {holding['asset']}  "
                     f"({text['contract']} {holding['token']}, {text['hop']} {holding['hop']})")
        lines += [f"    {text['path']}: {path}" for path in _paths_to(graph, holding["address"])]
    lines += ["", text["evidence"]]
    for edge in graph.get("edges") or []:
        lines.append(f"  {text['hop']} {edge['hop']}: {edge['from']} -> {edge['to']}  "
                     f"{edge['amount']} {edge['asset']}  tx {edge['tx_hash']}  "
                     f"{text['block']} {edge.get('block_number')}  {edge.get('timestamp') or ''}".rstrip())
    lines += ["", *text["close"], ""]
    return "\n".join(lines)


EN = {
    "head": ["To: {issuer} compliance / law-enforcement response team",
             "Date: {now:%Y-%m-%d %H:%M} UTC",
             "Subject: Request to freeze stolen {issuer} tokens on {chain}", "",
             "We are the security team of a cryptocurrency exchange. One of our customers' accounts",
             "was taken over and funds were withdrawn without the owner's consent. Our trace shows",
             "stolen tokens that you issue still held at the addresses below, with the balances we",
             "read from the chain when the trace ran. We ask you to freeze these tokens at these",
             "addresses while the case is investigated; law enforcement is being informed.", ""],
    "theft": "Stolen withdrawal:", "tx": "transaction", "time": "time       ", "block": "block",
    "from": "from       ", "token": "token      ", "holdings": "Addresses still holding the tokens:",
    "contract": "contract", "hop": "hop", "path": "path",
    "evidence": "Evidence, hop by hop (amounts in token units, times UTC):",
    "close": ["Every hash above can be checked on a public block explorer. Please confirm receipt",
              "and tell us what you were able to freeze."],
}

ZH = {
    "head": ["致：{issuer} 合规 / 执法协助团队",
             "日期：{now:%Y-%m-%d %H:%M}（UTC）",
             "事由：请求冻结 {chain} 上被盗的 {issuer} 代币", "",
             "我们是一家加密货币交易所的安全团队。我们一位客户的账户被盗，资金在未经本人同意的情况下被提走。",
             "我们的追踪显示，由贵方发行的被盗代币仍存放在下列地址中，余额为追踪时从链上读取的数值。",
             "恳请贵方在调查期间冻结这些地址上的上述代币；我们正在通知执法部门。", ""],
    "theft": "被盗提现：", "tx": "交易", "time": "时间", "block": "区块", "from": "发送方",
    "token": "代币", "holdings": "仍持有该代币的地址：", "contract": "合约", "hop": "跳数",
    "path": "路径", "evidence": "逐跳证据（金额以代币单位计，时间为 UTC）：",
    "close": ["以上每个哈希均可在公开区块浏览器上核验。请确认收到本函，并告知可冻结的金额。"],
}

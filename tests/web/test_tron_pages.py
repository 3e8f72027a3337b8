"""TRON and USDT findings on the owner's case page and in the console, in Chromium, in both languages."""
from __future__ import annotations


import pytest
from sqlalchemy import select

from chain.models import Trace
from tests.chain.tron_peer import TronPeer
from tests.chain.tron_scenario import BINANCE, MULE_A, lay_out_tron_theft
from tests.factories import exchange_account, make_staff
from tests.web.conftest import run_follow_ups
from tests.web.browser import DESKTOP, PHONE, serve, shot, staff_sign_in, submit

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WORDS = {
    "en": {"exchange": "Reached an exchange", "held": "1000 USDT still held at this address; ask Tether",
           "stablecoin": "Stablecoin still held", "letters": "Request to the stablecoin issuer",
           "advice": "reached exchange Binance: send it a freeze request", "legend": "exchange", "hop": "hop "},
    "zh-CN": {"exchange": "进入交易所", "held": "该地址仍持有 1000 USDT，可请 Tether 冻结",
              "stablecoin": "稳定币仍在地址中", "letters": "致稳定币发行方的冻结请求",
              "advice": "资金已进入交易所 Binance：请向其发送冻结请求", "legend": "交易所", "hop": "第 "},
}


@pytest.fixture
def theft():
    return lay_out_tron_theft()


@pytest.fixture
def live_tron(sqlite_template, tmp_path, monkeypatch, theft):
    """The app on a real threaded server with a TronGrid stand-in as its TRON API."""
    peer = TronPeer(theft.ledger)
    yield from serve(sqlite_template, tmp_path, monkeypatch, TRON_API_URL=peer.url, TRACE_MIN_AMOUNT="1")
    peer.stop()


@pytest.mark.parametrize("language", list(WORDS))
def test_a_tron_usdt_theft_shows_its_findings_to_the_owner_and_in_the_console(live_tron, chromium, theft,
                                                                               language):
    words, app = WORDS[language], live_tron.app
    exchange_account(app, "U2002")
    owner = chromium.new_context(viewport=PHONE, locale=language, java_script_enabled=False).new_page()
    owner.goto(f"{live_tron.url}/report")
    owner.fill("#account_id", "U2002")
    owner.check("#kind-unauthorized_withdrawal")
    owner.select_option("#tx_chain_0", "tron")
    owner.fill("#tx_hash_0", theft.root)
    owner.fill("#email", "owner@example.com")
    submit(owner, "form[action$='/report'] button[type=submit]")
    link = owner.input_value("#access-link")
    run_follow_ups(app)
    assert app.extensions["lockdesk"].ports.tracer.run_due() == 1
    owner.goto(link)
    findings = owner.inner_text(".txs")
    assert "tron" in findings.lower() and "10000 USDT" in findings and words["exchange"] in findings and words["held"] in findings
    assert owner.locator("li.finding-stablecoin").count() == 5
    shot(owner, f"tron-{language.lower()}-owner-case")

    with app.extensions["lockdesk"].sessions() as session:
        trace_id = session.scalar(select(Trace.id).where(Trace.chain == "tron"))
    desk = chromium.new_context(viewport=DESKTOP, locale=language, java_script_enabled=False).new_page()
    staff_sign_in(desk, live_tron, make_staff(app, "agent", "agent-1"))
    desk.goto(f"{live_tron.url}/console/traces/{trace_id}")
    text = desk.inner_text("main")
    assert words["stablecoin"] in text and BINANCE[:6] in text
    assert desk.locator("figure.graph svg").count() == 1
    assert words["advice"] in text and words["legend"] in desk.locator("figure.graph g.legend").all_text_contents()
    assert any(caption.startswith(words["hop"]) for caption in desk.locator("figure.graph g.node text").all_text_contents())
    shot(desk, f"tron-{language.lower()}-console-trace")
    submit(desk, f"text={words['letters']}")
    letters = desk.locator("pre.letter").all_inner_texts()
    assert len(letters) == 2 and f"{MULE_A}  1000 USDT" in letters[0] and "请求冻结" in letters[1]
    shot(desk, f"tron-{language.lower()}-console-issuer-letters")

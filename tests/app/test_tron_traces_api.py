"""TRON through the API: hashes of the chain's shape, a USDT theft traced to its end, the letters."""
import pytest

from tests.chain.tron_peer import TronPeer
from tests.chain.tron_scenario import (
    ALLBRIDGE,
    BINANCE,
    MULE_A,
    MULE_C,
    SANCTIONED,
    SWEEPER,
    THIEF,
    USDT,
    lay_out_tron_theft,
)
from tests.factories import bearer, exchange_account, report_body

TRON_HASH = "ab" * 32


@pytest.mark.parametrize("body", [
    {"chain": "tron", "tx_hash": "0x" + TRON_HASH},  # an EVM-shaped hash for TRON
    {"chain": "ethereum", "tx_hash": TRON_HASH},  # a bare hash for Ethereum
    {"chain": "tron", "tx_hash": TRON_HASH[:-1] + "g"},
])
def test_a_hash_of_the_wrong_shape_for_its_chain_is_422_naming_tx_hash(client, agent, body):
    response = client.post("/api/v1/traces", json=body, headers=agent.headers)
    assert response.status_code == 422 and "tx_hash" in response.get_json()["errors"]


def test_a_report_with_an_evm_hash_on_tron_is_422_naming_the_hash(client):
    body = report_body("U1001", transactions=[{"chain": "tron", "hash": "0x" + TRON_HASH}])
    response = client.post("/api/v1/reports", json=body)
    assert response.status_code == 422
    assert "transactions.0.hash" in response.get_json()["errors"]


@pytest.fixture
def theft():
    return lay_out_tron_theft()


@pytest.fixture
def peer(theft):
    server = TronPeer(theft.ledger)
    yield server
    server.stop()


class TestWithATronApi:
    @pytest.fixture
    def settings(self, settings, peer):
        settings.update(TRON_API_URL=peer.url, TRON_API_KEY="grid-key", TRACE_MIN_AMOUNT="1")
        return settings

    def _reported(self, app, client, theft):
        exchange_account(app, "TRON-1")
        body = report_body("TRON-1", transactions=[{"chain": "tron", "hash": theft.root.upper()}])
        answer = client.post("/api/v1/reports", json=body)
        assert answer.status_code == 201, answer.get_json()
        answer = answer.get_json()
        assert app.extensions["lockdesk"].ports.tracer.run_due() == 1
        owner = bearer(answer["access_token"])
        traces = client.get(f"/api/v1/incidents/{answer['incident']['id']}", headers=owner).get_json()["traces"]
        return owner, client.get(f"/api/v1/traces/{traces[0]['id']}", headers=owner).get_json()

    def test_a_reported_usdt_theft_is_traced_to_the_exchange_the_sanction_and_the_bridge(self, app, client, theft):
        owner, trace = self._reported(app, client, theft)
        assert trace["status"] == "done", trace["error"]
        assert (trace["chain"], trace["tx_hash"]) == ("tron", theft.root)
        (transfer,) = trace["transaction"]["token_transfers"]
        assert (transfer["symbol"], transfer["amount"], transfer["token"]) == ("USDT", "10000", USDT)
        found = {(f["address"], f["category"]): f for f in trace["findings"]}
        assert found[(BINANCE, "exchange")]["label"].startswith("wallet of exchange Binance")
        assert found[(BINANCE, "exchange")]["advice"] == "reached exchange Binance: send it a freeze request"
        assert found[(SANCTIONED, "sanctioned")]["hop"] == 3
        bridge = found[(ALLBRIDGE, "bridge")]
        assert (bridge["from_chain"], bridge["destination_chain"]) == ("tron", None)  # Allbridge serves many
        assert bridge["deposit_tx"] == theft.hashes["b->bridge"]
        assert bridge["advice"] == (
            "crossed a bridge (Allbridge Core: USDT pool) from tron: the bridge serves several chains, so read "
            f"the destination chain from the bridge's deposit event at {theft.hashes['b->bridge']}, "
            "then continue the trace there")
        binance = next(n for n in trace["graph"]["nodes"] if n["address"] == BINANCE)
        assert binance["taint"]["USDT"] == {"poison": "5000", "haircut": "5000", "fifo": "5000"}
        english = client.get(f"/api/v1/traces/{trace['id']}/freeze-request", headers=owner).get_json()["items"]
        assert [(letter["exchange"], letter["language"]) for letter in english] == [("Binance", "en")]
        chinese = client.get(f"/api/v1/traces/{trace['id']}/freeze-request?language=zh-CN",
                             headers=owner).get_json()["items"]
        assert [(letter["exchange"], letter["language"]) for letter in chinese] == [("Binance", "zh-CN")]
        letters = client.get(f"/api/v1/traces/{trace['id']}/freeze-request?language=all",
                             headers=owner).get_json()["items"]
        assert [(letter["exchange"], letter["language"]) for letter in letters] == [("Binance", "en"),
                                                                                    ("Binance", "zh-CN")]
        refused = client.get(f"/api/v1/traces/{trace['id']}/freeze-request?language=fr", headers=owner)
        assert refused.status_code == 422 and "language" in refused.get_data(as_text=True)
        assert theft.hashes["a->binance"] in letters[0]["text"] and "5000 USDT" in letters[0]["text"]
        assert "致：Binance 合规" in letters[1]["text"] and theft.hashes["a->binance"] in letters[1]["text"]
        assert "5000 USDT" in letters[1]["text"] and "路径" in letters[1]["text"]

    def test_usdt_still_held_by_mules_names_tether_and_the_balance(self, app, client, theft):
        owner, trace = self._reported(app, client, theft)
        held = [(f["address"], f["hop"], f["issuer"], f["asset"], f["balance"]) for f in trace["findings"]
                if f["category"] == "stablecoin"]
        # the exchange wallet and the bridge pool hold USDT too, but pooled services are not an issuer's matter
        assert held == [(THIEF, 1, "tether", "USDT", "0.5"), (MULE_A, 2, "tether", "USDT", "1000"),
                        (MULE_C, 3, "tether", "USDT", "500"), (SANCTIONED, 3, "tether", "USDT", "1000"),
                        (SWEEPER, 4, "tether", "USDT", "499")]
        items = client.get(f"/api/v1/traces/{trace['id']}/issuer-freeze-request",
                           headers=owner).get_json()["items"]
        reached = [THIEF, MULE_A, MULE_C, SANCTIONED, SWEEPER]
        assert [(i["issuer"], i["language"], i["addresses"]) for i in items] == [
            ("tether", "en", reached), ("tether", "zh-CN", reached)]
        english, chinese = items[0]["text"], items[1]["text"]
        assert "To: Tether compliance" in english and f"{MULE_A}  1000 USDT" in english
        assert theft.root in english and theft.hashes["thief->a"] in english
        assert "请求冻结" in chinese and f"{MULE_C}  500 USDT" in chinese and theft.root in chinese

    def test_a_repeated_tron_trace_asks_only_the_solidified_head_and_the_balances(self, app, client, agent,
                                                                                  theft, peer):
        body = {"chain": "tron", "tx_hash": theft.root, "depth": 3}
        tracer = app.extensions["lockdesk"].ports.tracer
        client.post("/api/v1/traces", json=body, headers=agent.headers)
        tracer.run_due()
        asked = len(peer.requests)
        again = client.post("/api/v1/traces", json=body, headers=agent.headers).get_json()
        tracer.run_due()
        repeat = client.get(f"/api/v1/traces/{again['id']}", headers=agent.headers).get_json()
        assert [path for _, path, _, _ in peer.requests[asked:]] == [
            "/walletsolidity/getnowblock", *["/wallet/triggerconstantcontract"] * 6]
        # the balances of the six addresses the USDT reached (pooled services aside, a spent-out mule
        # included): read at trace time, never cached
        assert repeat["status"] == "done" and repeat["round_trips"] == 7
        assert peer.requests[-1][3]["TRON-PRO-API-KEY"] == "grid-key"

    def test_an_api_answering_garbage_fails_the_trace_with_a_clear_error(self, app, client, agent, theft,
                                                                         peer):
        peer.faults["/wallet/gettransactionbyid"] = [(200, b"<html>Bad gateway</html>")]
        queued = client.post("/api/v1/traces", json={"chain": "tron", "tx_hash": theft.root},
                             headers=agent.headers).get_json()
        app.extensions["lockdesk"].ports.tracer.run_due()
        trace = client.get(f"/api/v1/traces/{queued['id']}", headers=agent.headers)
        assert trace.status_code == 200
        assert trace.get_json()["status"] == "failed"
        assert trace.get_json()["error"] == "the explorer sent non-JSON for /wallet/gettransactionbyid"

"""API.md "Traces": queued by staff or by a reporter for its own hashes, run by the worker, read back."""
import pytest
from web3 import Web3

from tests.chain.conftest import anvil  # noqa: F401  (the session's anvil node)
from tests.chain.scenario import lay_out_theft
from tests.factories import bearer, exchange_account, report_body

HASH = "0x" + "ab" * 32


@pytest.mark.parametrize("body,field", [
    ({"chain": "ethereum", "tx_hash": "0x1234"}, "tx_hash"),
    ({"chain": "bitcoin", "tx_hash": HASH}, "tx_hash"),
    ({"chain": "Ethereum!", "tx_hash": HASH}, "chain"),
    ({"chain": "ethereum", "tx_hash": HASH, "depth": 6}, "depth"),
    ({"chain": "ethereum", "tx_hash": HASH, "extra": 1}, "extra"),
])
def test_malformed_requests_are_422_naming_the_field(client, agent, body, field):
    response = client.post("/api/v1/traces", json=body, headers=agent.headers)
    assert response.status_code == 422 and field in response.get_json()["errors"]


def test_a_chain_with_no_explorer_configured_is_refused_before_any_network_call(client, agent):
    response = client.post("/api/v1/traces", json={"chain": "ethereum", "tx_hash": HASH}, headers=agent.headers)
    assert response.status_code == 422
    assert "no explorer configured for chain ethereum" in response.get_json()["errors"]["chain"][0]


def test_a_reporter_may_trace_only_its_own_hashes(client):
    answer = client.post("/api/v1/reports", json=report_body("U1001")).get_json()
    owner, incident_id = bearer(answer["access_token"]), answer["incident"]["id"]
    other = {"chain": "ethereum", "tx_hash": "0x" + "cd" * 32, "incident_id": incident_id}
    assert client.post("/api/v1/traces", json=other, headers=owner).status_code == 403
    nobody = {"chain": "ethereum", "tx_hash": HASH}
    assert client.post("/api/v1/traces", json=nobody, headers=owner).status_code == 403


def test_reported_hashes_are_queued_for_tracing_automatically(client, agent):
    answer = client.post("/api/v1/reports", json=report_body("U1001")).get_json()
    detail = client.get(f"/api/v1/incidents/{answer['incident']['id']}", headers=agent.headers).get_json()
    assert [(t["chain"], t["tx_hash"], t["status"]) for t in detail["traces"]] == [("ethereum", HASH, "queued")]


def test_withdrawals_pulled_from_the_exchange_are_traced_automatically(app, client, agent):
    from exchange_sim.backoffice import NewWithdrawal, add_withdrawal

    stolen = "0x" + "5e" * 32
    with app.extensions["lockdesk"].sessions() as session:
        add_withdrawal(session, withdrawal=NewWithdrawal(
            withdrawal_id="W-1", account_id="U1001", chain="ethereum", asset="ETH", amount="10",
            address="0x00000000000000000000000000000000000a0a00", tx_hash=stolen))
    answer = client.post("/api/v1/reports", json=report_body("U1001", transactions=[])).get_json()
    app.extensions["lockdesk"].ports.dispatcher.drain()
    detail = client.get(f"/api/v1/incidents/{answer['incident']['id']}", headers=agent.headers).get_json()
    assert [w["tx_hash"] for w in detail["withdrawals"]] == [stolen]
    assert {"chain": "ethereum", "hash": stolen, "source": "exchange"} in detail["transactions"]
    assert [(t["tx_hash"], t["depth"]) for t in detail["traces"]] == [(stolen, 3)]


def test_a_queued_trace_without_an_explorer_fails_with_a_clear_error(app, client, agent):
    answer = client.post("/api/v1/reports", json=report_body("U1001")).get_json()
    assert app.extensions["lockdesk"].ports.tracer.run_due() == 1
    detail = client.get(f"/api/v1/incidents/{answer['incident']['id']}", headers=agent.headers).get_json()
    trace = detail["traces"][0]
    assert trace["status"] == "failed" and "no explorer configured for chain ethereum" in trace["error"]


@pytest.mark.slow
class TestOnAnvil:
    @pytest.fixture
    def settings(self, settings, anvil):  # noqa: F811
        settings.update(ETH_RPC_URL=anvil.url, EVM_FINALITY_DEPTH=0)
        return settings

    @pytest.fixture
    def theft(self, anvil):  # noqa: F811
        return lay_out_theft(Web3(Web3.HTTPProvider(anvil.url)))

    def test_the_owner_sees_where_the_stolen_funds_went(self, app, client, theft):
        exchange_account(app, "ANVIL-1")
        body = report_body("ANVIL-1", transactions=[{"chain": "ethereum", "hash": theft.root}])
        answer = client.post("/api/v1/reports", json=body).get_json()
        owner = bearer(answer["access_token"])
        assert app.extensions["lockdesk"].ports.tracer.run_due() == 1
        traces = client.get(f"/api/v1/incidents/{answer['incident']['id']}", headers=owner).get_json()["traces"]
        trace = client.get(f"/api/v1/traces/{traces[0]['id']}", headers=owner).get_json()
        assert trace["status"] == "done" and trace["transaction"]["status"] == "confirmed"
        assert trace["transaction"]["value"] == "10"
        categories = {finding["category"] for finding in trace["findings"]}
        assert {"exchange", "mixer"} <= categories
        svg = client.get(f"/api/v1/traces/{trace['id']}/graph.svg", headers=owner)
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
        letters = client.get(f"/api/v1/traces/{trace['id']}/freeze-request", headers=owner).get_json()["items"]
        assert any("OKX" in letter["exchange"] and theft.root in letter["text"] for letter in letters)

    def test_staff_trace_any_hash_and_a_repeat_costs_one_round_trip(self, app, client, agent, theft):
        first = client.post("/api/v1/traces", json={"chain": "ethereum", "tx_hash": theft.root, "depth": 3},
                            headers=agent.headers)
        assert first.status_code == 202 and first.get_json()["status"] == "queued"
        app.extensions["lockdesk"].ports.tracer.run_due()
        again = client.post("/api/v1/traces", json={"chain": "ethereum", "tx_hash": theft.root, "depth": 3},
                            headers=agent.headers).get_json()
        app.extensions["lockdesk"].ports.tracer.run_due()
        repeat = client.get(f"/api/v1/traces/{again['id']}", headers=agent.headers).get_json()
        assert repeat["status"] == "done" and repeat["round_trips"] == 1

"""The `http` adapter against a real back-office server on 127.0.0.1 that checks signatures and injects faults."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from incidents.exchange.breaker import CircuitBreaker
from incidents.exchange.http import HttpExchange, HttpSettings, _retry_after
from incidents.exchange.port import AccountNotFound, ExchangeRejected, ExchangeUnavailable
from tests.incidents.exchange_peer import (
    API_KEY,
    API_SECRET,
    backoffice_account,
    exchange_server,
    open_account,
)
from tests.incidents.exchange_peer import client_for

__all__ = ["exchange_server"]


class QuietHandler(BaseHTTPRequestHandler):
    """A test peer's handler: answers with `reply`, logs nothing."""

    def reply(self, content_type: str, body: bytes, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args):
        pass


def keep_alive_peer(answer: dict, seen) -> type[QuietHandler]:
    """A peer that keeps connections open (werkzeug's test server never does), shows each POST to `seen` and
    answers `answer` as JSON."""

    class Peer(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            seen(self)
            self.reply("application/json", json.dumps(answer).encode())

    return Peer


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A plain HTTP peer of the test's own on 127.0.0.1 (for answers the back office never gives); its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sessions(app):
    """The application's session factory."""
    return app.extensions["lockdesk"].sessions


def test_a_signed_freeze_is_applied_and_carries_the_idempotency_key(session, sessions, exchange_server):
    open_account(session, "a.b+c@x")
    change = client_for(exchange_server).freeze("a.b+c@x", scope="withdrawals", reason="stolen", reference="INC-9",
                                                idempotency_key="cmd-1")
    assert change.state == "frozen"
    assert backoffice_account(session, "a.b+c@x").freeze_scope == "withdrawals"
    assert exchange_server.calls.keys_for("/freeze") == ["cmd-1"]


def test_a_wrong_secret_is_refused_and_not_retried(session, exchange_server):
    open_account(session)
    with pytest.raises(ExchangeRejected):
        client_for(exchange_server, secret="wrong").get_account("U1001")
    assert len(exchange_server.calls.calls) == 1


def test_503s_are_retried_with_the_same_key_until_the_exchange_recovers(session, sessions, exchange_server):
    open_account(session)
    exchange_server.faults.configure(fail_next=2, retry_after="0")
    change = client_for(exchange_server).freeze("U1001", scope="full", reason="r", reference="INC-1",
                                                idempotency_key="cmd-2")
    assert change.state == "frozen"
    assert exchange_server.calls.keys_for("/freeze") == ["cmd-2"] * 3
    assert backoffice_account(session, "U1001").freezes == 1


def test_an_exchange_that_keeps_failing_is_unavailable_with_its_retry_after(session, exchange_server):
    open_account(session)
    exchange_server.faults.configure(fail_next=10, fail_status=429, retry_after="0")
    with pytest.raises(ExchangeUnavailable) as failure:
        client_for(exchange_server, attempts=2).revoke_sessions("U1001", idempotency_key="k")
    assert failure.value.retry_after == 0
    assert len(exchange_server.calls.keys_for("/sessions/revoke")) == 2


def test_an_unknown_account_is_account_not_found_after_one_call(exchange_server, app):
    with pytest.raises(AccountNotFound):
        client_for(exchange_server).freeze("GHOST", scope="full", reason="r", reference="INC-1", idempotency_key="k")
    assert len(exchange_server.calls.calls) == 1


def test_a_slow_answer_times_out_as_unavailable(session, exchange_server):
    open_account(session)
    exchange_server.faults.configure(delay_seconds=0.5)
    with pytest.raises(ExchangeUnavailable):
        client_for(exchange_server, attempts=1, read_timeout=0.05).get_account("U1001")


def test_the_breaker_stops_calls_to_a_failing_exchange(session, exchange_server):
    open_account(session)
    exchange_server.faults.configure(fail_next=100, retry_after="0")
    adapter = client_for(exchange_server, attempts=1, breaker=CircuitBreaker(failure_threshold=2, reset_after=60))
    for _ in range(4):
        with pytest.raises(ExchangeUnavailable):
            adapter.get_account("U1001")
    assert len(exchange_server.calls.calls) == 2 and adapter.breaker.state == "open"


def test_withdrawals_since_a_time_come_back_through_a_signed_query(session, exchange_server):
    from exchange_sim import backoffice

    open_account(session)
    backoffice.add_withdrawal(session, withdrawal=backoffice.NewWithdrawal(
        withdrawal_id="W1", account_id="U1001", chain="ethereum", asset="USDT", amount="900.25",
        address="0x" + "22" * 20, tx_hash="0x" + "cd" * 32, created_at=datetime(2026, 11, 20, 3, 12, tzinfo=UTC)))
    items = client_for(exchange_server).list_withdrawals("U1001", since=datetime(2026, 11, 20, tzinfo=UTC))
    assert [(w.id, w.amount, w.tx_hash) for w in items] == [("W1", "900.25", "0x" + "cd" * 32)]
    assert client_for(exchange_server).get_account("U1001").factors.totp.secret is not None


def test_threads_share_one_pool_of_kept_alive_connections():
    """Against a peer that keeps connections open (werkzeug's test server never does), calls reuse them."""
    from concurrent.futures import ThreadPoolExecutor

    peers: list[int] = []
    with serving(keep_alive_peer({"revoked": 1}, lambda request: peers.append(request.client_address[1]))) as url:
        adapter = HttpExchange(HttpSettings(base_url=url, api_key=API_KEY, secret=API_SECRET, pool_size=4))
        for n in range(5):
            assert adapter.revoke_sessions("U1001", idempotency_key=f"k{n}").revoked == 1
        assert len(set(peers)) == 1  # one connection, kept alive across calls
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda n: adapter.revoke_sessions("U1001", idempotency_key=f"t{n}"), range(40)))
        assert len(set(peers)) <= 1 + 4  # shared by the threads, never a connection per call
        used = set(peers)
        adapter.close()
        adapter.revoke_sessions("U1001", idempotency_key="after-close")
        assert peers[-1] not in used  # closing dropped the pooled connections


def test_a_signed_unfreeze_lifts_the_freeze_holds_withdrawals_and_is_applied_once_per_key(session, exchange_server):
    open_account(session)
    adapter = client_for(exchange_server)
    adapter.freeze("U1001", scope="full", reason="stolen", reference="INC-1", idempotency_key="freeze-1")
    before = datetime.now(UTC)
    first = adapter.unfreeze("U1001", reason="owner verified", reference="INC-1", withdrawal_cooldown_hours=48,
                             idempotency_key="unfreeze-1")
    again = adapter.unfreeze("U1001", reason="owner verified", reference="INC-1", withdrawal_cooldown_hours=48,
                             idempotency_key="unfreeze-1")
    account = backoffice_account(session, "U1001")
    assert first == again and first.state == account.state == "active"
    held = account.withdrawals_held_until
    held = held if held.tzinfo else held.replace(tzinfo=UTC)
    assert timedelta(hours=47, minutes=59) < held - before < timedelta(hours=48, minutes=1)
    assert exchange_server.calls.keys_for("/unfreeze") == ["unfreeze-1", "unfreeze-1"]


def test_a_cooldown_the_exchange_refuses_is_a_rejection_not_a_retry(session, exchange_server):
    open_account(session)
    with pytest.raises(ExchangeRejected, match="withdrawal_cooldown_hours"):
        client_for(exchange_server).unfreeze("U1001", reason="r", reference="INC-1", withdrawal_cooldown_hours=721,
                                             idempotency_key="unfreeze-2")
    assert len(exchange_server.calls.keys_for("/unfreeze")) == 1


def test_an_answer_that_is_not_json_is_unavailable_and_retried():
    calls: list[str] = []

    class Proxy(QuietHandler):
        """A misconfigured proxy in front of the exchange: 200 with an HTML page."""

        def do_GET(self):
            calls.append(self.path)
            self.reply("text/html", b"<html><body>Welcome to nginx!</body></html>")

    with serving(Proxy) as url:
        adapter = HttpExchange(HttpSettings(base_url=url, api_key=API_KEY, secret=API_SECRET, max_attempts=2),
                               sleep=lambda _s: None)
        with pytest.raises(ExchangeUnavailable, match="not JSON"):
            adapter.get_account("U1001")
        assert calls == ["/v1/accounts/U1001"] * 2


@pytest.mark.parametrize(("header", "seconds"), [
    ("120", 120.0), ("-5", 0.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0), ("soon", None), (None, None)])
def test_retry_after_is_read_as_seconds_or_as_an_http_date(header, seconds):
    assert _retry_after(header) == seconds


def test_retry_after_as_a_future_http_date_is_the_time_until_it():
    future = format_datetime(datetime.now(UTC) + timedelta(minutes=2), usegmt=True)
    assert 110 <= _retry_after(future) <= 120


def test_a_base_url_with_a_path_is_kept_in_front_of_every_call():
    """An exchange behind a gateway at `https://gw/exchange`: the pool is the host's, the path stays in the call."""
    paths: list[str] = []
    with serving(keep_alive_peer({"revoked": 3}, lambda request: paths.append(request.path))) as url:
        adapter = HttpExchange(HttpSettings(base_url=url + "/exchange/", api_key=API_KEY, secret=API_SECRET))
        assert adapter.revoke_api_keys("U 1", idempotency_key="k").revoked == 3
    assert paths == ["/exchange/v1/accounts/U%201/api-keys/revoke"]


def test_calls_go_through_the_environments_proxy_as_whole_urls(monkeypatch, session, exchange_server):
    """HTTP_PROXY set: every call goes to the proxy, naming the whole URL; a real forwarding proxy on 127.0.0.1
    passes it to the back office, which checks the signature over the path as ever."""
    import http.client
    from urllib.parse import urlsplit

    forwarded: list[str] = []

    class ForwardingProxy(QuietHandler):
        def _forward(self):
            forwarded.append(self.path)
            target = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=5)
            headers = {name: value for name, value in self.headers.items()
                       if name.lower() not in ("proxy-connection", "connection", "host")}
            upstream.request(self.command, target.path + (f"?{target.query}" if target.query else ""), body=body,
                             headers=headers)
            answer = upstream.getresponse()
            self.reply(answer.getheader("Content-Type", "application/json"), answer.read(), answer.status)
            upstream.close()

        do_GET = do_POST = _forward

    open_account(session)
    with serving(ForwardingProxy) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.setenv("NO_PROXY", "")
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("http_proxy", raising=False)
        adapter = client_for(exchange_server)
        change = adapter.freeze("U1001", scope="full", reason="stolen", reference="INC-1", idempotency_key="p-1")
        snapshot = adapter.get_account("U1001")
    assert change.state == snapshot.state == "frozen"
    assert forwarded == [exchange_server.url.rstrip("/") + "/v1/accounts/U1001/freeze",
                         exchange_server.url.rstrip("/") + "/v1/accounts/U1001"]

"""`flask exchange serve`: the back office under gunicorn, a process of its own, reached over a real socket."""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from app.db import utcnow
from incidents.exchange.breaker import CircuitBreaker
from incidents.exchange.http import HttpExchange, HttpSettings
from incidents.exchange.signing import sign
from incidents.exchange.wire import format_time
from tests.conftest import TEST_FIELD_KEY
from tests.incidents.exchange_peer import (
    API_KEY,
    API_SECRET,
    TOTP_SECRET,
    backoffice_account,
    keyed_writes,
    open_account,
)
from tests.services import free_port

REPO = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).parent / "flask"
STARTUP_SECONDS = 60


def signed_headers(method: str, path: str, body: bytes = b"", *, key: str | None = None,
                   secret: str = API_SECRET) -> dict[str, str]:
    """The headers of a signed call (and its idempotency key, if any)."""
    stamp = format_time(utcnow())
    headers = {"X-Api-Key": API_KEY, "X-Timestamp": stamp, "Content-Type": "application/json",
               "X-Signature": sign(secret, timestamp=stamp, method=method, path=path, body=body)}
    return headers | ({"Idempotency-Key": key} if key else {})


def call(url: str, method: str, path: str, payload: dict | None = None, *, key: str | None = None,
         timeout: float = 10, secret: str = API_SECRET) -> requests.Response:
    """One signed call on a connection of its own."""
    body = json.dumps(payload).encode() if payload is not None else b""
    with requests.Session() as http:
        return http.request(method, url + path, data=body or None, timeout=timeout,
                            headers=signed_headers(method, path, body, key=key, secret=secret))


@pytest.fixture
def served(database_url, instance, tmp_path) -> Iterator[str]:
    """`flask exchange serve --threads 8` over the test database; its base URL."""
    port, log = free_port(), tmp_path / "exchange.log"
    env = {name: value for name, value in os.environ.items() if not name.startswith(("LOCKDESK_", "EXCHANGE_"))}
    env.update({"LOCKDESK_ENV": "development", "DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key",
                "FIELD_ENCRYPTION_KEY": TEST_FIELD_KEY,
                "ANOMALY_WEBHOOK_SECRET": "whsec-test-secret", "LOCKDESK_INSTANCE_PATH": str(instance),
                "WORKER_ENABLED": "0", "SMS_LOG_PATH": str(instance / "sms.jsonl"), "EXCHANGE_API_KEY": API_KEY,
                "EXCHANGE_API_SECRET": API_SECRET, "PYTHONPATH": str(REPO)})
    with open(log, "wb") as output:
        process = subprocess.Popen([str(FLASK), "--app", "app", "exchange", "serve", "--port", str(port),
                                    "--threads", "8"], cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_answering(url: str, process: subprocess.Popen, log: Path) -> None:
    """Poll until the server answers (401 without a signature is an answer)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"flask exchange serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"{url}/v1/accounts/none", timeout=2).status_code == 401:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    pytest.fail(f"flask exchange serve did not answer:\n{log.read_text()[-3000:]}")


def adapter(url: str) -> HttpExchange:
    """The `http` adapter pointed at the served back office."""
    return HttpExchange(HttpSettings(base_url=url, api_key=API_KEY, secret=API_SECRET),
                        breaker=CircuitBreaker(failure_threshold=100), sleep=lambda _seconds: None)


def test_a_signed_freeze_is_applied_a_replay_changes_nothing_and_an_unsigned_call_is_refused(session, served):
    open_account(session, "a.b+c@x")  # escaped in the path: the signature covers the path as sent
    exchange = adapter(served)
    first = exchange.freeze("a.b+c@x", scope="withdrawals", reason="stolen", reference="INC-1", idempotency_key="k1")
    again = exchange.freeze("a.b+c@x", scope="withdrawals", reason="stolen", reference="INC-1", idempotency_key="k1")
    assert first == again and first.state == "frozen"
    account = backoffice_account(session, "a.b+c@x")
    assert (account.freeze_scope, account.freezes) == ("withdrawals", 1) and keyed_writes(session, "freeze") == 1
    snapshot = exchange.get_account("a.b+c@x")
    assert snapshot.factors.totp.secret == TOTP_SECRET and snapshot.security_events[-1].kind == "account_frozen"
    assert exchange.list_withdrawals("a.b+c@x", since=snapshot.security_events[0].at) == []
    assert call(served, "GET", "/v1/accounts/U1001", secret="wrong").status_code == 401


def test_a_kept_alive_connection_carries_one_call_after_another(session, served):
    open_account(session)
    connection = http.client.HTTPConnection(served.removeprefix("http://"), timeout=10)
    try:
        answers = []
        for _ in range(2):
            connection.request("GET", "/v1/accounts/U1001", headers=signed_headers("GET", "/v1/accounts/U1001"))
            response = connection.getresponse()
            answers.append((response.status, response.version, response.will_close, connection.sock))
            response.read()
    finally:
        connection.close()
    assert answers[0][:3] == answers[1][:3] == (200, 11, False)
    assert answers[0][3] is answers[1][3]  # the same socket


def test_concurrent_calls_with_one_key_on_several_threads_freeze_once(session, served):
    open_account(session)
    body = {"scope": "full", "reason": "stolen", "reference": "INC-1"}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: call(served, "POST", "/v1/accounts/U1001/freeze", body, key="same"),
                                range(8)))
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.text for answer in answers}) == 1
    assert backoffice_account(session, "U1001").freezes == 1 and keyed_writes(session, "freeze") == 1


def test_faults_set_through_the_api_reach_every_thread(session, served):
    open_account(session)
    assert call(served, "POST", "/_faults", {"fail_next": 3, "fail_status": 503}).status_code == 200
    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(lambda _: call(served, "GET", "/v1/accounts/U1001").status_code, range(6)))
    assert statuses == [200, 200, 200, 503, 503, 503]
    assert call(served, "POST", "/_faults", {"delay_seconds": 2}).status_code == 200
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda _: _times_out(served), range(4)))
    assert outcomes == [True] * 4
    assert call(served, "POST", "/_faults", {"delay_seconds": 0}).status_code == 200
    assert call(served, "GET", "/v1/accounts/U1001").json()["state"] == "active"


def _times_out(url: str) -> bool:
    """Whether a read of the account outlasts a client that waits a tenth of a second."""
    try:
        call(url, "GET", "/v1/accounts/U1001", timeout=0.1)
    except requests.Timeout:
        return True
    return False


def test_the_call_log_keeps_only_the_newest_calls():
    from exchange_sim.server import CALL_LOG_LIMIT, Call, CallLog

    log = CallLog()
    for n in range(CALL_LOG_LIMIT + 5):
        log.add(Call("POST", "/v1/accounts/A/freeze", f"k{n}"))
    keys = log.keys_for("/freeze")
    assert len(keys) == CALL_LOG_LIMIT and keys[0] == "k5" and keys[-1] == f"k{CALL_LOG_LIMIT + 4}"

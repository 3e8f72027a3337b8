"""What the edge of the service guarantees: the client address behind proxies, and the security headers."""
from __future__ import annotations

import pytest

from app.security_headers import CONTENT_SECURITY_POLICY
from tests.factories import report_body

PROXY = "10.9.0.1"


def report(client, account: str, *, remote: str = PROXY, forwarded: str | None = None) -> int:
    """POST a report as it arrives from `remote` with an optional X-Forwarded-For; the status."""
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post("/api/v1/reports", json=report_body(account), headers=headers,
                       environ_base={"REMOTE_ADDR": remote}).status_code


class TestBehindOneTrustedProxy:
    @pytest.fixture
    def settings(self, settings):
        settings.update(TRUSTED_PROXY_HOPS=1, REPORT_RATE_LIMIT="2 per minute")
        return settings

    def test_the_report_limit_counts_each_client_the_proxy_forwards_for(self, client):
        first = [report(client, f"A{i}", forwarded="198.51.100.7") for i in range(3)]
        other = report(client, "B0", forwarded="198.51.100.8")
        assert first == [201, 201, 429] and other == 201

    def test_entries_a_client_forges_left_of_the_proxys_own_change_nothing(self, client):
        statuses = [report(client, f"F{i}", forwarded=f"203.0.113.{i}, 198.51.100.9") for i in range(3)]
        assert statuses == [201, 201, 429]


class TestWithoutATrustedProxy:
    @pytest.fixture
    def settings(self, settings):
        settings.update(REPORT_RATE_LIMIT="2 per minute")  # TRUSTED_PROXY_HOPS defaults to 0
        return settings

    def test_a_forged_forwarded_for_changes_nothing(self, client):
        statuses = [report(client, f"G{i}", remote="192.0.2.50", forwarded=f"203.0.113.{i}") for i in range(3)]
        assert statuses == [201, 201, 429]

    def test_the_request_keeps_the_connecting_address(self, app):
        with app.test_request_context("/", headers={"X-Forwarded-For": "203.0.113.1"},
                                      environ_base={"REMOTE_ADDR": "192.0.2.50"}):
            from flask import request

            assert request.remote_addr == "192.0.2.50"


@pytest.mark.parametrize("path", ["/", "/api/v1/openapi.json", "/api/v1/docs", "/console/login", "/nowhere"])
def test_every_answer_carries_a_policy_without_inline_script(client, path):
    policy = client.get(path).headers["Content-Security-Policy"]
    assert policy == CONTENT_SECURITY_POLICY
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'" and "unsafe-inline" not in policy


def test_pages_may_not_be_framed(client):
    response = client.get("/")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_send_no_referrer(client):
    assert client.get("/").headers["Referrer-Policy"] == "no-referrer"


def test_answers_are_not_sniffed(client):
    assert client.get("/").headers["X-Content-Type-Options"] == "nosniff"


def test_development_sends_no_hsts(client):
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_production_sends_hsts(monkeypatch, tmp_path):
    from app import create_app
    from tests import services
    from tests.deploy.test_production_mode import production_settings

    services.require("postgresql")  # production mode runs on PostgreSQL only
    monkeypatch.setenv("LOCKDESK_INSTANCE_PATH", str(tmp_path))
    app = create_app(production_settings(services.postgres_url("postgres")))
    try:
        hsts = app.test_client().get("/api/v1/openapi.json").headers["Strict-Transport-Security"]
    finally:
        app.extensions["lockdesk"].engine.dispose()
    assert hsts.startswith("max-age=63072000")


def test_the_api_docs_load_swagger_ui_from_this_server(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "cdn" not in page and "<script>" not in page
    bundle = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and b"SwaggerUIBundle" in bundle.data
    assert client.get("/api/v1/docs/assets/secrets.json").status_code == 404

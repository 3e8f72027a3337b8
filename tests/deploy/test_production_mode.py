"""Production mode (API.md "Production mode"): each demo part stops the start, naming its setting."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from app import create_app
from app.production import ProductionRefused
from tests import services


def production_settings(database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/lockdesk") -> dict:
    """Settings of a deployment that uses no demo part at all."""
    return {
        "LOCKDESK_ENV": "production", "DATABASE_URL": database_url,
        "SECRET_KEY": "given-secret-key", "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "ANOMALY_WEBHOOK_SECRET": "given-webhook-secret",
        "EXCHANGE_ADAPTER": "http", "EXCHANGE_API_BASE": "https://exchange.example", "EXCHANGE_API_KEY": "k",
        "EXCHANGE_API_SECRET": "s", "SMS_GATEWAY": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t",
        "TWILIO_FROM": "+15550000000", "SMTP_URL": "smtp://mail.example:587",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0", "WORKER_ENABLED": False,
    }


def refusal(monkeypatch, tmp_path, **changes) -> str:
    """The message of the refused start with these changes to a clean production setup."""
    monkeypatch.setenv("LOCKDESK_INSTANCE_PATH", str(tmp_path))
    settings = production_settings()
    for name, value in changes.items():
        if value is None:
            settings.pop(name, None)
            monkeypatch.delenv(name, raising=False)
        else:
            settings[name] = value
    with pytest.raises(ProductionRefused) as refused:
        create_app(settings)
    return str(refused.value)


def test_production_is_the_default_when_lockdesk_env_is_not_set(monkeypatch, tmp_path):
    monkeypatch.delenv("LOCKDESK_ENV")
    assert "EXCHANGE_ADAPTER=local" in refusal(monkeypatch, tmp_path, LOCKDESK_ENV=None, EXCHANGE_ADAPTER="local")


def test_the_embedded_exchange_is_refused(monkeypatch, tmp_path):
    assert "EXCHANGE_ADAPTER=local" in refusal(monkeypatch, tmp_path, EXCHANGE_ADAPTER="local")


def test_the_sms_log_gateway_is_refused(monkeypatch, tmp_path):
    assert "SMS_GATEWAY=log" in refusal(monkeypatch, tmp_path, SMS_GATEWAY="log")


def test_mail_to_the_log_is_refused(monkeypatch, tmp_path):
    assert "SMTP_URL is not set" in refusal(monkeypatch, tmp_path, SMTP_URL=None)


@pytest.mark.parametrize("name", ["SECRET_KEY", "FIELD_ENCRYPTION_KEY", "ANOMALY_WEBHOOK_SECRET"])
def test_a_secret_that_would_be_generated_is_refused_and_nothing_is_written(monkeypatch, tmp_path, name):
    message = refusal(monkeypatch, tmp_path, **{name: None})
    assert f"{name} was generated" in message
    assert not (tmp_path / "secrets.json").exists()


def test_sqlite_is_refused(monkeypatch, tmp_path):
    assert "DATABASE_URL is SQLite" in refusal(monkeypatch, tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite")


def test_in_memory_rate_limits_are_refused_with_more_than_one_process(monkeypatch, tmp_path):
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    assert "RATELIMIT_STORAGE_URI=memory://" in refusal(monkeypatch, tmp_path, RATELIMIT_STORAGE_URI="memory://")


def test_the_bench_floor_is_refused(monkeypatch, tmp_path):
    assert "BENCH_FLOOR" in refusal(monkeypatch, tmp_path, BENCH_FLOOR="1")


def test_every_problem_is_named_in_one_refusal(monkeypatch, tmp_path):
    message = refusal(monkeypatch, tmp_path, EXCHANGE_ADAPTER="local", SMS_GATEWAY="log", BENCH_FLOOR="1")
    assert all(name in message for name in ("EXCHANGE_ADAPTER=local", "SMS_GATEWAY=log", "BENCH_FLOOR"))


def test_an_unknown_environment_name_stops_the_start(monkeypatch, tmp_path):
    monkeypatch.setenv("LOCKDESK_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ValueError, match="LOCKDESK_ENV must be development or production"):
        create_app({**production_settings(), "LOCKDESK_ENV": "staging"})


def test_in_memory_rate_limits_are_allowed_in_a_single_process(monkeypatch, tmp_path):
    services.require("postgresql")
    monkeypatch.setenv("LOCKDESK_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    app = create_app({**production_settings(services.postgres_url("postgres")), "RATELIMIT_STORAGE_URI": "memory://"})
    assert app.config["LOCKDESK_ENV"] == "production"
    app.extensions["lockdesk"].engine.dispose()


def test_a_production_setup_without_demo_parts_starts(monkeypatch, tmp_path):
    services.require("postgresql")
    monkeypatch.setenv("LOCKDESK_INSTANCE_PATH", str(tmp_path))
    app = create_app(production_settings(services.postgres_url("postgres")))
    assert app.config["LOCKDESK_ENV"] == "production" and not (tmp_path / "secrets.json").exists()
    app.extensions["lockdesk"].engine.dispose()


def test_development_mode_runs_the_demo_parts(monkeypatch, tmp_path):
    monkeypatch.setenv("LOCKDESK_INSTANCE_PATH", str(tmp_path))
    app = create_app({"LOCKDESK_ENV": "development", "DATABASE_URL": f"sqlite:///{tmp_path}/demo.sqlite",
                      "WORKER_ENABLED": False, "SMS_LOG_PATH": str(tmp_path / "sms.jsonl")})
    assert app.config["EXCHANGE_ADAPTER"] == "local" and (tmp_path / "secrets.json").exists()
    app.extensions["lockdesk"].engine.dispose()

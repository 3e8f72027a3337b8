"""The `flask --app app …` commands of API.md."""
import json

import pyotp

from tests.factories import report_body


def test_staff_create_prints_the_token_and_totp_secret_once_as_json(runner):
    result = runner.invoke(args=["staff", "create", "--name", "agent-9", "--role", "agent", "--json"])
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    assert created["token"].startswith("lds_") and created["role"] == "agent"
    assert len(pyotp.TOTP(created["totp_secret"]).now()) == 6
    again = runner.invoke(args=["staff", "create", "--name", "agent-9", "--role", "agent", "--json"])
    assert again.exit_code == 2 and "exists" in again.output


def test_staff_create_refuses_an_unknown_role(runner):
    result = runner.invoke(args=["staff", "create", "--name", "x", "--role", "king"])
    assert result.exit_code == 2


def test_staff_set_password_reads_standard_input(runner):
    runner.invoke(args=["staff", "create", "--name", "officer-9", "--role", "risk_officer"])
    result = runner.invoke(args=["staff", "set-password", "officer-9"], input="a sufficiently long one\n")
    assert result.exit_code == 0 and "password set" in result.output
    short = runner.invoke(args=["staff", "set-password", "officer-9"], input="short\n")
    assert short.exit_code == 2


def test_labels_import_adds_new_rows_and_skips_known_ones(runner, tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("address,label,category\n0x00000000000000000000000000000000000a0a00,Test Mule,hack\n")
    assert json.loads(runner.invoke(args=["labels", "import", str(path)]).output) == {"added": 1, "skipped": 0}
    assert json.loads(runner.invoke(args=["labels", "import", str(path)]).output) == {"added": 0, "skipped": 1}


def test_trace_refuses_a_chain_with_no_explorer(runner):
    result = runner.invoke(args=["trace", "ethereum", "0x" + "ab" * 32])
    assert result.exit_code == 2 and "no explorer configured for chain ethereum" in result.output


def test_demo_seed_creates_the_account_and_staff_once(runner, app):
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    seeded = json.loads(first.output)
    assert seeded["account"]["totp_secret"] and len(seeded["staff"]) == 4
    assert sorted(person["role"] for person in seeded["staff"]) == ["admin", "agent", "risk_officer", "risk_officer"]
    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0 and "seeded before" in second.output
    assert seeded["staff"][0]["token"] in second.output


def test_worker_once_runs_what_is_due_and_exits(runner, client):
    assert client.post("/api/v1/reports", json=report_body()).status_code == 201  # frozen; its follow-ups wait
    first = runner.invoke(args=["worker", "--once"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["dispatched"] >= 1
    assert json.loads(runner.invoke(args=["worker", "--once"]).output) == {"dispatched": 0}


def test_a_time_that_is_not_iso_8601_is_refused_naming_the_option(runner):
    result = runner.invoke(args=["exchange", "add-account", "--id", "U8", "--email", "a@example.com", "--phone",
                                 "+15550008", "--totp-secret", "JBSWY3DPEHPK3PXP", "--totp-bound-at", "yesterday"])
    assert result.exit_code == 2 and "--totp-bound-at" in result.output and "'yesterday' is not an ISO 8601 time" in (
        result.output)

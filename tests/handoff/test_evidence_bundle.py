"""The evidence bundle (API.md "Handing the case on"): what it holds, who may write it, its audit event."""
from __future__ import annotations

import hashlib
import io
import json
import re

import pytest
from pypdf import PdfReader

from tests.conversation.conftest import file_report, png, upload
from tests.factories import exchange_account, make_staff
from tests.handoff.support import finished_trace, members


@pytest.fixture
def case(app, client):
    """U1001's reported case with two files and a finished depth-3 trace reaching an exchange."""
    exchange_account(app, "U1001")
    reported = file_report(client)
    files = [upload(client, reported, reported.headers, png(), "screen.png").json,
             upload(client, reported, reported.headers, "警方报案回执 police receipt 42".encode(), "receipt.txt").json]
    trace_id = finished_trace(app, reported.incident_id)
    return reported, files, trace_id


def bundle(client, incident_id: str, headers, language: str = "en"):
    """GET the bundle."""
    return client.get(f"/api/v1/incidents/{incident_id}/evidence-bundle", headers=headers,
                      query_string={"language": language})


def test_the_bundle_lists_every_file_with_its_hash_and_holds_the_case_traces_letters_and_files(app, client, case):
    reported, files, trace_id = case
    answer = bundle(client, reported.incident_id, make_staff(app, "agent").headers)
    assert answer.status_code == 200 and answer.mimetype == "application/zip"
    assert answer.headers["Content-Disposition"].startswith('attachment; filename="INC-')
    content = members(answer.data)
    manifest = json.loads(content["manifest.json"])
    assert list(content)[:2] == ["manifest.json", "manifest.sig"]
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert set(listed) == set(content) - {"manifest.json", "manifest.sig"}
    for path, entry in listed.items():
        assert entry["sha256"] == hashlib.sha256(content[path]).hexdigest() and entry["size"] == len(content[path])
    assert {"case.pdf", "timeline.json", f"traces/{trace_id}.json", f"traces/{trace_id}.svg",
            f"letters/{trace_id}-Binance.txt"} <= set(listed)
    assert manifest["incident"].startswith("INC-") and manifest["key_id"] and len(manifest["audit_head"]) == 64
    assert b"Urgent freeze request" in content[f"letters/{trace_id}-Binance.txt"]
    assert "紧急冻结请求" in content[f"letters/{trace_id}-Binance.zh-CN.txt"].decode()
    assert content[f"traces/{trace_id}.svg"].startswith(b"<svg")
    assert json.loads(content[f"traces/{trace_id}.json"])["findings"][0]["category"] == "exchange"


def test_attachments_are_the_decrypted_originals_whose_sha256_the_audit_chain_holds(app, client, case):
    reported, files, _trace_id = case
    content = members(bundle(client, reported.incident_id, make_staff(app, "agent").headers).data)
    timeline = json.loads(content["timeline.json"])
    chained = {event["data"]["sha256"] for event in timeline if event["action"] == "attachment.uploaded"}
    for uploaded in files:
        path = f"attachments/{uploaded['id']}-{uploaded['filename']}"
        assert hashlib.sha256(content[path]).hexdigest() == uploaded["sha256"]
        assert uploaded["sha256"] in chained
    assert "警方报案回执".encode() in content[f"attachments/{files[1]['id']}-receipt.txt"]


def test_the_timeline_carries_each_events_link_in_the_audit_chain(app, client, case):
    reported, _files, _trace_id = case
    timeline = json.loads(members(bundle(client, reported.incident_id, make_staff(app, "agent").headers).data)
                          ["timeline.json"])
    assert timeline and all(event["seq"] and len(event["hash"]) == 64 and len(event["prev_hash"]) == 64
                            for event in timeline)
    assert [event["seq"] for event in timeline] == sorted(event["seq"] for event in timeline)


def test_writing_a_bundle_is_an_audit_event_with_its_hash(app, client, case):
    reported, _files, _trace_id = case
    officer = make_staff(app, "risk_officer").headers
    answer = bundle(client, reported.incident_id, officer, "zh-CN")
    events = client.get(f"/api/v1/incidents/{reported.incident_id}/timeline", headers=officer).json["items"]
    written = [event for event in events if event["action"] == "evidence.bundle_written"]
    assert len(written) == 1 and written[0]["data"]["sha256"] == hashlib.sha256(answer.data).hexdigest()
    assert written[0]["data"]["language"] == "zh-CN"


def test_the_chinese_case_pdf_holds_its_text_in_chinese(app, client, case):
    reported, _files, _trace_id = case
    content = members(bundle(client, reported.incident_id, make_staff(app, "agent").headers, "zh-CN").data)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content["case.pdf"])).pages)
    reference = json.loads(content["manifest.json"])["incident"]
    assert reference in text
    for words in ("工单", "证据", "摘要", "时间线", "资金流向", "已冻结"):
        assert words in text, words
    assert "Binance 14" in text
    flat = re.sub(r"\s+", "", text)
    assert "请向其发送冻结请求" in flat and "send it a freeze request" not in text  # the finding's advice
    assert "受制裁 黑客 钓鱼 混币器 跨链桥 交易所" in text and "第 1 跳" in text  # the picture's legend, captions
    assert "以太坊" in text and "incident.opened" not in text  # the chain and the timeline's events by name


def test_the_english_case_pdf_names_the_summary_findings_and_decisions(app, client, case):
    reported, _files, _trace_id = case
    content = members(bundle(client, reported.incident_id, make_staff(app, "agent").headers, "en").data)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content["case.pdf"])).pages)
    for words in ("Summary", "Verification of the owner", "Decisions", "Fund flow and findings", "Timeline",
                  "receipt.txt"):
        assert words in text, words


def test_a_language_other_than_english_or_chinese_is_refused_naming_it(app, client, case):
    reported, _files, _trace_id = case
    answer = bundle(client, reported.incident_id, make_staff(app, "agent").headers, "fr")
    assert answer.status_code == 422 and "language" in json.dumps(answer.json["errors"]), answer.json


def test_only_staff_write_bundles_and_an_unknown_case_is_not_found(app, client, case):
    reported, _files, _trace_id = case
    assert bundle(client, reported.incident_id, reported.headers).status_code == 403
    missing = bundle(client, "00000000-0000-4000-8000-000000000000", make_staff(app, "admin").headers)
    assert missing.status_code == 404


def test_the_bundle_carries_the_newest_signed_audit_checkpoint(app, client, runner, case):
    reported, _files, _trace_id = case
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    content = members(bundle(client, reported.incident_id, make_staff(app, "agent").headers).data)
    checkpoint = json.loads(content["audit/checkpoint.json"])
    key = client.get("/api/v1/instance/public-key").json
    assert checkpoint["public_key"] == key["public_key"] and checkpoint["key_id"] == key["key_id"]
    assert checkpoint["seq"] >= 1 and len(checkpoint["head"]) == 64
    assert json.loads(content["manifest.json"])["key_id"] == key["key_id"]


def test_each_file_taken_into_a_bundle_is_on_the_chain_of_custody(app, client, case):
    reported, files, _trace_id = case
    officer = make_staff(app, "risk_officer").headers
    bundle(client, reported.incident_id, officer)
    events = client.get(f"/api/v1/incidents/{reported.incident_id}/timeline", headers=officer).json["items"]
    read = {(event["subject_id"], event["data"]["sha256"]) for event in events
            if event["action"] == "attachment.read" and event["data"].get("into") == "evidence bundle"}
    assert read == {(uploaded["id"], uploaded["sha256"]) for uploaded in files}

"""The console's step-up (a risk officer's own code on an unfreeze decision), through the test client: a wrong code
says how many attempts are left and a locked authenticator says in how many minutes, in English and in Chinese."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.factories import exchange_account, last_sms_code
from tests.web.conftest import csrf_of, totp_now
from tests.web.pages import sign_in

SAID = {"en": {"left": re.compile(r"That code is not correct\. Attempts left: (\d+)\."),
               "locked": re.compile(r"Too many wrong codes\. You can enter a new code in (\d+) minutes? "
                                    r"\(at \d\d:\d\d UTC\)\.")},
        "zh-CN": {"left": re.compile(r"验证码不正确。剩余尝试次数：(\d+)。"),
                  "locked": re.compile(r"错误的验证码过多。您可以在 (\d+) 分钟后（\d\d:\d\d UTC）输入新的验证码。")}}


def _asked_unfreeze(app, clock, account_id: str) -> tuple[str, str]:
    """A report, the owner verified with both codes and an unfreeze asked for (through the API): the case's and
    the request's ids."""
    client = app.test_client()
    answer = client.post("/api/v1/reports", json={"account_id": account_id, "kind": "stolen_account"}).get_json()
    incident_id, headers = answer["incident"]["id"], {"Authorization": f"Bearer {answer['access_token']}"}
    verification = client.post(f"/api/v1/incidents/{incident_id}/verifications", headers=headers).get_json()
    client.post(f"/api/v1/verifications/{verification['id']}/totp", json={"code": totp_now(clock.now)},
                headers=headers)
    client.post(f"/api/v1/verifications/{verification['id']}/sms", headers=headers)
    client.post(f"/api/v1/verifications/{verification['id']}/sms/check", json={"code": last_sms_code(app)},
                headers=headers)
    asked = client.post(f"/api/v1/incidents/{incident_id}/unfreeze-requests", headers=headers)
    assert asked.status_code == 201, asked.get_json()
    return incident_id, asked.get_json()["id"]


def _wrong(member, at) -> str:
    """A six-digit code the member's authenticator does not show around this time."""
    valid = {member.code(at + timedelta(seconds=step)) for step in (-60, -30, 0, 30, 60)}
    return next(code for code in ("000000", "111111", "222222", "333333", "444444") if code not in valid)


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_a_wrong_step_up_code_says_the_attempts_left_and_a_lock_says_in_how_many_minutes(app, client, officer,
                                                                                         clock, language):
    exchange_account(app, f"U76{len(language)}1")
    incident_id, request_id = _asked_unfreeze(app, clock, f"U76{len(language)}1")
    sign_in(client, officer, clock)
    case_url, headers = f"/console/incidents/{incident_id}", {"Accept-Language": language}
    said, left = SAID[language], []
    for _attempt in range(10):
        page = client.get(case_url, headers=headers).text
        answer = client.post(f"{case_url}/unfreeze/{request_id}/decision", headers=headers, data={
            "csrf_token": csrf_of(page), "decision": "approve", "reason": "checked", "totp": _wrong(officer, clock.now)})
        assert answer.status_code == 303
        shown = client.get(case_url, headers=headers).text
        if said["locked"].search(shown):
            break
        left.append(int(said["left"].search(shown).group(1)))
    else:
        pytest.fail("the authenticator never locked")
    assert left and left == sorted(left, reverse=True) and left[-1] >= 0  # counted down, never in the domain's English
    assert int(said["locked"].search(shown).group(1)) >= 1
    assert "Check what you entered" not in shown and "检查您输入的内容" not in shown

"""After the language switch and the console sign-in, `next` only ever leads to a path on this site (item 7)."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from app.edge import local_path
from tests.factories import make_staff, STAFF_PASSWORD
from tests.web.conftest import csrf_of

HOSTILE = ["/%09/evil.example", "/%0A/x", "/%0D%0A/x", "//evil.example", "/\\evil.example", "\\\\evil.example",
           "https://evil.example/", "javascript:alert(1)", "/%20/evil.example", "%2F%2Fevil.example",
           "http:/evil.example", "/%E2%80%8B/x"]


def leaves_the_site(location: str) -> bool:
    """Whether a browser following this Location would go to another host (it drops tabs and line breaks)."""
    cleaned = location.replace("\t", "").replace("\n", "").replace("\r", "").replace("\\", "/")
    parts = urlsplit(cleaned)
    return bool(parts.scheme or parts.netloc) and parts.netloc not in ("", "localhost")


@pytest.mark.parametrize("target", HOSTILE)
def test_the_language_switch_never_redirects_off_site(client, target):
    response = client.get(f"/language?to=en&next={target}")
    assert response.status_code in (302, 303, 422), response.status_code
    if response.status_code != 422:
        assert not leaves_the_site(response.headers["Location"]), response.headers["Location"]


def test_the_language_switch_returns_to_the_page_it_was_on(client):
    response = client.get("/language?to=zh_CN&next=/report%3Fa%3D1")
    assert response.status_code == 302 and response.headers["Location"] == "/report?a=1"


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/x", "//evil.example", "/\\evil.example",
                                    "https://evil.example/", "/ /evil.example"])
def test_the_console_sign_in_never_redirects_off_site(app, client, clock, target):
    member = make_staff(app, "risk_officer", "officer-next")
    page = client.get("/console/sign-in")
    response = client.post("/console/sign-in", data={
        "csrf_token": csrf_of(page.get_data(as_text=True)), "name": member.name, "password": STAFF_PASSWORD,
        "code": member.code(clock.now), "next": target})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert not leaves_the_site(response.headers["Location"]) and response.headers["Location"].startswith("/console")


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/x", "//evil.example", "/\\x", "https://e.example/",
                                    "javascript:x", "", None, "relative/path"])
def test_a_next_that_is_not_a_local_path_falls_back(target):
    assert local_path(target, "/home") == "/home"


def test_a_local_next_is_kept_percent_encoded():
    assert local_path("/i/abc?x=1#y", "/") == "/i/abc?x=1#y"
    assert local_path("/案件", "/") == "/%E6%A1%88%E4%BB%B6"

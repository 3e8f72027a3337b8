"""`flask evidence verify FILE.zip`: the signature and every hash checked offline; the first bad file named."""
from __future__ import annotations

import base64
import fnmatch
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.conversation.conftest import file_report, png, upload
from tests.factories import exchange_account, make_staff
from tests.handoff.support import SIGNING_SEED, finished_trace, members, rezip


@pytest.fixture
def written(app, client, tmp_path):
    """A bundle of a case with a file and a trace, as the API gave it, and its members."""
    exchange_account(app, "U1001")
    reported = file_report(client)
    upload(client, reported, reported.headers, png(), "screen.png")
    finished_trace(app, reported.incident_id)
    answer = client.get(f"/api/v1/incidents/{reported.incident_id}/evidence-bundle",
                        headers=make_staff(app, "agent").headers)
    return answer.data, members(answer.data)


def verify(runner, tmp_path, data: bytes, *extra: str):
    """Run the command on a bundle written to a file."""
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    return runner.invoke(args=["evidence", "verify", str(path), *extra])


def flip(data: bytes, at: int | None = None) -> bytes:
    """The bytes with one byte changed (in the middle unless told where)."""
    index = len(data) // 2 if at is None else at
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1:]


def test_an_untouched_bundle_is_valid(runner, tmp_path, written):
    result = verify(runner, tmp_path, written[0])
    assert result.exit_code == 0 and result.output.startswith("valid")


@pytest.mark.parametrize("kind", ["case.pdf", "timeline.json", "traces/*.json", "traces/*.svg", "letters/*",
                                  "attachments/*"])
def test_one_changed_byte_in_any_kind_of_file_is_named(runner, tmp_path, written, kind):
    files = dict(written[1])
    path = next(name for name in files if fnmatch.fnmatch(name, kind))
    files[path] = flip(files[path])
    result = verify(runner, tmp_path, rezip(files))
    assert result.exit_code == 1 and f"invalid: {path}:" in result.output


def test_a_changed_manifest_no_longer_matches_its_signature(runner, tmp_path, written):
    files = dict(written[1])
    manifest = json.loads(files["manifest.json"])
    manifest["files"][0]["sha256"] = "0" * 64
    files["manifest.json"] = json.dumps(manifest).encode()
    result = verify(runner, tmp_path, rezip(files))
    assert result.exit_code == 1 and "invalid: manifest.sig:" in result.output


def test_a_changed_signature_is_refused(runner, tmp_path, written):
    files = dict(written[1])
    files["manifest.sig"] = base64.b64encode(flip(base64.b64decode(files["manifest.sig"]), at=5))
    result = verify(runner, tmp_path, rezip(files))
    assert result.exit_code == 1 and "invalid: manifest.sig:" in result.output


def test_a_file_slipped_in_that_the_manifest_does_not_list_is_named(runner, tmp_path, written):
    files = {**written[1], "attachments/extra.txt": b"added later"}
    result = verify(runner, tmp_path, rezip(files))
    assert result.exit_code == 1 and "invalid: attachments/extra.txt: not listed" in result.output


@pytest.mark.parametrize("into", [60, 200, 400, 800])
def test_a_byte_changed_in_the_zip_itself_is_caught(runner, tmp_path, written, into):
    data = written[0]
    offset = data.index(b"timeline.json") + into  # inside the deflated timeline
    result = verify(runner, tmp_path, flip(data, at=offset))
    assert result.exit_code == 1 and "invalid: timeline.json:" in result.output


def test_the_signers_public_key_may_be_given_and_another_key_fails(app, runner, tmp_path, written):
    ours = base64.b64encode(Ed25519PrivateKey.from_private_bytes(base64.b64decode(SIGNING_SEED)).public_key()
                            .public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    other = base64.b64encode(Ed25519PrivateKey.generate().public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw)).decode()
    assert verify(runner, tmp_path, written[0], "--public-key", ours).exit_code == 0
    result = verify(runner, tmp_path, written[0], "--public-key", other)
    assert result.exit_code == 1 and "invalid: manifest.sig:" in result.output
    refused = verify(runner, tmp_path, written[0], "--public-key", "not-a-key")
    assert refused.exit_code == 2 and "--public-key" in refused.output

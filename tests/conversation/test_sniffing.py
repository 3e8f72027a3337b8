"""The pure checks of an upload: names, sniffed types, re-encoding."""
from __future__ import annotations

import pytest

from kernel.errors import InvalidInput
from incidents.conversation.sniffing import UnsupportedFileType, checked_filename, clean_upload, sniff
from tests.conversation.conftest import png


@pytest.mark.parametrize("name", ["a\\b.png", "a/b.png", "..", "tab\there.png", "rtl\u202egnp.exe", "x" * 256, " "])
def test_names_with_paths_control_characters_or_over_255_characters_are_refused(name):
    with pytest.raises(InvalidInput) as refused:
        checked_filename(name)
    assert refused.value.extra["errors"].keys() == {"file"}


def test_a_unicode_name_is_kept():
    assert checked_filename("身份证 正面.png") == "身份证 正面.png"


def test_the_type_comes_from_the_bytes_never_the_name():
    assert clean_upload(filename="report.pdf", data=png(), max_bytes=10_000).content_type == "image/png"
    with pytest.raises(UnsupportedFileType) as refused:
        sniff(b"MZ" + b"\x00" * 100)
    assert refused.value.extra["found"] == "application/x-msdownload"


def test_re_encoding_is_deterministic_for_the_same_pixels():
    assert clean_upload(filename="a.png", data=png(), max_bytes=10_000).data == clean_upload(
        filename="b.png", data=png(), max_bytes=10_000).data

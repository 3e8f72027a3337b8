"""Canned replies staff pick in the console, shipped in English and Chinese."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

LANGUAGES = ("en", "zh-CN")
_DATA = Path(__file__).resolve().parent / "data" / "reply_templates.json"


@dataclass(frozen=True)
class ReplyTemplate:
    """One canned reply in one language."""

    key: str
    language: str
    title: str
    body: str


@cache
def _all() -> tuple[ReplyTemplate, ...]:
    """Every shipped template."""
    return tuple(ReplyTemplate(**item) for item in json.loads(_DATA.read_text(encoding="utf-8")))


def reply_templates(*, language: str | None = None) -> list[ReplyTemplate]:
    """The templates of one language, or of both."""
    return [template for template in _all() if language is None or template.language == language]

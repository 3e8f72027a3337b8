"""The audit port: verification records events through a sink the composition root passes in.

The hash-chained audit table belongs to the incidents domain, which verification never imports.
"""
from __future__ import annotations

import uuid
from typing import Any, Protocol

from sqlalchemy.orm import Session


class AuditSink(Protocol):
    """Appends one audit event inside the caller's transaction (incidents.audit.record fits)."""

    def __call__(self, session: Session, *, actor: str, action: str, subject_type: str,
                 subject_id: Any, incident_id: uuid.UUID | None, data: dict[str, Any]) -> Any:
        """Record the event; never commit."""
        ...

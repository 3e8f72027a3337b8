"""Handing the case on: the exchange's deposit addresses, and freeze requests sent to and received from peers.

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0012"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _delivery_columns() -> list[sa.Column]:
    """The outbox columns (incidents.models.DeliveryColumns)."""
    return [sa.Column("status", sa.String(20), nullable=False), sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("next_attempt_at", UTC_TIME, nullable=False), sa.Column("last_error", sa.Text()),
            sa.Column("claim_token", sa.String(32)), sa.Column("claimed_until", UTC_TIME),
            sa.Column("created_at", UTC_TIME, nullable=False), sa.Column("delivered_at", UTC_TIME)]


def upgrade() -> None:
    """Create the deposit-address table of the embedded exchange and the peer protocol's tables."""
    op.create_table(
        "backoffice_deposit_addresses",
        sa.Column("address", sa.String(128), primary_key=True),
        sa.Column("chain", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(64), sa.ForeignKey("backoffice_accounts.id"), nullable=False, index=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
    )
    op.create_table(
        "sent_freeze_requests",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("trace_id", sa.Uuid(), sa.ForeignKey("traces.id"), nullable=False),
        sa.Column("incident_id", sa.Uuid(), sa.ForeignKey("incidents.id"), index=True),
        sa.Column("exchange", sa.String(100), nullable=False),
        sa.Column("chain", sa.String(32), nullable=False),
        sa.Column("addresses", JSON, nullable=False),
        sa.Column("deposits", JSON, nullable=False),
        sa.Column("evidence_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("reference", sa.String(100)),
        sa.Column("resolution", sa.Text()),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("ack_due_at", UTC_TIME, nullable=False),
        sa.Column("acknowledged_at", UTC_TIME),
    )
    op.create_table(
        "received_freeze_requests",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("request_id", sa.String(100), nullable=False),
        sa.Column("from_exchange", sa.String(100), nullable=False),
        sa.Column("case_reference", sa.String(100), nullable=False),
        sa.Column("chain", sa.String(32), nullable=False),
        sa.Column("deposits", JSON, nullable=False),
        sa.Column("evidence_sha256", sa.String(64), nullable=False),
        sa.Column("callback_url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("declined", JSON, nullable=False),
        sa.Column("answer", JSON, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.UniqueConstraint("from_exchange", "request_id"),
    )
    op.create_table(
        "peer_holds",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("incident_id", sa.Uuid(), sa.ForeignKey("incidents.id"), nullable=False, index=True),
        sa.Column("received_id", sa.Uuid(), sa.ForeignKey("received_freeze_requests.id"), nullable=False,
                  index=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("addresses", JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("held_at", UTC_TIME),
        sa.Column("released_at", UTC_TIME),
        sa.Column("released_by", sa.String(100)),
        sa.Column("release_reason", sa.Text()),
    )
    op.create_table(
        "peer_messages",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("peer", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("body", JSON, nullable=False),
        sa.Column("sent_request_id", sa.Uuid(), sa.ForeignKey("sent_freeze_requests.id"), index=True),
        *_delivery_columns(),
    )
    op.create_index("ix_peer_messages_status_next_attempt_at", "peer_messages", ["status", "next_attempt_at"])


def downgrade() -> None:
    """Drop them."""
    for table in ("peer_messages", "peer_holds", "received_freeze_requests", "sent_freeze_requests",
                  "backoffice_deposit_addresses"):
        op.drop_table(table)

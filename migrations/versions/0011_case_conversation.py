"""Give each case a conversation: messages per reporter's thread, attached files, the wait for the owner, and who started a verification.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BIGINT_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the messages and attachments tables and the new columns."""
    op.create_table(
        "messages",
        sa.Column("number", BIGINT_KEY, primary_key=True, autoincrement=True),
        sa.Column("id", sa.Uuid(), nullable=False, unique=True),
        sa.Column("incident_id", sa.Uuid(), sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("report_id", sa.Uuid(), sa.ForeignKey("reports.id"), nullable=True, index=True),
        sa.Column("author", sa.String(10), nullable=False),
        sa.Column("author_staff_id", sa.Uuid(), sa.ForeignKey("staff.id"), nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("visibility", sa.String(10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("awaiting_reply", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
    )
    op.create_index("ix_messages_incident_id_number", "messages", ["incident_id", "number"])
    op.create_table(
        "attachments",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("incident_id", sa.Uuid(), sa.ForeignKey("incidents.id"), nullable=False, index=True),
        sa.Column("report_id", sa.Uuid(), sa.ForeignKey("reports.id"), nullable=True),
        sa.Column("message_id", sa.Uuid(), sa.ForeignKey("messages.id"), nullable=True, index=True),
        sa.Column("author", sa.String(10), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("purged_at", UTC_TIME, nullable=True),
    )
    # Plain ADD COLUMN: a batch copy of `incidents` on SQLite would rebuild its partial unique index.
    op.add_column("incidents", sa.Column("awaiting_since", UTC_TIME, nullable=True))
    op.add_column("incidents", sa.Column("reminders_sent", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("verifications", sa.Column("started_by", sa.String(100), nullable=True))


def downgrade() -> None:
    """Drop what upgrade created."""
    op.drop_column("verifications", "started_by")
    op.drop_column("incidents", "reminders_sent")
    op.drop_column("incidents", "awaiting_since")
    op.drop_table("attachments")
    op.drop_index("ix_messages_incident_id_number", "messages")
    op.drop_table("messages")

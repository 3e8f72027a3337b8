"""Scope the owner's short TOTP lock to the token that guessed, and bind each SMS code to the token that asked.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create totp_throttles and add sms_codes.requested_by."""
    op.create_table(
        "totp_throttles",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_totp_throttles"),
        sa.UniqueConstraint("account_id", "actor", name="uq_totp_throttles_account_id_actor"),
    )
    # Plain ADD COLUMN: nullable, so no table copy on SQLite.
    op.add_column("sms_codes", sa.Column("requested_by", sa.String(100), nullable=True))


def downgrade() -> None:
    """Drop what upgrade created."""
    with op.batch_alter_table("sms_codes") as batch:
        batch.drop_column("requested_by")
    op.drop_table("totp_throttles")

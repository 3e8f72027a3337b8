"""Say how a case ended: the exchange had no such account, the owner took the report back, the account was unfrozen.

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """A nullable word per incident; open cases have none."""
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("outcome", sa.String(40), nullable=True))


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("outcome")

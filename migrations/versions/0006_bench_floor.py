"""Add the bench floor table: the tiny row the floor endpoint inserts, to compare intake against.

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = ("bench",)
depends_on = None


def upgrade() -> None:
    """A row id and a time: the least a committed write can be."""
    op.create_table(
        "bench_floor",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bench_floor")),
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("bench_floor")

"""Add traces, the chain-data cache and imported address labels.

Revision ID: 0004
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = ("chain",)
depends_on = None


def _when(name: str, nullable: bool = True) -> sa.Column:
    """A UTC timestamp column (stored naive on SQLite by the model's type)."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json() -> sa.types.TypeEngine:
    """JSON everywhere, JSONB on PostgreSQL (as app.db.JSONType)."""
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Create the chain tables."""
    op.create_table(
        "traces",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=True),
        sa.Column("chain", sa.String(32), nullable=False),
        sa.Column("tx_hash", sa.String(80), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("transaction", _json(), nullable=True),
        sa.Column("graph", _json(), nullable=True),
        sa.Column("findings", _json(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("round_trips", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("requested_by", sa.String(64), nullable=True),
        _when("created_at", nullable=False),
        _when("started_at"),
        _when("finished_at"),
        sa.PrimaryKeyConstraint("id", name="pk_traces"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name="fk_traces_incident_id_incidents"),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')",
                           name="ck_traces_status"),
        sa.CheckConstraint("depth BETWEEN 0 AND 5", name="ck_traces_depth"),
    )
    op.create_index("ix_traces_incident_id", "traces", ["incident_id"])
    op.create_index("ix_traces_chain_tx_hash", "traces", ["chain", "tx_hash"])
    op.create_table(
        "chain_cache",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chain", sa.String(32), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("value", _json(), nullable=False),
        _when("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chain_cache"),
        sa.UniqueConstraint("chain", "key", name="uq_chain_cache_chain_key"),
    )
    op.create_table(
        "address_labels",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chain", sa.String(32), nullable=False),
        sa.Column("address", sa.String(128), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("entity", sa.String(100), nullable=True),
        sa.Column("source", sa.String(200), nullable=False),
        _when("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_address_labels"),
        sa.UniqueConstraint("chain", "address", "category", "label",
                            name="uq_address_labels_chain_address_category_label"),
        sa.CheckConstraint("category IN ('exchange', 'mixer', 'bridge', 'sanctioned', "
                           "'phishing', 'hack')", name="ck_address_labels_category"),
    )
    op.create_index("ix_address_labels_address", "address_labels", ["address"])


def downgrade() -> None:
    """Drop the chain tables."""
    op.drop_index("ix_address_labels_address", table_name="address_labels")
    op.drop_table("address_labels")
    op.drop_table("chain_cache")
    op.drop_index("ix_traces_chain_tx_hash", table_name="traces")
    op.drop_index("ix_traces_incident_id", table_name="traces")
    op.drop_table("traces")

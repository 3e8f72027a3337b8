"""Signed checkpoints of the audit chain; TRUNCATE of the audit tables refused.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PG_CHECKPOINTS_GUARD = """
CREATE OR REPLACE FUNCTION audit_checkpoints_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_checkpoints is append-only';
END $$;
"""


def upgrade() -> None:
    """The checkpoints table, append-only; TRUNCATE refused on both audit tables (PostgreSQL; SQLite has none)."""
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("seq", BIG_ID, nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    op.create_index("ix_audit_checkpoints_seq", "audit_checkpoints", ["seq"], unique=True)
    if op.get_bind().dialect.name == "postgresql":
        # The row triggers of 0008 never fire for TRUNCATE: a statement trigger refuses it.
        op.execute("CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()")
        op.execute(PG_CHECKPOINTS_GUARD)
        op.execute("CREATE TRIGGER audit_checkpoints_no_change BEFORE UPDATE OR DELETE ON audit_checkpoints "
                   "FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_append_only()")
        op.execute("CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoints_append_only()")
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_checkpoints_no_{operation.lower()} BEFORE {operation} ON "
                       "audit_checkpoints BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END")


def downgrade() -> None:
    """Drop the checkpoints and the TRUNCATE guard."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER audit_checkpoints_no_change ON audit_checkpoints")
        op.execute("DROP TRIGGER audit_checkpoints_no_truncate ON audit_checkpoints")
        op.execute("DROP FUNCTION audit_checkpoints_append_only()")
    op.drop_index("ix_audit_checkpoints_seq", table_name="audit_checkpoints")
    op.drop_table("audit_checkpoints")

"""Link audit events into the chain after commit: a position per event, set once by the sealer.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SEALING_ONLY = ("OLD.seq IS NULL AND NEW.seq IS NOT NULL AND NEW.id = OLD.id AND NEW.occurred_at = OLD.occurred_at "
                "AND NEW.actor = OLD.actor AND NEW.action = OLD.action AND NEW.subject_type = OLD.subject_type "
                "AND NEW.subject_id = OLD.subject_id AND NEW.incident_id IS NOT DISTINCT FROM OLD.incident_id "
                "AND NEW.data = OLD.data")
PG_GUARD = f"""
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND {SEALING_ONLY} THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only';
END $$;
"""
SQLITE_UPDATE_GUARD = ("CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
                       f"WHEN NOT ({SEALING_ONLY.replace('IS NOT DISTINCT FROM', 'IS')}) "
                       "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END")
SQLITE_DELETE_GUARD = ("CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
                       "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END")
OLD_SQLITE_UPDATE_GUARD = ("CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
                           "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END")
BACKFILL = ("UPDATE audit_events SET seq = ordered.position FROM "
            "(SELECT id, row_number() OVER (ORDER BY id) AS position FROM audit_events) AS ordered "
            "WHERE audit_events.id = ordered.id")


def _lift_guards() -> bool:
    """Let this migration change audit rows (PostgreSQL: pause the trigger; SQLite: drop the triggers it
    puts back); whether the database is PostgreSQL."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update")
    else:
        op.execute("DROP TRIGGER audit_events_no_update")
        op.execute("DROP TRIGGER audit_events_no_delete")
    return postgresql


def upgrade() -> None:
    """Add the position, let the link columns wait for the sealer, allow only sealing updates."""
    postgresql = _lift_guards()
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=True)
        batch.alter_column("hash", existing_type=sa.String(64), nullable=True)
    op.execute(BACKFILL)
    with op.batch_alter_table("audit_events") as batch:
        batch.create_unique_constraint(op.f("uq_audit_events_seq"), ["seq"])
    op.create_index("ix_audit_events_unsealed", "audit_events", ["id"], unique=False,
                    sqlite_where=sa.text("seq IS NULL"), postgresql_where=sa.text("seq IS NULL"))
    if postgresql:
        op.execute(PG_GUARD)
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update")
    else:
        op.execute(SQLITE_UPDATE_GUARD)
        op.execute(SQLITE_DELETE_GUARD)


def downgrade() -> None:
    """Back to links written with each event (only possible once every event is sealed)."""
    postgresql = _lift_guards()
    op.drop_index("ix_audit_events_unsealed", table_name="audit_events")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_constraint(op.f("uq_audit_events_seq"), type_="unique")
        batch.drop_column("seq")
        batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(64), nullable=False)
    if postgresql:
        op.execute("CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    "BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$;")
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update")
    else:
        op.execute(OLD_SQLITE_UPDATE_GUARD)
        op.execute(SQLITE_DELETE_GUARD)

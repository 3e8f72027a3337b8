"""Add the embedded exchange back office, the outbox lease and the records pulled from the exchange.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = ("exchange",)
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIGINT_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the back-office tables, the incident-side records and the lease columns."""
    _create_backoffice()
    _create_incident_records()
    with op.batch_alter_table("exchange_commands") as batch:
        batch.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("claimed_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("claimed_until", TIME, nullable=True))


def _create_backoffice() -> None:
    """The exchange's own tables (embedded back office)."""
    op.create_table(
        "backoffice_accounts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("freeze_scope", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("anti_phishing_code", sa.String(length=64), nullable=True),
        sa.Column("totp_secret", sa.Text(), nullable=True),
        sa.Column("totp_bound_at", TIME, nullable=True),
        sa.Column("phone_bound_at", TIME, nullable=True),
        sa.Column("active_sessions", sa.Integer(), nullable=False),
        sa.Column("active_api_keys", sa.Integer(), nullable=False),
        sa.Column("freezes", sa.Integer(), nullable=False),
        sa.Column("withdrawals_held_until", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("changed_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backoffice_accounts")),
    )
    op.create_table(
        "backoffice_security_events",
        sa.Column("id", BIGINT_KEY, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["backoffice_accounts.id"],
                                name=op.f("fk_backoffice_security_events_account_id_backoffice_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backoffice_security_events")),
    )
    op.create_index(op.f("ix_backoffice_security_events_account_id"), "backoffice_security_events",
                    ["account_id"])
    op.create_table(
        "backoffice_withdrawals",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("chain", sa.String(length=40), nullable=False),
        sa.Column("asset", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=128), nullable=False),
        sa.Column("tx_hash", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["backoffice_accounts.id"],
                                name=op.f("fk_backoffice_withdrawals_account_id_backoffice_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backoffice_withdrawals")),
    )
    op.create_index("ix_backoffice_withdrawals_account_id_created_at", "backoffice_withdrawals",
                    ["account_id", "created_at"])
    op.create_table(
        "backoffice_requests",
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("operation", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("response", JSON, nullable=False),
        sa.Column("replays", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("idempotency_key", name=op.f("pk_backoffice_requests")),
    )
    op.create_index(op.f("ix_backoffice_requests_account_id"), "backoffice_requests", ["account_id"])


def _create_incident_records() -> None:
    """What Lockdesk keeps of the exchange's answers: pulled withdrawals and account snapshots."""
    op.create_table(
        "incident_withdrawals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("exchange_withdrawal_id", sa.String(length=64), nullable=False),
        sa.Column("chain", sa.String(length=40), nullable=False),
        sa.Column("asset", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=128), nullable=False),
        sa.Column("tx_hash", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("pulled_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_incident_withdrawals_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_withdrawals")),
        sa.UniqueConstraint("incident_id", "exchange_withdrawal_id",
                            name=op.f("uq_incident_withdrawals_incident_id_exchange_withdrawal_id")),
    )
    op.create_index(op.f("ix_incident_withdrawals_incident_id"), "incident_withdrawals", ["incident_id"])
    op.create_index(op.f("ix_incident_withdrawals_tx_hash"), "incident_withdrawals", ["tx_hash"])
    op.create_table(
        "account_snapshots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("anti_phishing_code", sa.Text(), nullable=True),
        sa.Column("totp_secret", sa.Text(), nullable=True),
        sa.Column("totp_bound_at", TIME, nullable=True),
        sa.Column("sms_bound_at", TIME, nullable=True),
        sa.Column("security_events", JSON, nullable=False),
        sa.Column("taken_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_account_snapshots_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_snapshots")),
    )
    op.create_index(op.f("ix_account_snapshots_incident_id"), "account_snapshots", ["incident_id"])


def downgrade() -> None:
    """Drop what upgrade created."""
    with op.batch_alter_table("exchange_commands") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
        batch.drop_column("claim_token")
    for table in ("account_snapshots", "incident_withdrawals", "backoffice_requests", "backoffice_withdrawals",
                  "backoffice_security_events", "backoffice_accounts"):
        op.drop_table(table)

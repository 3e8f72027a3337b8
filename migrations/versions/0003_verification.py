"""Add owner verification: authenticator state, verifications, factor checks and SMS codes.

Revision ID: 0003
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = ("verification",)
depends_on = None


def _when(name: str, nullable: bool = True) -> sa.Column:
    """A UTC timestamp column (stored naive on SQLite by the model's type)."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create the verification tables."""
    op.create_table(
        "otp_factors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_kind", sa.String(10), nullable=False),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("total_failures", sa.Integer(), nullable=False, server_default="0"),
        _when("locked_until"),
        _when("disabled_at"),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_otp_factors"),
        sa.UniqueConstraint("owner_kind", "owner_id", name="uq_otp_factors_owner_kind_owner_id"),
        sa.CheckConstraint("owner_kind IN ('account', 'staff')", name="ck_otp_factors_owner_kind"),
    )
    op.create_table(
        "verifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("manual_review_required", sa.Boolean(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("anti_phishing_code", sa.Text(), nullable=True),
        sa.Column("language", sa.String(16), nullable=False),
        _when("expires_at", nullable=False),
        _when("created_at", nullable=False),
        _when("passed_at"),
        sa.Column("reviewed_by", sa.String(64), nullable=True),
        _when("reviewed_at"),
        sa.Column("review_decision", sa.String(10), nullable=True),
        sa.Column("review_evidence", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_verifications"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name="fk_verifications_incident_id_incidents"),
        sa.CheckConstraint("status IN ('pending', 'passed', 'failed', 'expired', 'manual_review')",
                           name="ck_verifications_status"),
    )
    op.create_index("ix_verifications_incident_id", "verifications", ["incident_id"])
    op.create_index("ix_verifications_account_id", "verifications", ["account_id"])
    op.create_table(
        "factor_checks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("verification_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("trust_reason", sa.String(40), nullable=True),
        sa.Column("destination", sa.String(32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("passed_at"),
        sa.PrimaryKeyConstraint("id", name="pk_factor_checks"),
        sa.ForeignKeyConstraint(["verification_id"], ["verifications.id"], ondelete="CASCADE",
                                name="fk_factor_checks_verification_id_verifications"),
        sa.UniqueConstraint("verification_id", "kind", name="uq_factor_checks_verification_id_kind"),
        sa.CheckConstraint("kind IN ('totp', 'sms')", name="ck_factor_checks_kind"),
        sa.CheckConstraint("status IN ('pending', 'passed', 'failed', 'locked')",
                           name="ck_factor_checks_status"),
    )
    op.create_table(
        "sms_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("verification_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        _when("created_at", nullable=False),
        _when("expires_at", nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("used_at"),
        _when("burned_at"),
        sa.PrimaryKeyConstraint("id", name="pk_sms_codes"),
        sa.ForeignKeyConstraint(["verification_id"], ["verifications.id"], ondelete="CASCADE",
                                name="fk_sms_codes_verification_id_verifications"),
    )
    op.create_index("ix_sms_codes_verification_id", "sms_codes", ["verification_id"])
    op.create_index("ix_sms_codes_account_id_created_at", "sms_codes", ["account_id", "created_at"])


def downgrade() -> None:
    """Drop the verification tables."""
    op.drop_table("sms_codes")
    op.drop_table("factor_checks")
    op.drop_index("ix_verifications_account_id", table_name="verifications")
    op.drop_index("ix_verifications_incident_id", table_name="verifications")
    op.drop_table("verifications")
    op.drop_table("otp_factors")

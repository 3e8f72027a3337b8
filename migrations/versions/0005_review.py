"""Add the unfreeze review, SLA escalations, the notification and webhook outboxes and repudiation links.

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0001"
branch_labels = ("review",)
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)
OPEN_REQUEST_SQL = "status IN ('pending', 'approved', 'executing')"


def upgrade() -> None:
    """Create the review tables and the two outboxes."""
    _create_review()
    _create_outboxes()
    op.create_table(
        "sla_escalations",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("sla_due_at", TIME, nullable=False),
        sa.Column("escalated_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_sla_escalations_incident_id_incidents")),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_sla_escalations")),
    )
    op.create_table(
        "repudiations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("notice", sa.String(length=40), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("used_at", TIME, nullable=True),
        sa.Column("used_from", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repudiations")),
    )
    op.create_index(op.f("ix_repudiations_incident_id"), "repudiations", ["incident_id"])


def _create_review() -> None:
    """Requests, their checklist items, decisions and the one execution of each."""
    op.create_table(
        "unfreeze_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("verification_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("raised_by", sa.String(length=100), nullable=False),
        sa.Column("approvals_required", sa.Integer(), nullable=False),
        sa.Column("executes_at", TIME, nullable=False),
        sa.Column("withdrawal_cooldown_hours", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("decided_at", TIME, nullable=True),
        sa.Column("executed_at", TIME, nullable=True),
        sa.Column("completed_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_unfreeze_requests_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unfreeze_requests")),
    )
    op.create_index(op.f("ix_unfreeze_requests_incident_id"), "unfreeze_requests", ["incident_id"])
    op.create_index("ix_unfreeze_requests_status_executes_at", "unfreeze_requests", ["status", "executes_at"])
    op.create_index("uq_unfreeze_requests_open_incident", "unfreeze_requests", ["incident_id"], unique=True,
                    sqlite_where=sa.text(OPEN_REQUEST_SQL), postgresql_where=sa.text(OPEN_REQUEST_SQL))
    op.create_table(
        "unfreeze_checklist_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("item", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("is_auto", sa.Boolean(), nullable=False),
        sa.Column("by", sa.String(length=100), nullable=True),
        sa.Column("at", TIME, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("attested_by", sa.String(length=100), nullable=True),
        sa.Column("attested_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["unfreeze_requests.id"],
                                name=op.f("fk_unfreeze_checklist_items_request_id_unfreeze_requests")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unfreeze_checklist_items")),
        sa.UniqueConstraint("request_id", "item", name=op.f("uq_unfreeze_checklist_items_request_id_item")),
    )
    op.create_index(op.f("ix_unfreeze_checklist_items_request_id"), "unfreeze_checklist_items", ["request_id"])
    op.create_table(
        "unfreeze_decisions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("officer_id", sa.Uuid(), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["unfreeze_requests.id"],
                                name=op.f("fk_unfreeze_decisions_request_id_unfreeze_requests")),
        sa.ForeignKeyConstraint(["officer_id"], ["staff.id"], name=op.f("fk_unfreeze_decisions_officer_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unfreeze_decisions")),
        sa.UniqueConstraint("request_id", "officer_id", name=op.f("uq_unfreeze_decisions_request_id_officer_id")),
    )
    op.create_index(op.f("ix_unfreeze_decisions_request_id"), "unfreeze_decisions", ["request_id"])
    op.create_table(
        "unfreeze_executions",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("command_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["unfreeze_requests.id"],
                                name=op.f("fk_unfreeze_executions_request_id_unfreeze_requests")),
        sa.ForeignKeyConstraint(["command_id"], ["exchange_commands.id"],
                                name=op.f("fk_unfreeze_executions_command_id_exchange_commands")),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_unfreeze_executions")),
        sa.UniqueConstraint("command_id", name=op.f("uq_unfreeze_executions_command_id")),
    )


def _delivery_columns() -> list[sa.Column]:
    """The outbox columns both delivery tables share."""
    return [
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIME, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("claimed_until", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("delivered_at", TIME, nullable=True),
    ]


def _create_outboxes() -> None:
    """Notifications to owners and the risk queue; signed webhooks to subscribers."""
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=True),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("notice", sa.String(length=40), nullable=False),
        sa.Column("repudiation_id", sa.Uuid(), nullable=True),
        sa.Column("recipient", sa.String(length=254), nullable=True),
        sa.Column("data", JSON, nullable=False),
        *_delivery_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(op.f("ix_notifications_incident_id"), "notifications", ["incident_id"])
    op.create_index("ix_notifications_status_next_attempt_at", "notifications", ["status", "next_attempt_at"])
    op.create_table(
        "outbound_webhooks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("event_type", sa.String(length=80), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        *_delivery_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_webhooks")),
    )
    op.create_index(op.f("ix_outbound_webhooks_incident_id"), "outbound_webhooks", ["incident_id"])
    op.create_index("ix_outbound_webhooks_status_next_attempt_at", "outbound_webhooks",
                    ["status", "next_attempt_at"])


def downgrade() -> None:
    """Drop what upgrade created, dependants first."""
    for table in ("outbound_webhooks", "notifications", "unfreeze_executions", "unfreeze_decisions",
                  "unfreeze_checklist_items", "unfreeze_requests", "repudiations", "sla_escalations"):
        op.drop_table(table)

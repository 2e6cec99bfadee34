"""retention_indexes: what the pruning of finished event rows reads

webhook_deliveries(outbox_id) answers "is a delivery of this event left?" and the foreign-key check of each
outbox row deleted (it was only the second column of a unique index); the finished deliveries and the processed
inbox ids are found oldest first.

Revision ID: retention_indexes
Revises: contact_audit
Create Date: 2026-11-30 17:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "retention_indexes"
down_revision: str | None = "contact_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_webhook_deliveries_outbox", "webhook_deliveries", ["outbox_id"])
    op.create_index(
        "ix_webhook_deliveries_finished",
        "webhook_deliveries",
        ["created_at"],
        postgresql_where="status <> 'pending'",
    )
    op.create_index("ix_inbox_messages_processed_at", "inbox_messages", ["processed_at"])


def downgrade() -> None:
    op.drop_index("ix_inbox_messages_processed_at", table_name="inbox_messages")
    op.drop_index("ix_webhook_deliveries_finished", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_outbox", table_name="webhook_deliveries")

"""relay lanes: deliveries know their lane, claims carry a token, indexes serve the claim and the log

Revision ID: relay_lanes
Revises: d74851f93f0a
Create Date: 2026-11-30 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "relay_lanes"
down_revision: str | None = "d74851f93f0a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "webhook_deliveries",
        sa.Column("internal", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "webhook_deliveries", sa.Column("claim_token", postgresql.UUID(as_uuid=True), nullable=True)
    )
    op.execute(
        "UPDATE webhook_deliveries d SET internal = true FROM webhook_endpoints e"
        " WHERE e.id = d.endpoint_id AND e.kind = 'internal'"
    )
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_endpoint_case", table_name="webhook_deliveries")
    op.create_index(
        "ix_webhook_deliveries_lane_due",
        "webhook_deliveries",
        ["internal", "next_attempt_at", "id"],
        postgresql_where="status = 'pending'",
    )
    op.create_index(
        "ix_webhook_deliveries_pending_case",
        "webhook_deliveries",
        ["endpoint_id", "case_id", "outbox_id"],
        postgresql_where="status = 'pending'",
    )
    op.create_index("ix_webhook_deliveries_endpoint", "webhook_deliveries", ["endpoint_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_endpoint", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_pending_case", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_lane_due", table_name="webhook_deliveries")
    op.create_index(
        "ix_webhook_deliveries_endpoint_case", "webhook_deliveries", ["endpoint_id", "case_id", "outbox_id"]
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where="status = 'pending'",
    )
    op.drop_column("webhook_deliveries", "claim_token")
    op.drop_column("webhook_deliveries", "internal")

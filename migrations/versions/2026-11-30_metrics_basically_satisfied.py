"""metrics_basically_satisfied: the rollup counts basically satisfied ratings apart

metric_days gains basically_satisfied (of the satisfied count), so the dashboard and the exports can show
满意 and 基本满意 separately. Every day already rolled up is marked for the worker to recompute.

Revision ID: metrics_basically_satisfied
Revises: metrics
Create Date: 2026-11-30 16:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "metrics_basically_satisfied"
down_revision: str | None = "metrics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "metric_days", sa.Column("basically_satisfied", sa.Integer(), server_default="0", nullable=False)
    )
    op.execute(
        "INSERT INTO metric_dirty_days (jurisdiction_id, day)"
        " SELECT DISTINCT jurisdiction_id, day FROM metric_days ON CONFLICT DO NOTHING"
    )


def downgrade() -> None:
    op.drop_column("metric_days", "basically_satisfied")

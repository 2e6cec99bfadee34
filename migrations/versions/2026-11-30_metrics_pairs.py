"""metrics_pairs: a department's daily counts per top-level category and per grid

The dashboard filters a department chart by category or grid: two dimensions, which the rollup's single key
could not hold, so such views counted the raw rows (1.2 s at 1M cases). metric_days gains key2 (in the
primary key) and the dims department_top_category and department_grid; every rolled-up day is marked for the
worker to recompute with them.

Revision ID: metrics_pairs
Revises: metrics_basically_satisfied
Create Date: 2026-11-30 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "metrics_pairs"
down_revision: str | None = "metrics_basically_satisfied"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DIMS = ("all", "department", "category", "top_category", "committee", "station", "deputy", "grid")
_PAIRS = ("department_top_category", "department_grid")


def _check(dims: tuple[str, ...]) -> str:
    return "dim IN (" + ", ".join(f"'{d}'" for d in dims) + ")"


def upgrade() -> None:
    op.alter_column("metric_days", "dim", type_=sa.String(32), existing_nullable=False)
    op.add_column("metric_days", sa.Column("key2", sa.BigInteger(), server_default="0", nullable=False))
    op.drop_constraint(op.f("pk_metric_days"), "metric_days", type_="primary")
    op.create_primary_key(
        "pk_metric_days", "metric_days", ["jurisdiction_id", "day", "kind", "dim", "key", "key2"]
    )
    op.drop_constraint(op.f("ck_metric_days_dim"), "metric_days", type_="check")
    op.create_check_constraint("dim", "metric_days", _check(_DIMS + _PAIRS))
    op.execute(
        "INSERT INTO metric_dirty_days (jurisdiction_id, day)"
        " SELECT DISTINCT jurisdiction_id, day FROM metric_days ON CONFLICT DO NOTHING"
    )


def downgrade() -> None:
    op.execute("DELETE FROM metric_days WHERE dim IN ('department_top_category', 'department_grid')")
    op.drop_constraint(op.f("ck_metric_days_dim"), "metric_days", type_="check")
    op.create_check_constraint("dim", "metric_days", _check(_DIMS))
    op.drop_constraint(op.f("pk_metric_days"), "metric_days", type_="primary")
    op.create_primary_key(
        op.f("pk_metric_days"), "metric_days", ["jurisdiction_id", "day", "kind", "dim", "key"]
    )
    op.drop_column("metric_days", "key2")
    op.alter_column("metric_days", "dim", type_=sa.String(16), existing_nullable=False)

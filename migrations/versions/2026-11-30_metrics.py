"""metrics: the daily metrics rollup, hot spots, metric settings and dashboard sessions

metric_days holds, per jurisdiction, Beijing day of receipt, kind, dimension and dimension value, the counts
behind every rate; a trigger on case_events marks the received day of a case whose log grew in
metric_dirty_days, and the worker recomputes those days from the raw rows. hotspots/hotspot_cases keep
clusters of cases on one matter in one grid; dashboard_sessions the signed-in dashboard browsers (token
hashes only). Also: the partial index the photo cleanup needs (uploads never attached, by expiry).

Revision ID: metrics
Revises: deputy_work
Create Date: 2026-11-30 15:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "metrics"
down_revision: str | None = "deputy_work"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_days",
        sa.Column("jurisdiction_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("dim", sa.String(length=16), nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("excluded", sa.Integer(), nullable=False),
        sa.Column("dispatched", sa.Integer(), nullable=False),
        sa.Column("replied", sa.Integer(), nullable=False),
        sa.Column("reply_due", sa.Integer(), nullable=False),
        sa.Column("replied_on_time", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.Column("rated", sa.Integer(), nullable=False),
        sa.Column("satisfied", sa.Integer(), nullable=False),
        sa.Column("unrated", sa.Integer(), nullable=False),
        sa.Column("reworked", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        sa.Column("suggestions_replied", sa.Integer(), nullable=False),
        sa.Column("met", sa.Integer(), nullable=False),
        sa.Column("assignments", sa.Integer(), nullable=False),
        sa.Column("accepted_on_time", sa.Integer(), nullable=False),
        sa.Column("declined", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "dim IN ('all', 'department', 'category', 'top_category', 'committee', 'station', 'deputy', 'grid')",
            name=op.f("ck_metric_days_dim"),
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_metric_days_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("jurisdiction_id", "day", "kind", "dim", "key", name=op.f("pk_metric_days")),
    )
    op.create_index("ix_metric_days_dim_day", "metric_days", ["jurisdiction_id", "dim", "day"], unique=False)
    op.create_table(
        "metric_dirty_days",
        sa.Column("jurisdiction_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_metric_dirty_days_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("jurisdiction_id", "day", name=op.f("pk_metric_dirty_days")),
    )
    op.create_table(
        "metric_settings",
        sa.Column("jurisdiction_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("ranking_min_sample", sa.Integer(), server_default="10", nullable=False),
        sa.Column("weight_response", sa.Integer(), server_default="30", nullable=False),
        sa.Column("weight_resolution", sa.Integer(), server_default="35", nullable=False),
        sa.Column("weight_satisfaction", sa.Integer(), server_default="35", nullable=False),
        sa.Column("hotspot_min_cases", sa.Integer(), server_default="5", nullable=False),
        sa.Column("hotspot_window_days", sa.Integer(), server_default="7", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("hotspot_min_cases >= 2", name=op.f("ck_metric_settings_hotspot_min_cases")),
        sa.CheckConstraint(
            "hotspot_window_days BETWEEN 1 AND 90", name=op.f("ck_metric_settings_hotspot_window_days")
        ),
        sa.CheckConstraint("ranking_min_sample >= 1", name=op.f("ck_metric_settings_ranking_min_sample")),
        sa.CheckConstraint(
            "weight_response >= 0 AND weight_resolution >= 0 AND weight_satisfaction >= 0 AND weight_response + weight_resolution + weight_satisfaction = 100",
            name=op.f("ck_metric_settings_weights"),
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_metric_settings_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("jurisdiction_id", name=op.f("pk_metric_settings")),
    )
    op.create_table(
        "dashboard_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("api_key_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_dashboard_sessions_api_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_dashboard_sessions")),
    )
    op.create_index(
        op.f("ix_dashboard_sessions_api_key_id"), "dashboard_sessions", ["api_key_id"], unique=False
    )
    op.create_table(
        "hotspots",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("grid_id", sa.BigInteger(), nullable=False),
        sa.Column("category_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("case_count", sa.Integer(), nullable=False),
        sa.Column("first_case_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_case_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("suggestion_id", sa.BigInteger(), nullable=True),
        sa.Column("converted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('open', 'converted', 'closed')", name=op.f("ck_hotspots_status")),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_hotspots_category_id_categories")
        ),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_hotspots_grid_id_grids")),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"], ["jurisdictions.id"], name=op.f("fk_hotspots_jurisdiction_id_jurisdictions")
        ),
        sa.ForeignKeyConstraint(
            ["suggestion_id"], ["cases.id"], name=op.f("fk_hotspots_suggestion_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotspots")),
    )
    op.create_index(op.f("ix_hotspots_jurisdiction_id"), "hotspots", ["jurisdiction_id"], unique=False)
    op.create_index(
        "ix_hotspots_jurisdiction_status_id", "hotspots", ["jurisdiction_id", "status", "id"], unique=False
    )
    op.create_index(
        "uq_hotspots_open",
        "hotspots",
        ["jurisdiction_id", "grid_id", "category_id"],
        unique=True,
        postgresql_where="status = 'open'",
    )
    op.create_table(
        "hotspot_cases",
        sa.Column("hotspot_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_hotspot_cases_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["hotspot_id"],
            ["hotspots.id"],
            name=op.f("fk_hotspot_cases_hotspot_id_hotspots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("hotspot_id", "case_id", name=op.f("pk_hotspot_cases")),
    )
    op.create_index(op.f("ix_hotspot_cases_case_id"), "hotspot_cases", ["case_id"], unique=False)
    op.execute(
        """
        CREATE FUNCTION metric_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO metric_dirty_days (jurisdiction_id, day)
            SELECT c.jurisdiction_id, (c.created_at AT TIME ZONE 'Asia/Shanghai')::date
            FROM cases c WHERE c.id = NEW.case_id
            ON CONFLICT DO NOTHING;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER metric_mark_dirty AFTER INSERT ON case_events"
        " FOR EACH ROW EXECUTE FUNCTION metric_mark_dirty()"
    )
    op.create_index(
        "ix_photos_unattached_expiry",
        "photos",
        ["expires_at"],
        postgresql_where="case_id IS NULL",
    )


def downgrade() -> None:
    op.drop_index("ix_photos_unattached_expiry", table_name="photos")
    op.execute("DROP TRIGGER metric_mark_dirty ON case_events")
    op.execute("DROP FUNCTION metric_mark_dirty()")
    for table in (
        "hotspot_cases",
        "hotspots",
        "dashboard_sessions",
        "metric_settings",
        "metric_dirty_days",
        "metric_days",
    ):
        op.drop_table(table)

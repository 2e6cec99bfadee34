"""core schema: tenants, intake, taxonomy and routing, cases, deadlines, keys, outbox and webhooks

Revision ID: d74851f93f0a
Revises:
Create Date: 2026-11-22 02:15:28.481334
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d74851f93f0a"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox_messages",
        sa.Column("consumer", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=48), nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("consumer", "message_id", name=op.f("pk_inbox_messages")),
    )
    op.create_table(
        "jurisdictions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="Asia/Shanghai", nullable=False),
        sa.Column("fallback_department_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jurisdictions")),
        sa.UniqueConstraint("code", name=op.f("uq_jurisdictions_code")),
    )
    op.create_table(
        "calendar_overrides",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("is_workday", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_calendar_overrides_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_overrides")),
        sa.UniqueConstraint("jurisdiction_id", "day", name=op.f("uq_calendar_overrides_jurisdiction_id_day")),
    )
    op.create_index(
        op.f("ix_calendar_overrides_jurisdiction_id"), "calendar_overrides", ["jurisdiction_id"], unique=False
    )
    op.create_table(
        "committees",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_committees_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_committees")),
        sa.UniqueConstraint("jurisdiction_id", "code", name=op.f("uq_committees_jurisdiction_id_code")),
    )
    op.create_index(op.f("ix_committees_jurisdiction_id"), "committees", ["jurisdiction_id"], unique=False)
    op.create_table(
        "departments",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_departments_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("jurisdiction_id", "code", name=op.f("uq_departments_jurisdiction_id_code")),
    )
    op.create_index(op.f("ix_departments_jurisdiction_id"), "departments", ["jurisdiction_id"], unique=False)
    op.create_foreign_key(
        "fk_jurisdictions_fallback_department",
        "jurisdictions",
        "departments",
        ["fallback_department_id"],
        ["id"],
    )
    op.create_table(
        "deputies",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "level IN ('national', 'provincial', 'city', 'county', 'township')",
            name=op.f("ck_deputies_level"),
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"], ["jurisdictions.id"], name=op.f("fk_deputies_jurisdiction_id_jurisdictions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deputies")),
    )
    op.create_index(op.f("ix_deputies_jurisdiction_id"), "deputies", ["jurisdiction_id"], unique=False)
    op.create_table(
        "grids",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"], ["jurisdictions.id"], name=op.f("fk_grids_jurisdiction_id_jurisdictions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grids")),
        sa.UniqueConstraint("jurisdiction_id", "code", name=op.f("uq_grids_jurisdiction_id_code")),
    )
    op.create_index(op.f("ix_grids_jurisdiction_id"), "grids", ["jurisdiction_id"], unique=False)
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=False),
        sa.Column("duration", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=True),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_sla_policies_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("jurisdiction_id", "tier", name=op.f("uq_sla_policies_jurisdiction_id_tier")),
    )
    op.create_index(
        op.f("ix_sla_policies_jurisdiction_id"), "sla_policies", ["jurisdiction_id"], unique=False
    )
    op.create_table(
        "stations",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("long", sa.Float(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('home', 'station', 'point')", name=op.f("ck_stations_kind")),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"], ["jurisdictions.id"], name=op.f("fk_stations_jurisdiction_id_jurisdictions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stations")),
    )
    op.create_index(op.f("ix_stations_jurisdiction_id"), "stations", ["jurisdiction_id"], unique=False)
    op.create_table(
        "tracking_counters",
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("next_value", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_tracking_counters_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("jurisdiction_id", "day", name=op.f("pk_tracking_counters")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=True),
        sa.Column("deputy_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(role <> 'department' OR department_id IS NOT NULL) AND (role <> 'deputy' OR deputy_id IS NOT NULL)",
            name=op.f("ck_api_keys_scope_target"),
        ),
        sa.CheckConstraint(
            "role IN ('admin', 'dispatcher', 'supervisor', 'department', 'deputy', 'integrator')",
            name=op.f("ck_api_keys_role"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_api_keys_department_id_departments")
        ),
        sa.ForeignKeyConstraint(["deputy_id"], ["deputies.id"], name=op.f("fk_api_keys_deputy_id_deputies")),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"], ["jurisdictions.id"], name=op.f("fk_api_keys_jurisdiction_id_jurisdictions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_index(op.f("ix_api_keys_jurisdiction_id"), "api_keys", ["jurisdiction_id"], unique=False)
    op.create_table(
        "categories",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("committee_id", sa.BigInteger(), nullable=True),
        sa.Column("default_tier", sa.String(length=32), server_default="week", nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["committee_id"], ["committees.id"], name=op.f("fk_categories_committee_id_committees")
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_categories_jurisdiction_id_jurisdictions"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["categories.id"], name=op.f("fk_categories_parent_id_categories")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint("jurisdiction_id", "code", name=op.f("uq_categories_jurisdiction_id_code")),
    )
    op.create_index(op.f("ix_categories_jurisdiction_id"), "categories", ["jurisdiction_id"], unique=False)
    op.create_table(
        "deputy_stations",
        sa.Column("deputy_id", sa.BigInteger(), nullable=False),
        sa.Column("station_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["deputy_id"],
            ["deputies.id"],
            name=op.f("fk_deputy_stations_deputy_id_deputies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_deputy_stations_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("deputy_id", "station_id", name=op.f("pk_deputy_stations")),
    )
    op.create_table(
        "intake_codes",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("owner_type", sa.String(length=16), nullable=False),
        sa.Column("deputy_id", sa.BigInteger(), nullable=True),
        sa.Column("station_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scan_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(owner_type = 'deputy' AND deputy_id IS NOT NULL AND station_id IS NULL) OR (owner_type = 'station' AND station_id IS NOT NULL AND deputy_id IS NULL)",
            name=op.f("ck_intake_codes_one_owner"),
        ),
        sa.CheckConstraint("owner_type IN ('deputy', 'station')", name=op.f("ck_intake_codes_owner_type")),
        sa.CheckConstraint("status IN ('active', 'revoked')", name=op.f("ck_intake_codes_status")),
        sa.ForeignKeyConstraint(
            ["deputy_id"], ["deputies.id"], name=op.f("fk_intake_codes_deputy_id_deputies")
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_intake_codes_jurisdiction_id_jurisdictions"),
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_intake_codes_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_codes")),
        sa.UniqueConstraint("token", name=op.f("uq_intake_codes_token")),
    )
    op.create_index(op.f("ix_intake_codes_deputy_id"), "intake_codes", ["deputy_id"], unique=False)
    op.create_index(
        op.f("ix_intake_codes_jurisdiction_id"), "intake_codes", ["jurisdiction_id"], unique=False
    )
    op.create_index(op.f("ix_intake_codes_station_id"), "intake_codes", ["station_id"], unique=False)
    op.create_table(
        "station_grids",
        sa.Column("station_id", sa.BigInteger(), nullable=False),
        sa.Column("grid_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_station_grids_grid_id_grids")),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_station_grids_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("station_id", "grid_id", name=op.f("pk_station_grids")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("tracking_no", sa.String(length=32), nullable=False),
        sa.Column("access_key_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("category_id", sa.BigInteger(), nullable=True),
        sa.Column("request_type", sa.String(length=16), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("location_text", sa.String(length=200), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("long", sa.Float(), nullable=True),
        sa.Column("submitter_name_enc", sa.LargeBinary(), nullable=True),
        sa.Column("submitter_phone_enc", sa.LargeBinary(), nullable=True),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("intake_code_id", sa.BigInteger(), nullable=True),
        sa.Column("submission_key", sa.String(length=64), nullable=True),
        sa.Column("station_id", sa.BigInteger(), nullable=True),
        sa.Column("deputy_id", sa.BigInteger(), nullable=True),
        sa.Column("grid_id", sa.BigInteger(), nullable=True),
        sa.Column("tier", sa.String(length=32), nullable=True),
        sa.Column("rework_round", sa.Integer(), nullable=False),
        sa.Column("duplicate_of_id", sa.BigInteger(), nullable=True),
        sa.Column("close_reason", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('citizen', 'deputy_suggestion')", name=op.f("ck_cases_kind")),
        sa.CheckConstraint(
            "request_type IN ('enquiry', 'help', 'complaint', 'report', 'suggestion')",
            name=op.f("ck_cases_request_type"),
        ),
        sa.CheckConstraint(
            "status IN ('received', 'dispatched', 'in_progress', 'replied', 'rework', 'closed', 'merged', 'rejected')",
            name=op.f("ck_cases_status"),
        ),
        sa.CheckConstraint("urgency IN ('normal', 'urgent', 'critical')", name=op.f("ck_cases_urgency")),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_cases_category_id_categories")
        ),
        sa.ForeignKeyConstraint(["deputy_id"], ["deputies.id"], name=op.f("fk_cases_deputy_id_deputies")),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"], ["cases.id"], name=op.f("fk_cases_duplicate_of_id_cases")
        ),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_cases_grid_id_grids")),
        sa.ForeignKeyConstraint(
            ["intake_code_id"], ["intake_codes.id"], name=op.f("fk_cases_intake_code_id_intake_codes")
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"], ["jurisdictions.id"], name=op.f("fk_cases_jurisdiction_id_jurisdictions")
        ),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"], name=op.f("fk_cases_station_id_stations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint(
            "intake_code_id", "submission_key", name=op.f("uq_cases_intake_code_id_submission_key")
        ),
        sa.UniqueConstraint("tracking_no", name=op.f("uq_cases_tracking_no")),
    )
    op.create_index(op.f("ix_cases_deputy_id"), "cases", ["deputy_id"], unique=False)
    op.create_index("ix_cases_jurisdiction_created", "cases", ["jurisdiction_id", "created_at"], unique=False)
    op.create_index(op.f("ix_cases_jurisdiction_id"), "cases", ["jurisdiction_id"], unique=False)
    op.create_index("ix_cases_jurisdiction_status", "cases", ["jurisdiction_id", "status"], unique=False)
    op.create_index(op.f("ix_cases_station_id"), "cases", ["station_id"], unique=False)
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("category_id", sa.BigInteger(), nullable=False),
        sa.Column("grid_id", sa.BigInteger(), nullable=True),
        sa.Column("tier", sa.String(length=32), nullable=True),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_routing_rules_category_id_categories")
        ),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_routing_rules_grid_id_grids")),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_routing_rules_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rules")),
    )
    op.create_index(op.f("ix_routing_rules_category_id"), "routing_rules", ["category_id"], unique=False)
    op.create_index(
        op.f("ix_routing_rules_jurisdiction_id"), "routing_rules", ["jurisdiction_id"], unique=False
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("event_types", postgresql.ARRAY(sa.String(length=48)), nullable=False),
        sa.Column("secret_enc", sa.LargeBinary(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("ordered", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_key_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "kind = 'internal' OR jurisdiction_id IS NOT NULL",
            name=op.f("ck_webhook_endpoints_integrator_has_jurisdiction"),
        ),
        sa.CheckConstraint("kind IN ('integrator', 'internal')", name=op.f("ck_webhook_endpoints_kind")),
        sa.ForeignKeyConstraint(
            ["created_by_key_id"],
            ["api_keys.id"],
            name=op.f("fk_webhook_endpoints_created_by_key_id_api_keys"),
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_webhook_endpoints_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
        sa.UniqueConstraint("name", name=op.f("uq_webhook_endpoints_name")),
    )
    op.create_index(
        op.f("ix_webhook_endpoints_jurisdiction_id"), "webhook_endpoints", ["jurisdiction_id"], unique=False
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "dispatched_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("suggested_department_id", sa.BigInteger(), nullable=True),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("role IN ('lead', 'co', 'separate')", name=op.f("ck_assignments_role")),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'declined', 'replied')", name=op.f("ck_assignments_status")
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_assignments_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_assignments_department_id_departments")
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_assignments_jurisdiction_id_jurisdictions"),
        ),
        sa.ForeignKeyConstraint(
            ["suggested_department_id"],
            ["departments.id"],
            name=op.f("fk_assignments_suggested_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
    )
    op.create_index(op.f("ix_assignments_case_id"), "assignments", ["case_id"], unique=False)
    op.create_index(
        "ix_assignments_department_status",
        "assignments",
        ["department_id", "status", "updated_at"],
        unique=False,
    )
    op.create_index(op.f("ix_assignments_jurisdiction_id"), "assignments", ["jurisdiction_id"], unique=False)
    op.create_table(
        "case_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=48), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_case_events_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    op.create_index("ix_case_events_case", "case_events", ["case_id", "id"], unique=False)
    op.create_index(op.f("ix_case_events_jurisdiction_id"), "case_events", ["jurisdiction_id"], unique=False)
    op.create_table(
        "feedback",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("rating", sa.String(length=24), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "rating IN ('satisfied', 'basically_satisfied', 'dissatisfied')", name=op.f("ck_feedback_rating")
        ),
        sa.CheckConstraint("source IN ('citizen', 'deputy')", name=op.f("ck_feedback_source")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_feedback_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"], ["jurisdictions.id"], name=op.f("fk_feedback_jurisdiction_id_jurisdictions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint("case_id", "source", "round", name=op.f("uq_feedback_case_id_source_round")),
    )
    op.create_index(op.f("ix_feedback_case_id"), "feedback", ["case_id"], unique=False)
    op.create_index(op.f("ix_feedback_jurisdiction_id"), "feedback", ["jurisdiction_id"], unique=False)
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("type", sa.String(length=48), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("fanned_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_outbox_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"], ["jurisdictions.id"], name=op.f("fk_outbox_jurisdiction_id_jurisdictions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
    )
    op.create_index(op.f("ix_outbox_case_id"), "outbox", ["case_id"], unique=False)
    op.create_index(
        "ix_outbox_unfanned", "outbox", ["id"], unique=False, postgresql_where="fanned_out_at IS NULL"
    )
    op.create_table(
        "routing_rule_assignments",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("rule_id", sa.BigInteger(), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "role IN ('lead', 'co', 'separate')", name=op.f("ck_routing_rule_assignments_role")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_routing_rule_assignments_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["routing_rules.id"],
            name=op.f("fk_routing_rule_assignments_rule_id_routing_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rule_assignments")),
        sa.UniqueConstraint(
            "rule_id", "department_id", name=op.f("uq_routing_rule_assignments_rule_id_department_id")
        ),
    )
    op.create_table(
        "deadlines",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("assignment_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("met_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "kind IN ('accept', 'decline', 'reply', 'co_opinion', 'rating')", name=op.f("ck_deadlines_kind")
        ),
        sa.ForeignKeyConstraint(
            ["assignment_id"], ["assignments.id"], name=op.f("fk_deadlines_assignment_id_assignments")
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_deadlines_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"], ["jurisdictions.id"], name=op.f("fk_deadlines_jurisdiction_id_jurisdictions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadlines")),
        sa.UniqueConstraint(
            "case_id",
            "assignment_id",
            "kind",
            "round",
            name=op.f("uq_deadlines_case_id_assignment_id_kind_round"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index(op.f("ix_deadlines_assignment_id"), "deadlines", ["assignment_id"], unique=False)
    op.create_index(op.f("ix_deadlines_case_id"), "deadlines", ["case_id"], unique=False)
    op.create_index(op.f("ix_deadlines_jurisdiction_id"), "deadlines", ["jurisdiction_id"], unique=False)
    op.create_index(
        "ix_deadlines_open_due",
        "deadlines",
        ["due_at"],
        unique=False,
        postgresql_where="met_at IS NULL AND superseded_at IS NULL",
    )
    op.create_table(
        "replies",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("assignment_id", sa.BigInteger(), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=False),
        sa.Column("reply_class", sa.String(length=1), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("round", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("reply_class IN ('A', 'B', 'C', 'D')", name=op.f("ck_replies_reply_class")),
        sa.ForeignKeyConstraint(
            ["assignment_id"], ["assignments.id"], name=op.f("fk_replies_assignment_id_assignments")
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_replies_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_replies_department_id_departments")
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"], ["jurisdictions.id"], name=op.f("fk_replies_jurisdiction_id_jurisdictions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replies")),
    )
    op.create_index(op.f("ix_replies_case_id"), "replies", ["case_id"], unique=False)
    op.create_index(op.f("ix_replies_jurisdiction_id"), "replies", ["jurisdiction_id"], unique=False)
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("endpoint_id", sa.BigInteger(), nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("event_type", sa.String(length=48), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed')", name=op.f("ck_webhook_deliveries_status")
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_webhook_deliveries_outbox_id_outbox")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "endpoint_id", "outbox_id", name=op.f("uq_webhook_deliveries_endpoint_id_outbox_id")
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        unique=False,
        postgresql_where="status = 'pending'",
    )
    op.create_index(
        "ix_webhook_deliveries_endpoint_case",
        "webhook_deliveries",
        ["endpoint_id", "case_id", "outbox_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_constraint("fk_jurisdictions_fallback_department", "jurisdictions", type_="foreignkey")
    op.drop_index("ix_webhook_deliveries_endpoint_case", table_name="webhook_deliveries")
    op.drop_index(
        "ix_webhook_deliveries_due", table_name="webhook_deliveries", postgresql_where="status = 'pending'"
    )
    op.drop_table("webhook_deliveries")
    op.drop_index(op.f("ix_replies_jurisdiction_id"), table_name="replies")
    op.drop_index(op.f("ix_replies_case_id"), table_name="replies")
    op.drop_table("replies")
    op.drop_index(
        "ix_deadlines_open_due",
        table_name="deadlines",
        postgresql_where="met_at IS NULL AND superseded_at IS NULL",
    )
    op.drop_index(op.f("ix_deadlines_jurisdiction_id"), table_name="deadlines")
    op.drop_index(op.f("ix_deadlines_case_id"), table_name="deadlines")
    op.drop_index(op.f("ix_deadlines_assignment_id"), table_name="deadlines")
    op.drop_table("deadlines")
    op.drop_table("routing_rule_assignments")
    op.drop_index("ix_outbox_unfanned", table_name="outbox", postgresql_where="fanned_out_at IS NULL")
    op.drop_index(op.f("ix_outbox_case_id"), table_name="outbox")
    op.drop_table("outbox")
    op.drop_index(op.f("ix_feedback_jurisdiction_id"), table_name="feedback")
    op.drop_index(op.f("ix_feedback_case_id"), table_name="feedback")
    op.drop_table("feedback")
    op.drop_index(op.f("ix_case_events_jurisdiction_id"), table_name="case_events")
    op.drop_index("ix_case_events_case", table_name="case_events")
    op.drop_table("case_events")
    op.drop_index(op.f("ix_assignments_jurisdiction_id"), table_name="assignments")
    op.drop_index("ix_assignments_department_status", table_name="assignments")
    op.drop_index(op.f("ix_assignments_case_id"), table_name="assignments")
    op.drop_table("assignments")
    op.drop_index(op.f("ix_webhook_endpoints_jurisdiction_id"), table_name="webhook_endpoints")
    op.drop_table("webhook_endpoints")
    op.drop_index(op.f("ix_routing_rules_jurisdiction_id"), table_name="routing_rules")
    op.drop_index(op.f("ix_routing_rules_category_id"), table_name="routing_rules")
    op.drop_table("routing_rules")
    op.drop_index(op.f("ix_cases_station_id"), table_name="cases")
    op.drop_index("ix_cases_jurisdiction_status", table_name="cases")
    op.drop_index(op.f("ix_cases_jurisdiction_id"), table_name="cases")
    op.drop_index("ix_cases_jurisdiction_created", table_name="cases")
    op.drop_index(op.f("ix_cases_deputy_id"), table_name="cases")
    op.drop_table("cases")
    op.drop_table("station_grids")
    op.drop_index(op.f("ix_intake_codes_station_id"), table_name="intake_codes")
    op.drop_index(op.f("ix_intake_codes_jurisdiction_id"), table_name="intake_codes")
    op.drop_index(op.f("ix_intake_codes_deputy_id"), table_name="intake_codes")
    op.drop_table("intake_codes")
    op.drop_table("deputy_stations")
    op.drop_index(op.f("ix_categories_jurisdiction_id"), table_name="categories")
    op.drop_table("categories")
    op.drop_index(op.f("ix_api_keys_jurisdiction_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("tracking_counters")
    op.drop_index(op.f("ix_stations_jurisdiction_id"), table_name="stations")
    op.drop_table("stations")
    op.drop_index(op.f("ix_sla_policies_jurisdiction_id"), table_name="sla_policies")
    op.drop_table("sla_policies")
    op.drop_index(op.f("ix_grids_jurisdiction_id"), table_name="grids")
    op.drop_table("grids")
    op.drop_index(op.f("ix_deputies_jurisdiction_id"), table_name="deputies")
    op.drop_table("deputies")
    op.drop_index(op.f("ix_departments_jurisdiction_id"), table_name="departments")
    op.drop_table("departments")
    op.drop_index(op.f("ix_committees_jurisdiction_id"), table_name="committees")
    op.drop_table("committees")
    op.drop_index(op.f("ix_calendar_overrides_jurisdiction_id"), table_name="calendar_overrides")
    op.drop_table("calendar_overrides")
    op.drop_table("jurisdictions")
    op.drop_table("inbox_messages")

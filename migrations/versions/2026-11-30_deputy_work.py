"""deputy_work: what deputies and their stations do

Joint suggestions (case_cosigners), citizen cases carried by a suggestion (suggestion_sources: adopted or a
hot spot's), stations' public codes, departments' consultations with the deputy and the jurisdiction's choice to require one,
notices on a deputy's desk, contact-day rules with their added and cancelled dates, the yearly roster,
reception records, and the duty-points rules and ledger.

Revision ID: deputy_work
Revises: abuse_limits
Create Date: 2026-11-30 15:16:08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "deputy_work"
down_revision: str | None = "abuse_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Stations get a public code for their page (/s/{code}); existing ones take <jurisdiction>-S<id>.
    op.add_column("stations", sa.Column("code", sa.String(40), nullable=True))
    op.execute(
        "UPDATE stations SET code = j.code || '-S' || stations.id FROM jurisdictions j"
        " WHERE j.id = stations.jurisdiction_id"
    )
    op.alter_column("stations", "code", nullable=False)
    op.create_unique_constraint("uq_stations_code", "stations", ["code"])
    op.execute(
        """
        CREATE FUNCTION stations_default_code() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.code IS NULL THEN
                NEW.code := (SELECT code FROM jurisdictions WHERE id = NEW.jurisdiction_id) || '-S' || NEW.id;
            END IF;
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER stations_default_code BEFORE INSERT ON stations"
        " FOR EACH ROW EXECUTE FUNCTION stations_default_code()"
    )
    op.create_table(
        "duty_point_rules",
        sa.Column("jurisdiction_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "action IN ('reception', 'case_raised', 'suggestion_submitted', 'suggestion_cosigned', 'rating_given', 'follow_up', 'adjustment')",
            name=op.f("ck_duty_point_rules_action"),
        ),
        sa.CheckConstraint("points BETWEEN 0 AND 100", name=op.f("ck_duty_point_rules_points")),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_duty_point_rules_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("jurisdiction_id", "action", name=op.f("pk_duty_point_rules")),
    )
    op.create_table(
        "contact_day_changes",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("station_id", sa.BigInteger(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("change IN ('added', 'cancelled')", name=op.f("ck_contact_day_changes_change")),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_contact_day_changes_jurisdiction_id_jurisdictions"),
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_contact_day_changes_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_day_changes")),
    )
    op.create_index(
        op.f("ix_contact_day_changes_jurisdiction_id"),
        "contact_day_changes",
        ["jurisdiction_id"],
        unique=False,
    )
    op.create_index(
        "uq_contact_day_changes_jurisdiction",
        "contact_day_changes",
        ["jurisdiction_id", "day"],
        unique=True,
        postgresql_where="station_id IS NULL",
    )
    op.create_index(
        "uq_contact_day_changes_station",
        "contact_day_changes",
        ["station_id", "day"],
        unique=True,
        postgresql_where="station_id IS NOT NULL",
    )
    op.create_table(
        "contact_schedules",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("station_id", sa.BigInteger(), nullable=True),
        sa.Column("nth", sa.SmallInteger(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("starts_at", sa.Time(), nullable=False),
        sa.Column("ends_at", sa.Time(), nullable=False),
        sa.Column("on_holiday", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "on_holiday IN ('postpone', 'skip', 'keep')", name=op.f("ck_contact_schedules_on_holiday")
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_contact_schedules_hours")),
        sa.CheckConstraint("nth IN (1, 2, 3, 4, -1)", name=op.f("ck_contact_schedules_nth")),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_contact_schedules_weekday")),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_contact_schedules_jurisdiction_id_jurisdictions"),
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_contact_schedules_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_schedules")),
    )
    op.create_index(
        op.f("ix_contact_schedules_jurisdiction_id"), "contact_schedules", ["jurisdiction_id"], unique=False
    )
    op.create_index(
        "uq_contact_schedules_jurisdiction",
        "contact_schedules",
        ["jurisdiction_id"],
        unique=True,
        postgresql_where="station_id IS NULL",
    )
    op.create_index(
        "uq_contact_schedules_station",
        "contact_schedules",
        ["station_id"],
        unique=True,
        postgresql_where="station_id IS NOT NULL",
    )
    op.create_table(
        "receptions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("station_id", sa.BigInteger(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("citizens_received", sa.Integer(), nullable=False),
        sa.Column("answered_on_spot", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by_type", sa.String(length=16), nullable=False),
        sa.Column("recorded_by_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("answered_on_spot >= 0", name=op.f("ck_receptions_answered_on_spot")),
        sa.CheckConstraint("citizens_received >= 0", name=op.f("ck_receptions_citizens_received")),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_receptions_jurisdiction_id_jurisdictions"),
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_receptions_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receptions")),
    )
    op.create_index(op.f("ix_receptions_jurisdiction_id"), "receptions", ["jurisdiction_id"], unique=False)
    op.create_index("ix_receptions_station_held_on", "receptions", ["station_id", "held_on"], unique=False)
    op.create_table(
        "station_rosters",
        sa.Column("station_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("deputy_id", sa.BigInteger(), nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deputy_id"], ["deputies.id"], name=op.f("fk_station_rosters_deputy_id_deputies")
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_station_rosters_jurisdiction_id_jurisdictions"),
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_station_rosters_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("station_id", "day", "deputy_id", name=op.f("pk_station_rosters")),
    )
    op.create_index(op.f("ix_station_rosters_deputy_id"), "station_rosters", ["deputy_id"], unique=False)
    op.create_index(
        op.f("ix_station_rosters_jurisdiction_id"), "station_rosters", ["jurisdiction_id"], unique=False
    )
    op.create_table(
        "reception_deputies",
        sa.Column("reception_id", sa.BigInteger(), nullable=False),
        sa.Column("deputy_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deputy_id"], ["deputies.id"], name=op.f("fk_reception_deputies_deputy_id_deputies")
        ),
        sa.ForeignKeyConstraint(
            ["reception_id"],
            ["receptions.id"],
            name=op.f("fk_reception_deputies_reception_id_receptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("reception_id", "deputy_id", name=op.f("pk_reception_deputies")),
    )
    op.create_index(
        op.f("ix_reception_deputies_deputy_id"), "reception_deputies", ["deputy_id"], unique=False
    )
    op.create_table(
        "case_cosigners",
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("deputy_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_cosigners_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["deputy_id"], ["deputies.id"], name=op.f("fk_case_cosigners_deputy_id_deputies")
        ),
        sa.PrimaryKeyConstraint("case_id", "deputy_id", name=op.f("pk_case_cosigners")),
    )
    op.create_index(op.f("ix_case_cosigners_deputy_id"), "case_cosigners", ["deputy_id"], unique=False)
    op.create_table(
        "deputy_notices",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("deputy_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("round", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('replied')", name=op.f("ck_deputy_notices_kind")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_deputy_notices_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["deputy_id"], ["deputies.id"], name=op.f("fk_deputy_notices_deputy_id_deputies")
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_deputy_notices_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deputy_notices")),
    )
    op.create_index("ix_deputy_notices_deputy_id", "deputy_notices", ["deputy_id", "id"], unique=False)
    op.create_index(
        op.f("ix_deputy_notices_jurisdiction_id"), "deputy_notices", ["jurisdiction_id"], unique=False
    )
    op.create_index(
        "uq_deputy_notices_once", "deputy_notices", ["deputy_id", "case_id", "kind", "round"], unique=True
    )
    op.create_table(
        "duty_point_entries",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("deputy_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("reception_id", sa.BigInteger(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_type", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "action IN ('reception', 'case_raised', 'suggestion_submitted', 'suggestion_cosigned', 'rating_given', 'follow_up', 'adjustment')",
            name=op.f("ck_duty_point_entries_action"),
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_duty_point_entries_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["deputy_id"], ["deputies.id"], name=op.f("fk_duty_point_entries_deputy_id_deputies")
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_duty_point_entries_jurisdiction_id_jurisdictions"),
        ),
        sa.ForeignKeyConstraint(
            ["reception_id"], ["receptions.id"], name=op.f("fk_duty_point_entries_reception_id_receptions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_point_entries")),
    )
    op.create_index(
        "ix_duty_point_entries_deputy_occurred",
        "duty_point_entries",
        ["deputy_id", "occurred_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_duty_point_entries_jurisdiction_id"), "duty_point_entries", ["jurisdiction_id"], unique=False
    )
    op.create_index(
        "ix_duty_point_entries_jurisdiction_occurred",
        "duty_point_entries",
        ["jurisdiction_id", "occurred_at"],
        unique=False,
    )
    op.create_index(
        "uq_duty_point_entries_source", "duty_point_entries", ["deputy_id", "action", "source"], unique=True
    )
    op.create_table(
        "reception_cases",
        sa.Column("reception_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_reception_cases_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["reception_id"],
            ["receptions.id"],
            name=op.f("fk_reception_cases_reception_id_receptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("reception_id", "case_id", name=op.f("pk_reception_cases")),
    )
    op.create_index(op.f("ix_reception_cases_case_id"), "reception_cases", ["case_id"], unique=False)
    op.create_table(
        "suggestion_sources",
        sa.Column("suggestion_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('adopted', 'hotspot')", name=op.f("ck_suggestion_sources_kind")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_suggestion_sources_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["suggestion_id"], ["cases.id"], name=op.f("fk_suggestion_sources_suggestion_id_cases")
        ),
        sa.PrimaryKeyConstraint("suggestion_id", "case_id", name=op.f("pk_suggestion_sources")),
    )
    op.create_index(op.f("ix_suggestion_sources_case_id"), "suggestion_sources", ["case_id"], unique=False)
    op.create_index(
        "uq_suggestion_sources_adopted",
        "suggestion_sources",
        ["case_id"],
        unique=True,
        postgresql_where="kind = 'adopted'",
    )
    op.create_table(
        "consultations",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("assignment_id", sa.BigInteger(), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=False),
        sa.Column("deputy_id", sa.BigInteger(), nullable=True),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("mode IN ('face', 'phone', 'written')", name=op.f("ck_consultations_mode")),
        sa.ForeignKeyConstraint(
            ["assignment_id"], ["assignments.id"], name=op.f("fk_consultations_assignment_id_assignments")
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_consultations_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_consultations_department_id_departments")
        ),
        sa.ForeignKeyConstraint(
            ["deputy_id"], ["deputies.id"], name=op.f("fk_consultations_deputy_id_deputies")
        ),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_consultations_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultations")),
    )
    op.create_index(op.f("ix_consultations_assignment_id"), "consultations", ["assignment_id"], unique=False)
    op.create_index(op.f("ix_consultations_case_id"), "consultations", ["case_id"], unique=False)
    op.create_index(
        op.f("ix_consultations_jurisdiction_id"), "consultations", ["jurisdiction_id"], unique=False
    )
    op.add_column(
        "routing_settings",
        sa.Column("require_consultation", sa.Boolean(), server_default="false", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("routing_settings", "require_consultation")
    op.execute("DROP TRIGGER stations_default_code ON stations")
    op.execute("DROP FUNCTION stations_default_code()")
    op.drop_constraint("uq_stations_code", "stations", type_="unique")
    op.drop_column("stations", "code")
    for table in (
        "consultations",
        "suggestion_sources",
        "reception_cases",
        "duty_point_entries",
        "deputy_notices",
        "case_cosigners",
        "reception_deputies",
        "station_rosters",
        "receptions",
        "contact_schedules",
        "contact_day_changes",
        "duty_point_rules",
    ):
        op.drop_table(table)

"""contact_audit: who saw a submitter's full name and phone, when and why; which roles may

POST /v1/cases/{id}/contact answers a case's unmasked submitter and writes a contact_audits row in the same
transaction; contact_settings holds a jurisdiction's roles that may (no row: supervisor and admin).

Revision ID: contact_audit
Revises: metrics_pairs
Create Date: 2026-11-30 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "contact_audit"
down_revision: str | None = "metrics_pairs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_audits",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("jurisdiction_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("api_key_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_contact_audits_api_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_contact_audits_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_contact_audits_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_audits")),
    )
    op.create_index("ix_contact_audits_case_id", "contact_audits", ["case_id"])
    op.create_index("ix_contact_audits_api_key_id", "contact_audits", ["api_key_id"])
    op.create_index(op.f("ix_contact_audits_jurisdiction_id"), "contact_audits", ["jurisdiction_id"])
    op.create_table(
        "contact_settings",
        sa.Column("jurisdiction_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.String(length=16)), nullable=False),
        sa.ForeignKeyConstraint(
            ["jurisdiction_id"],
            ["jurisdictions.id"],
            name=op.f("fk_contact_settings_jurisdiction_id_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("jurisdiction_id", name=op.f("pk_contact_settings")),
    )


def downgrade() -> None:
    op.drop_table("contact_settings")
    op.drop_index(op.f("ix_contact_audits_jurisdiction_id"), table_name="contact_audits")
    op.drop_index("ix_contact_audits_api_key_id", table_name="contact_audits")
    op.drop_index("ix_contact_audits_case_id", table_name="contact_audits")
    op.drop_table("contact_audits")

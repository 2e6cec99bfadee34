"""intake_code_life: when a code was last scanned, and the tokens rotation retired (they answer 410)

Revision ID: intake_code_life
Revises: intake_photos
Create Date: 2026-11-30 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_code_life"
down_revision: str | None = "intake_photos"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("intake_codes", sa.Column("last_scanned_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "retired_intake_tokens",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("intake_code_id", sa.BigInteger(), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["intake_code_id"],
            ["intake_codes.id"],
            name=op.f("fk_retired_intake_tokens_intake_code_id_intake_codes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_retired_intake_tokens")),
    )
    op.create_index(
        op.f("ix_retired_intake_tokens_intake_code_id"),
        "retired_intake_tokens",
        ["intake_code_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_retired_intake_tokens_intake_code_id"), table_name="retired_intake_tokens")
    op.drop_table("retired_intake_tokens")
    op.drop_column("intake_codes", "last_scanned_at")

"""open311_updates_index: the public case events of a jurisdiction in a time window, in order

Open311's servicerequestupdates (since/until) reads them; the partial index holds only public events.

Revision ID: open311_updates_index
Revises: integrators
Create Date: 2026-11-30 18:34:19.469162
"""

from collections.abc import Sequence

from alembic import op

revision: str = "open311_updates_index"
down_revision: str | None = "integrators"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_case_events_public_at",
        "case_events",
        ["jurisdiction_id", "at", "id"],
        unique=False,
        postgresql_where="public",
    )


def downgrade() -> None:
    op.drop_index("ix_case_events_public_at", table_name="case_events", postgresql_where="public")

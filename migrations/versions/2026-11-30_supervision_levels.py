"""supervision_levels (being written: this revision's tables come with their capability)

Revision ID: supervision_levels
Revises: supervision_alarms
Create Date: 2026-11-30 13:30:00
"""

from collections.abc import Sequence

revision: str = "supervision_levels"
down_revision: str | None = "supervision_alarms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

"""supervision_follow_ups (being written: this revision's tables come with their capability)

Revision ID: supervision_follow_ups
Revises: supervision_levels
Create Date: 2026-11-30 13:30:00
"""

from collections.abc import Sequence

revision: str = "supervision_follow_ups"
down_revision: str | None = "supervision_levels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

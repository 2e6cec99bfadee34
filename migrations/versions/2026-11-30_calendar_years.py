"""calendar_years (being written: this revision's tables come with their capability)

Revision ID: calendar_years
Revises: supervision_funds
Create Date: 2026-11-30 13:30:00
"""

from collections.abc import Sequence

revision: str = "calendar_years"
down_revision: str | None = "supervision_funds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

"""key_items (being written: this revision's tables come with their capability)

Revision ID: key_items
Revises: calendar_years
Create Date: 2026-11-30 13:30:00
"""

from collections.abc import Sequence

revision: str = "key_items"
down_revision: str | None = "calendar_years"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

"""intake_photos (being written: this revision's tables come with their capability)

Revision ID: intake_photos
Revises: key_items
Create Date: 2026-11-30 14:20:00
"""

from collections.abc import Sequence

revision: str = "intake_photos"
down_revision: str | None = "key_items"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

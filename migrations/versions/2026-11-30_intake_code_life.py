"""intake_code_life (being written: this revision's tables come with their capability)

Revision ID: intake_code_life
Revises: intake_photos
Create Date: 2026-11-30 14:20:00
"""

from collections.abc import Sequence

revision: str = "intake_code_life"
down_revision: str | None = "intake_photos"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

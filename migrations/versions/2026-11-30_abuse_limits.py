"""abuse_limits (being written: this revision's tables come with their capability)

Revision ID: abuse_limits
Revises: intake_code_life
Create Date: 2026-11-30 14:20:00
"""

from collections.abc import Sequence

revision: str = "abuse_limits"
down_revision: str | None = "intake_code_life"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

"""abuse_limits: an idempotency key bound to the body it first came with

cases.submission_body_hash holds the SHA-256 of the canonical submission body, so a key repeated with a
different body is refused instead of answering with the earlier case. rate_limits counts the anonymous
routes' requests per bucket and fixed window (shared.ratelimit).

Revision ID: abuse_limits
Revises: intake_code_life
Create Date: 2026-11-30 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "abuse_limits"
down_revision: str | None = "intake_code_life"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("submission_body_hash", sa.String(64), nullable=True))
    op.create_table(
        "rate_limits",
        sa.Column("bucket", sa.String(200), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start", name="pk_rate_limits"),
        # Counters are disposable (a crash forgets at most the current windows): no WAL, no commit flush.
        prefixes=["UNLOGGED"],
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
    op.drop_column("cases", "submission_body_hash")

"""hot read indexes: replies by assignment and round, case status pages by id, open deadlines by kind

Chosen from EXPLAIN ANALYZE of the hot reads on 1M generated cases (bench.dataset, bench.hot_reads):
settling reply deadlines scanned every reply (700 ms); the unrated-closing job read ~46k other open
deadlines (mostly decline windows) to find 33 lapsed rating windows (68 ms); the dispatch queue sorted every
received case for a page. The last two replace narrower indexes, so those tables keep their index count.

Revision ID: hot_read_indexes
Revises: relay_lanes
Create Date: 2026-11-30 10:25:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "hot_read_indexes"
down_revision: str | None = "relay_lanes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "met_at IS NULL AND superseded_at IS NULL"


def upgrade() -> None:
    op.create_index("ix_replies_assignment_round", "replies", ["assignment_id", "round"], unique=False)
    op.drop_index("ix_cases_jurisdiction_status", table_name="cases")
    op.create_index(
        "ix_cases_jurisdiction_status_id", "cases", ["jurisdiction_id", "status", "id"], unique=False
    )
    op.drop_index("ix_deadlines_open_due", table_name="deadlines", postgresql_where=OPEN)
    op.create_index(
        "ix_deadlines_open_kind_due", "deadlines", ["kind", "due_at"], unique=False, postgresql_where=OPEN
    )


def downgrade() -> None:
    op.drop_index("ix_deadlines_open_kind_due", table_name="deadlines", postgresql_where=OPEN)
    op.create_index("ix_deadlines_open_due", "deadlines", ["due_at"], unique=False, postgresql_where=OPEN)
    op.drop_index("ix_cases_jurisdiction_status_id", table_name="cases")
    op.create_index("ix_cases_jurisdiction_status", "cases", ["jurisdiction_id", "status"], unique=False)
    op.drop_index("ix_replies_assignment_round", table_name="replies")

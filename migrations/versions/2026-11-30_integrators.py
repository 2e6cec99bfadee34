"""integrators: what Open311, complete webhooks and request tracing store

api_keys binds an integrator key to the intake code or station its Open311 requests come through; cases keep an
Open311 submitter's e-mail encrypted like name and phone; outbox rows carry the id of the request that caused
them; webhook endpoints keep the previous secret (with its expiry) during a rotation, the department a
department's endpoint is scoped to, and when the relay disabled them.

Revision ID: integrators
Revises: retention_indexes
Create Date: 2026-11-30 17:59:23.912933
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "integrators"
down_revision: str | None = "retention_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("intake_code_id", sa.BigInteger(), nullable=True))
    op.add_column("api_keys", sa.Column("station_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_api_keys_station_id_stations"), "api_keys", "stations", ["station_id"], ["id"]
    )
    op.create_foreign_key(
        op.f("fk_api_keys_intake_code_id_intake_codes"),
        "api_keys",
        "intake_codes",
        ["intake_code_id"],
        ["id"],
    )
    op.add_column("cases", sa.Column("submitter_email_enc", sa.LargeBinary(), nullable=True))
    op.add_column("outbox", sa.Column("request_id", sa.String(length=64), nullable=True))
    op.add_column("webhook_endpoints", sa.Column("previous_secret_enc", sa.LargeBinary(), nullable=True))
    op.add_column(
        "webhook_endpoints",
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column("webhook_endpoints", sa.Column("department_id", sa.BigInteger(), nullable=True))
    op.add_column("webhook_endpoints", sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    op.create_foreign_key(
        op.f("fk_webhook_endpoints_department_id_departments"),
        "webhook_endpoints",
        "departments",
        ["department_id"],
        ["id"],
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_webhook_endpoints_department_id_departments"), "webhook_endpoints", type_="foreignkey"
    )
    op.drop_column("webhook_endpoints", "disabled_at")
    op.drop_column("webhook_endpoints", "department_id")
    op.drop_column("webhook_endpoints", "previous_secret_expires_at")
    op.drop_column("webhook_endpoints", "previous_secret_enc")
    op.drop_column("outbox", "request_id")
    op.drop_column("cases", "submitter_email_enc")
    op.drop_constraint(op.f("fk_api_keys_intake_code_id_intake_codes"), "api_keys", type_="foreignkey")
    op.drop_constraint(op.f("fk_api_keys_station_id_stations"), "api_keys", type_="foreignkey")
    op.drop_column("api_keys", "station_id")
    op.drop_column("api_keys", "intake_code_id")

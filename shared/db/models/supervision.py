"""Deadlines, the working-day calendar, tier policies, API keys and webhook subscriptions.
Owner: services.supervision.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.enums import CalendarSource, DeadlineKind, EndpointKind, Role, check_in
from shared.db.models.base import Base, created_at, jurisdiction_fk, pk


class Deadline(Base):
    """A due time on a case or one of its assignments, with when it was met."""

    __tablename__ = "deadlines"
    __table_args__ = (
        CheckConstraint(check_in("kind", DeadlineKind), name="kind"),
        # One deadline in force per case, assignment, kind and round. A superseded row stays as history: an
        # approved extension supersedes the reply deadline it moves and inserts the one now in force.
        Index(
            "uq_deadlines_in_force",
            "case_id",
            "assignment_id",
            "kind",
            "round",
            unique=True,
            postgresql_where="superseded_at IS NULL",
            postgresql_nulls_not_distinct=True,
        ),
        # Open deadlines by kind, then due time: jobs look for one kind (the lapsed rating windows) among the
        # open rows of every other kind, which a due-time-only index would make them read.
        Index(
            "ix_deadlines_open_kind_due",
            "kind",
            "due_at",
            postgresql_where="met_at IS NULL AND superseded_at IS NULL",
        ),
        # The alarm scans: only open deadlines whose alarm has not been raised, by the moment it is due.
        Index(
            "ix_deadlines_due_soon_pending",
            "due_soon_at",
            postgresql_where="met_at IS NULL AND superseded_at IS NULL AND due_soon_raised_at IS NULL",
        ),
        Index(
            "ix_deadlines_overdue_pending",
            "overdue_at",
            postgresql_where="met_at IS NULL AND superseded_at IS NULL AND overdue_raised_at IS NULL",
        ),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("assignments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    round: Mapped[int] = mapped_column(Integer, default=0)
    tier: Mapped[str | None] = mapped_column(String(32))
    starts_at: Mapped[datetime]
    due_at: Mapped[datetime]
    met_at: Mapped[datetime | None]
    superseded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    # When case.due_soon and case.overdue are due (the policy's fractions of the allowed time, set by a
    # database trigger from starts_at and due_at) and when each was raised: once per deadline.
    due_soon_at: Mapped[datetime | None]
    overdue_at: Mapped[datetime | None]
    due_soon_raised_at: Mapped[datetime | None]
    overdue_raised_at: Mapped[datetime | None]
    # Computed over days the official calendar did not cover yet (Monday to Friday assumed).
    assumed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class SupervisionSettings(Base):
    """A jurisdiction's supervision policy; without a row the defaults apply."""

    __tablename__ = "supervision_settings"
    __table_args__ = (
        CheckConstraint("due_soon_fraction > 0 AND due_soon_fraction < overdue_fraction", name="fractions"),
        CheckConstraint("overdue_fraction > 0 AND overdue_fraction <= 2", name="overdue_fraction"),
    )

    jurisdiction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("jurisdictions.id"), primary_key=True, autoincrement=False
    )
    due_soon_fraction: Mapped[float] = mapped_column(Float, default=0.75, server_default="0.75")
    overdue_fraction: Mapped[float] = mapped_column(Float, default=1.0, server_default="1")
    # How far an approved extension may move a reply deadline past the one in force (deputy suggestions are
    # capped by statute at 6 months from dispatch instead).
    extension_max_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    follow_up_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")


class CalendarOverride(Base):
    """A jurisdiction's own word on whether a date is a working day; wins over the national calendar."""

    __tablename__ = "calendar_overrides"
    __table_args__ = (
        UniqueConstraint("jurisdiction_id", "day"),
        CheckConstraint(check_in("source", CalendarSource), name="source"),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    day: Mapped[date] = mapped_column(Date)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(
        String(16), default=CalendarSource.local, server_default=CalendarSource.local.value
    )


class CalendarYear(Base):
    """A jurisdiction has loaded the official schedule of a year (its days are the official overrides), so
    deadlines over that year are no longer computed on assumed days."""

    __tablename__ = "calendar_years"
    __table_args__ = (
        UniqueConstraint("jurisdiction_id", "year"),
        CheckConstraint("year BETWEEN 1970 AND 2200", name="year"),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    year: Mapped[int] = mapped_column(Integer)
    # Where the dates came from, e.g. the State Council notice's number (国办发明电〔2026〕…号).
    source: Mapped[str | None] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = created_at()
    # "api_key:<id>" or "cli".
    loaded_by: Mapped[str | None] = mapped_column(String(64))


class SlaPolicy(Base):
    """The duration of a deadline tier, e.g. {"working_days": 5}; absent tiers use the built-in defaults."""

    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("jurisdiction_id", "tier"),)

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    tier: Mapped[str] = mapped_column(String(32))
    duration: Mapped[dict[str, Any]] = mapped_column(JSONB)
    name: Mapped[str | None] = mapped_column(String(50))


class ApiKey(Base):
    """A caller's credential. Only a SHA-256 hash of the secret is stored; the prefix finds the row."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(check_in("role", Role), name="role"),
        CheckConstraint(
            "(role <> 'department' OR department_id IS NOT NULL) AND (role <> 'deputy' OR deputy_id IS NOT NULL)",
            name="scope_target",
        ),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("departments.id"))
    deputy_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("deputies.id"))
    # An integrator key that submits cases (Open311) is bound to the intake code or the station whose
    # cases it makes; a station binding uses the station's own intake code.
    intake_code_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("intake_codes.id"))
    station_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("stations.id"))
    created_at: Mapped[datetime] = created_at()
    revoked_at: Mapped[datetime | None]


class WebhookEndpoint(Base):
    """A subscription to case events: an integrator's URL, or one of our own services (kind internal)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint(check_in("kind", EndpointKind), name="kind"),
        CheckConstraint(
            "kind = 'internal' OR jurisdiction_id IS NOT NULL", name="integrator_has_jurisdiction"
        ),
    )

    id: Mapped[int] = pk()
    # Null only for internal subscriptions, which hear every jurisdiction.
    jurisdiction_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("jurisdictions.id"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16), default=EndpointKind.integrator)
    name: Mapped[str | None] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(48)))
    # Fernet-encrypted whsec_ secret; internal endpoints derive theirs from MINYI_SECRET_KEY instead.
    secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # After a rotation the previous secret still signs (a second signature) until it expires.
    previous_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_expires_at: Mapped[datetime | None]
    # A department's endpoint hears only events of cases assigned to that department.
    department_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("departments.id"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Ordered endpoints receive a case's events one at a time, in the order they happened.
    ordered: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]
    created_by_key_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = created_at()

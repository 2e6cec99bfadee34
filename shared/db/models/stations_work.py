"""Contact days (联系日) of the liaison stations, the deputies rostered on them, and reception records
(接待登记). Owner: services.intake."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.enums import ContactDayChangeKind, HolidayRule, check_in
from shared.db.models.base import Base, created_at, jurisdiction_fk, pk


class ContactSchedule(Base):
    """The rule that gives contact days: the nth weekday of every month (Gusu: the 2nd Sunday). The row
    without a station is the jurisdiction's; a station's own row overrides it."""

    __tablename__ = "contact_schedules"
    __table_args__ = (
        CheckConstraint("nth IN (1, 2, 3, 4, -1)", name="nth"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("ends_at > starts_at", name="hours"),
        CheckConstraint(check_in("on_holiday", HolidayRule), name="on_holiday"),
        Index(
            "uq_contact_schedules_jurisdiction",
            "jurisdiction_id",
            unique=True,
            postgresql_where="station_id IS NULL",
        ),
        Index(
            "uq_contact_schedules_station",
            "station_id",
            unique=True,
            postgresql_where="station_id IS NOT NULL",
        ),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    station_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("stations.id", ondelete="CASCADE"))
    # The nth (1-4, or -1 for the last) weekday (0 Monday ... 6 Sunday) of each month.
    nth: Mapped[int] = mapped_column(SmallInteger)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    starts_at: Mapped[time] = mapped_column(Time)
    ends_at: Mapped[time] = mapped_column(Time)
    on_holiday: Mapped[str] = mapped_column(String(16), default=HolidayRule.postpone)
    updated_at: Mapped[datetime] = created_at()


class ContactDayChange(Base):
    """A date added to or cancelled from the rule's days, for one station or (no station) the jurisdiction."""

    __tablename__ = "contact_day_changes"
    __table_args__ = (
        CheckConstraint(check_in("change", ContactDayChangeKind), name="change"),
        Index(
            "uq_contact_day_changes_jurisdiction",
            "jurisdiction_id",
            "day",
            unique=True,
            postgresql_where="station_id IS NULL",
        ),
        Index(
            "uq_contact_day_changes_station",
            "station_id",
            "day",
            unique=True,
            postgresql_where="station_id IS NOT NULL",
        ),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    station_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("stations.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    change: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()


class RosterEntry(Base):
    """A deputy rostered to receive citizens at a station on a date (年初排出全年代表接待计划)."""

    __tablename__ = "station_rosters"

    station_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    deputy_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("deputies.id"), primary_key=True, index=True
    )
    jurisdiction_id: Mapped[int] = jurisdiction_fk()


reception_deputies = Table(
    "reception_deputies",
    Base.metadata,
    Column("reception_id", BigInteger, ForeignKey("receptions.id", ondelete="CASCADE"), primary_key=True),
    Column("deputy_id", BigInteger, ForeignKey("deputies.id"), primary_key=True, index=True),
)

reception_cases = Table(
    "reception_cases",
    Base.metadata,
    Column("reception_id", BigInteger, ForeignKey("receptions.id", ondelete="CASCADE"), primary_key=True),
    Column("case_id", BigInteger, ForeignKey("cases.id"), primary_key=True, index=True),
)


class Reception(Base):
    """One reception (接待) at a station: who received, how many citizens came, what was settled there."""

    __tablename__ = "receptions"
    __table_args__ = (
        CheckConstraint("citizens_received >= 0", name="citizens_received"),
        CheckConstraint("answered_on_spot >= 0", name="answered_on_spot"),
        Index("ix_receptions_station_held_on", "station_id", "held_on"),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    station_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("stations.id"))
    held_on: Mapped[date] = mapped_column(Date)
    citizens_received: Mapped[int] = mapped_column(Integer, default=0)
    # Matters answered on the spot (当场答复), as a count; what they were goes in the note.
    answered_on_spot: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_type: Mapped[str] = mapped_column(String(16))
    recorded_by_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = created_at()

"""Liaison stations, deputies, intake codes (一人一码) and tracking-number counters. Owner: services.intake."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    FetchedValue,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.enums import DeputyLevel, IntakeCodeOwner, IntakeCodeStatus, StationKind, check_in
from shared.db.models.base import Base, created_at, jurisdiction_fk, pk

station_grids = Table(
    "station_grids",
    Base.metadata,
    Column("station_id", BigInteger, ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True),
    Column("grid_id", BigInteger, ForeignKey("grids.id"), primary_key=True),
    Column("position", Integer, nullable=False, server_default="0"),
)

deputy_stations = Table(
    "deputy_stations",
    Base.metadata,
    Column("deputy_id", BigInteger, ForeignKey("deputies.id", ondelete="CASCADE"), primary_key=True),
    Column("station_id", BigInteger, ForeignKey("stations.id"), primary_key=True),
    Column("position", Integer, nullable=False, server_default="0"),
)


class Station(Base):
    __tablename__ = "stations"
    __table_args__ = (CheckConstraint(check_in("kind", StationKind), name="kind"),)

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    name: Mapped[str] = mapped_column(String(100))
    # The public page's address, /s/{code}: letters, digits and dashes, unique across jurisdictions. A
    # trigger gives a station created without one "<jurisdiction code>-S<id>".
    code: Mapped[str] = mapped_column(String(40), unique=True, server_default=FetchedValue())
    kind: Mapped[str] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    long: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = created_at()


class Deputy(Base):
    __tablename__ = "deputies"
    __table_args__ = (CheckConstraint(check_in("level", DeputyLevel), name="level"),)

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    name: Mapped[str] = mapped_column(String(50))
    level: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = created_at()


class IntakeCode(Base):
    __tablename__ = "intake_codes"
    __table_args__ = (
        CheckConstraint(check_in("owner_type", IntakeCodeOwner), name="owner_type"),
        CheckConstraint(check_in("status", IntakeCodeStatus), name="status"),
        CheckConstraint(
            "(owner_type = 'deputy' AND deputy_id IS NOT NULL AND station_id IS NULL)"
            " OR (owner_type = 'station' AND station_id IS NOT NULL AND deputy_id IS NULL)",
            name="one_owner",
        ),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    token: Mapped[str] = mapped_column(String(64), unique=True)
    owner_type: Mapped[str] = mapped_column(String(16))
    deputy_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("deputies.id"), index=True)
    station_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("stations.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=IntakeCodeStatus.active)
    scan_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Kept with scan_count by the batched scan flush, so it lags a scan by up to that interval.
    last_scanned_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    revoked_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)


class RetiredIntakeToken(Base):
    """A token a code had before it was rotated: printed posters still carry it, and its scans must be told
    politely that the code was replaced (410), never open the form or take a case."""

    __tablename__ = "retired_intake_tokens"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    intake_code_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("intake_codes.id", ondelete="CASCADE"), index=True
    )
    retired_at: Mapped[datetime] = created_at()


class TrackingCounter(Base):
    """Per jurisdiction and day, the next unallocated tracking-number suffix; processes take blocks of it."""

    __tablename__ = "tracking_counters"

    jurisdiction_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("jurisdictions.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    next_value: Mapped[int] = mapped_column(BigInteger)

"""What the congress reads at a glance: the daily metrics rollup and the days it must recompute, the
jurisdiction's metric settings, hot spots (热点) and the dashboard's sign-in sessions.
Owner: services.supervision (the worker recomputes the rollup; intake links a converted hot spot's
suggestion)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.enums import HotspotStatus, MetricDim, check_in
from shared.db.models.base import Base, created_at, jurisdiction_fk, pk

# The counts behind every rate (DOMAIN.md's metrics), one column each, summed over days and rows.
METRIC_COUNTS = (
    "received",  # cases received
    "excluded",  # of them merged or rejected (left out of the dispatch rate)
    "dispatched",
    "replied",  # cases replied at least once
    "reply_due",  # cases whose first reply deadline passed or that were replied
    "replied_on_time",  # first reply no later than the deadline in force (approved extensions honoured)
    "closed",
    "rated",
    "satisfied",  # satisfied or basically satisfied
    "basically_satisfied",  # of them, basically satisfied (基本满意)
    "unrated",  # closed without a rating (shown apart, never counted as satisfied)
    "reworked",  # went to rework at least once
    "resolved",  # replied with an A-class (solved) reply
    "suggestions_replied",  # deputy suggestions replied
    "met",  # of them with a face-to-face consultation (面商) before the first reply
    "assignments",
    "accepted_on_time",
    "declined",
)


class MetricDay(Base):
    """The counts of the cases received on one Beijing day, per kind, for the whole jurisdiction (dim all)
    and for each value of each dimension. Recomputed from the raw rows by the worker, a day at a time."""

    __tablename__ = "metric_days"
    __table_args__ = (
        CheckConstraint(check_in("dim", MetricDim), name="dim"),
        Index("ix_metric_days_dim_day", "jurisdiction_id", "dim", "day"),
    )

    jurisdiction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("jurisdictions.id"), primary_key=True, autoincrement=False
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    dim: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The dimension value's id (department, category, station ...); 0 for dim all and for cases without one.
    key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # For the pair dims, the second value (the top-level category or the grid); 0 otherwise.
    key2: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=0, server_default="0")
    received: Mapped[int] = mapped_column(Integer, default=0)
    excluded: Mapped[int] = mapped_column(Integer, default=0)
    dispatched: Mapped[int] = mapped_column(Integer, default=0)
    replied: Mapped[int] = mapped_column(Integer, default=0)
    reply_due: Mapped[int] = mapped_column(Integer, default=0)
    replied_on_time: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)
    basically_satisfied: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unrated: Mapped[int] = mapped_column(Integer, default=0)
    reworked: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    suggestions_replied: Mapped[int] = mapped_column(Integer, default=0)
    met: Mapped[int] = mapped_column(Integer, default=0)
    assignments: Mapped[int] = mapped_column(Integer, default=0)
    accepted_on_time: Mapped[int] = mapped_column(Integer, default=0)
    declined: Mapped[int] = mapped_column(Integer, default=0)


class MetricDirtyDay(Base):
    """A day whose rollup is stale: a trigger on case_events marks the received day of the case whose log
    grew; the worker takes the marks, then recomputes those days."""

    __tablename__ = "metric_dirty_days"

    jurisdiction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("jurisdictions.id"), primary_key=True, autoincrement=False
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    marked_at: Mapped[datetime] = created_at()


class MetricSettings(Base):
    """A jurisdiction's choices for metrics and hot spots; a jurisdiction without a row uses the defaults."""

    __tablename__ = "metric_settings"
    __table_args__ = (
        CheckConstraint("ranking_min_sample >= 1", name="ranking_min_sample"),
        CheckConstraint(
            "weight_response >= 0 AND weight_resolution >= 0 AND weight_satisfaction >= 0"
            " AND weight_response + weight_resolution + weight_satisfaction = 100",
            name="weights",
        ),
        CheckConstraint("hotspot_min_cases >= 2", name="hotspot_min_cases"),
        CheckConstraint("hotspot_window_days BETWEEN 1 AND 90", name="hotspot_window_days"),
    )

    jurisdiction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("jurisdictions.id"), primary_key=True, autoincrement=False
    )
    # A department is ranked only with at least this many cases in the period (else 样本不足).
    ranking_min_sample: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    # The 12345 triple's weights in percent: response, resolution, satisfaction.
    weight_response: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    weight_resolution: Mapped[int] = mapped_column(Integer, default=35, server_default="35")
    weight_satisfaction: Mapped[int] = mapped_column(Integer, default=35, server_default="35")
    hotspot_min_cases: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    hotspot_window_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    updated_at: Mapped[datetime] = created_at()


hotspot_cases = Table(
    "hotspot_cases",
    Base.metadata,
    Column("hotspot_id", BigInteger, ForeignKey("hotspots.id", ondelete="CASCADE"), primary_key=True),
    Column("case_id", BigInteger, ForeignKey("cases.id"), primary_key=True, index=True),
)


class Hotspot(Base):
    """Cases on one matter (a category) in one grid, at least the setting's number within its window."""

    __tablename__ = "hotspots"
    __table_args__ = (
        CheckConstraint(check_in("status", HotspotStatus), name="status"),
        # One open cluster per grid and category: new cases join it.
        Index(
            "uq_hotspots_open",
            "jurisdiction_id",
            "grid_id",
            "category_id",
            unique=True,
            postgresql_where="status = 'open'",
        ),
        Index("ix_hotspots_jurisdiction_status_id", "jurisdiction_id", "status", "id"),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    grid_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("grids.id"))
    category_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("categories.id"))
    status: Mapped[str] = mapped_column(String(16), default=HotspotStatus.open)
    case_count: Mapped[int] = mapped_column(Integer)
    first_case_at: Mapped[datetime]
    last_case_at: Mapped[datetime]
    detected_at: Mapped[datetime] = created_at()
    # The suggestion a deputy or a supervisor made of it ("N 位群众反映").
    suggestion_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("cases.id"))
    converted_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class DashboardSession(Base):
    """A signed-in dashboard browser: the cookie holds a random token, only its hash is kept."""

    __tablename__ = "dashboard_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    api_key_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("api_keys.id", ondelete="CASCADE"), index=True
    )
    last_seen_at: Mapped[datetime] = created_at()
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime]

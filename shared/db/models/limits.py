"""Fixed-window request counters for the anonymous routes' abuse limits. Owner: shared.ratelimit.

A row per bucket (what is counted: a route's kind and a client address or an intake code) and window; every
process of a service counts in the same row, so a limit holds across processes and machines.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base


class RateLimitWindow(Base):
    __tablename__ = "rate_limits"
    # UNLOGGED: a crash may forget the current windows' counts, and no check waits for a WAL flush.
    __table_args__ = {"prefixes": ["UNLOGGED"]}

    bucket: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)

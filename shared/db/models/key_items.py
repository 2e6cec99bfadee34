"""Key supervision items (重点督办事项) and the three checks a year (一年三督) recorded on them.
Owner: services.supervision.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.enums import check_in
from shared.db.models.base import Base, created_at, pk

# Years a key item may belong to; the same bounds as the dates the API accepts elsewhere.
KEY_ITEM_YEARS = (2000, 2200)


class KeyCheckStage(StrEnum):
    """The three checks: 年初确定 (start: the item is picked, its goal set), 年中督查 (mid-year review),
    年终评估 (year-end evaluation). They are recorded in this order."""

    start = "start"
    mid = "mid"
    end = "end"


class KeyCheckRating(StrEnum):
    """The committee's grade of how the item is going: 好 good, 较好 fair, 一般 average, 差 poor."""

    good = "good"
    fair = "fair"
    average = "average"
    poor = "poor"


class KeyItem(Base):
    """A case or deputy suggestion chosen as a key item of a year, owned by a named congress leader (领衔督办)
    with a goal; a case is chosen at most once a year."""

    __tablename__ = "key_items"
    __table_args__ = (
        # Case first: the same rule as unique (year, case_id), and it also finds a case's items of all years.
        UniqueConstraint("case_id", "year"),
        CheckConstraint(f"year BETWEEN {KEY_ITEM_YEARS[0]} AND {KEY_ITEM_YEARS[1]}", name="year"),
        # A jurisdiction's items of a year, in the order they were chosen (the list and the report).
        Index("ix_key_items_jurisdiction_year", "jurisdiction_id", "year", "id"),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("jurisdictions.id"))
    year: Mapped[int] = mapped_column(Integer)
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"))
    lead_supervisor: Mapped[str] = mapped_column(String(50))
    goal: Mapped[str] = mapped_column(Text)
    # The committee (对口委办) that follows the item; by default the one of the case's category.
    committee_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("committees.id"))
    created_by_key_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class KeyItemCheck(Base):
    """One of the three checks of a key item: when it was done, what was found and, for the mid-year review
    and the year-end evaluation, the grade. Each stage is recorded once and never rewritten."""

    __tablename__ = "key_item_checks"
    __table_args__ = (
        UniqueConstraint("key_item_id", "stage"),
        CheckConstraint(check_in("stage", KeyCheckStage), name="stage"),
        CheckConstraint(check_in("rating", KeyCheckRating), name="rating"),
        CheckConstraint("stage = 'start' OR rating IS NOT NULL", name="rating_required"),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("jurisdictions.id"), index=True)
    key_item_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("key_items.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(8))
    checked_on: Mapped[date] = mapped_column(Date)
    findings: Mapped[str] = mapped_column(Text)
    rating: Mapped[str | None] = mapped_column(String(16))
    recorded_by_key_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = created_at()

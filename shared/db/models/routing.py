"""Taxonomy, units, routing rules, assignments and replies. Owner: services.routing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db.enums import AssignmentRole, AssignmentStatus, ReplyClass, check_in
from shared.db.models.base import Base, created_at, jurisdiction_fk, pk

TIER_NAME = String(32)
# The current transaction's 64-bit id, which never wraps.
CURRENT_XID = text("(pg_current_xact_id()::text)::bigint")


class Grid(Base):
    __tablename__ = "grids"
    __table_args__ = (UniqueConstraint("jurisdiction_id", "code"),)

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at()


class Committee(Base):
    __tablename__ = "committees"
    __table_args__ = (UniqueConstraint("jurisdiction_id", "code"),)

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at()


class Category(Base):
    """Two levels: a top-level category has no parent; a subcategory's parent is top-level."""

    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("jurisdiction_id", "code"),)

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("categories.id"))
    committee_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("committees.id"))
    default_tier: Mapped[str] = mapped_column(TIER_NAME, default="week", server_default="week")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # Its cases (and its subcategories' cases) get a follow-up (回头看) some weeks after they close.
    follow_up: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_at: Mapped[datetime] = created_at()


class Department(Base):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("jurisdiction_id", "code"),)

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = created_at()


class RoutingRule(Base):
    """Sends (category, grid) to departments. A null grid matches every grid; the most specific rule wins."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    category_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("categories.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("grids.id"))
    tier: Mapped[str | None] = mapped_column(TIER_NAME)
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = created_at()

    assignments: Mapped[list[RoutingRuleAssignment]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="RoutingRuleAssignment.id"
    )


class RoutingRuleAssignment(Base):
    __tablename__ = "routing_rule_assignments"
    __table_args__ = (
        UniqueConstraint("rule_id", "department_id"),
        CheckConstraint(check_in("role", AssignmentRole), name="role"),
    )

    id: Mapped[int] = pk()
    rule_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("routing_rules.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("departments.id"))
    role: Mapped[str] = mapped_column(String(16))


class Assignment(Base):
    """One department's share of one case (交办)."""

    __tablename__ = "assignments"
    __table_args__ = (
        CheckConstraint(check_in("role", AssignmentRole), name="role"),
        CheckConstraint(check_in("status", AssignmentStatus), name="status"),
        Index("ix_assignments_department_status", "department_id", "status", "updated_at"),
        # A department's sync feed reads its changes in transaction order.
        Index("ix_assignments_department_change", "department_id", "change_xid", "id"),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"), index=True)
    department_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("departments.id"))
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=AssignmentStatus.pending)
    dispatched_at: Mapped[datetime] = created_at()
    accepted_at: Mapped[datetime | None]
    declined_at: Mapped[datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(Text)
    suggested_department_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("departments.id"))
    replied_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    # The id of the transaction that last changed the assignment or its case (set by database triggers, see
    # the dispatch_desk migration); the department sync feed's cursor.
    change_xid: Mapped[int] = mapped_column(BigInteger, server_default=CURRENT_XID)


class Reply(Base):
    """A department's formal answer (答复). A case in rework collects a further reply per round."""

    __tablename__ = "replies"
    __table_args__ = (
        CheckConstraint(check_in("reply_class", ReplyClass), name="reply_class"),
        # Supervision settles reply deadlines by an assignment's first reply of a round, on every case event.
        Index("ix_replies_assignment_round", "assignment_id", "round"),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("assignments.id"))
    department_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("departments.id"))
    reply_class: Mapped[str] = mapped_column(String(1))
    text: Mapped[str] = mapped_column(Text)
    round: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = created_at()

"""The dispatcher's desk: routing settings, the text classifier's knowledge and models, each case's
classification and search terms, and the departments' extension requests. Owner: services.routing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.enums import ExtensionStatus, check_in
from shared.db.models.base import Base, created_at, jurisdiction_fk, pk


class RoutingSettings(Base):
    """A jurisdiction's dispatch choices; a jurisdiction without a row uses the defaults."""

    __tablename__ = "routing_settings"
    __table_args__ = (
        CheckConstraint("classify_threshold >= 0 AND classify_threshold <= 1", name="classify_threshold"),
    )

    jurisdiction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("jurisdictions.id"), primary_key=True, autoincrement=False
    )
    # A classification at or above this score dispatches a case without a person.
    classify_threshold: Mapped[float] = mapped_column(Float, default=0.6, server_default="0.6")
    # True: a case no routing rule matches waits for a dispatcher instead of going to the fallback department.
    queue_unmatched: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # True: the lead department of a deputy suggestion must record a consultation (面商/沟通) before replying.
    require_consultation: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class ClassifierTerm(Base):
    """A word of a category's lexicon (admin-edited): its presence in a text speaks for the category."""

    __tablename__ = "classifier_terms"
    __table_args__ = (UniqueConstraint("category_id", "term"),)

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    category_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("categories.id", ondelete="CASCADE"))
    term: Mapped[str] = mapped_column(String(32))
    weight: Mapped[float] = mapped_column(Float, default=1.0, server_default="1")
    created_at: Mapped[datetime] = created_at()


class ClassifierExample(Base):
    """A labelled text: a dispatcher's correction, or an example an admin imported."""

    __tablename__ = "classifier_examples"

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    category_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("categories.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    case_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("cases.id"))
    created_at: Mapped[datetime] = created_at()


class ClassifierModel(Base):
    """A jurisdiction's trained classifier. Writers of the taxonomy, lexicon or examples mark it stale; the
    worker retrains stale models, and the services reload a model whose revision moved."""

    __tablename__ = "classifier_models"

    jurisdiction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("jurisdictions.id"), primary_key=True, autoincrement=False
    )
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    stale: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    built_at: Mapped[datetime | None]
    model: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    facts: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")


class CaseClassification(Base):
    """What the classifier said about a case on arrival: the ranked candidates and whether it decided."""

    __tablename__ = "case_classifications"

    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("cases.id"), primary_key=True, autoincrement=False
    )
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    model_revision: Mapped[int] = mapped_column(Integer)
    # [{"category_id", "category_code", "score", "matched": [...]}], best first
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    decided: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = created_at()


class CaseSearchTerms(Base):
    """A case's words (jieba tokens) as a tsvector under the `simple` configuration, for duplicate search."""

    __tablename__ = "case_search_terms"
    __table_args__ = (
        Index("ix_case_search_terms_terms", "terms", postgresql_using="gin"),
        Index("ix_case_search_terms_jurisdiction_created", "jurisdiction_id", "created_at"),
    )

    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("cases.id"), primary_key=True, autoincrement=False
    )
    jurisdiction_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("jurisdictions.id"))
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    terms: Mapped[Any] = mapped_column(TSVECTOR)


class ExtensionRequest(Base):
    """A department's request for more time to reply (延期申请); supervision approves or refuses it."""

    __tablename__ = "extension_requests"
    __table_args__ = (
        CheckConstraint(check_in("status", ExtensionStatus), name="status"),
        # One pending request per assignment at a time.
        Index(
            "uq_extension_requests_pending",
            "assignment_id",
            unique=True,
            postgresql_where="status = 'pending'",
        ),
        Index("ix_extension_requests_jurisdiction_status", "jurisdiction_id", "status", "id"),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("assignments.id"))
    department_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("departments.id"))
    round: Mapped[int] = mapped_column(Integer, default=0)
    # The reply deadline in force when the request was made, and the date asked for.
    current_due_at: Mapped[datetime]
    requested_until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=ExtensionStatus.pending)
    created_at: Mapped[datetime] = created_at()
    decided_at: Mapped[datetime | None]
    decided_by_key_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("api_keys.id"))
    decision_note: Mapped[str | None] = mapped_column(Text)
    approved_until: Mapped[datetime | None]

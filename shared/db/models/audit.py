"""Personal data on purpose: who saw a case's full submitter name and phone, when and why, and which roles of
a jurisdiction may. Owner: services.supervision.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base, created_at, jurisdiction_fk, pk


class ContactAudit(Base):
    """One unmasking of one case's submitter, written in the same transaction as the answer that showed it.
    Holds no personal data itself."""

    __tablename__ = "contact_audits"
    __table_args__ = (
        Index("ix_contact_audits_case_id", "case_id"),
        Index("ix_contact_audits_api_key_id", "api_key_id"),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"))
    api_key_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("api_keys.id"))
    # The key's role at the time (a key's role never changes, but the row should read on its own).
    role: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()


class ContactSettings(Base):
    """The roles of a jurisdiction that may unmask; without a row, supervisor and admin."""

    __tablename__ = "contact_settings"

    jurisdiction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("jurisdictions.id"), primary_key=True, autoincrement=False
    )
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(16)))

"""Citizens' photos: uploaded through an intake code, attached to the case the upload's submission opened.
Owner: services.intake (written); services.workflow reads them for staff and the departments on the case.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base, created_at, jurisdiction_fk, pk


class Photo(Base):
    """One re-encoded image and its thumbnail. Until a submission attaches it (``case_id``), it is known only
    by the hash of the token its upload answered, and only through the same code, until ``expires_at``."""

    __tablename__ = "photos"
    __table_args__ = (
        Index("ix_photos_case_id", "case_id"),
        Index("uq_photos_upload_token_hash", "upload_token_hash", unique=True),
        # The cleanup's scan: uploads no case took, by expiry.
        Index("ix_photos_unattached_expiry", "expires_at", postgresql_where="case_id IS NULL"),
    )

    id: Mapped[int] = pk()
    jurisdiction_id: Mapped[int] = jurisdiction_fk()
    intake_code_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("intake_codes.id"))
    case_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("cases.id"))
    upload_token_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    content_type: Mapped[str] = mapped_column(String(32))
    bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(128))
    thumb_key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = created_at()

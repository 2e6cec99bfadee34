"""Jurisdictions (辖区), the tenants. Owner: services.supervision (admin) and the CLI."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base, created_at, pk


class Jurisdiction(Base):
    __tablename__ = "jurisdictions"

    id: Mapped[int] = pk()
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai", server_default="Asia/Shanghai")
    # Catches every case no routing rule matches.
    fallback_department_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("departments.id", use_alter=True, name="fk_jurisdictions_fallback_department")
    )
    created_at: Mapped[datetime] = created_at()

"""Who did something to a case, as recorded in its event log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Actor:
    # citizen, deputy, department, dispatcher, supervisor, admin, integrator, system
    type: str
    id: int | None = None

    def as_data(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id}


SYSTEM = Actor("system")
CITIZEN = Actor("citizen")

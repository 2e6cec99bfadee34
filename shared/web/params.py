"""Request parameters every service takes the same way."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from shared.db.ids import MAX_ID

# An id in a path: out of the BIGINT range it is a 422, never a database error.
PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="Object id")]

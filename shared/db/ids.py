"""Row ids are BIGINT: a larger number names nothing, and would reach the database driver as an error."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_ID = 2**63 - 1

# An id given in a request body or query.
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]

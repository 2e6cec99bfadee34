"""Bearer API keys: 401 without a valid key, 403 for a valid key of the wrong role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.errors import Forbidden, Unauthorized
from shared.security.apikeys import Principal, authenticate
from shared.web.db import Session

_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer mk_...`")


async def current_principal(
    request: Request,
    session: Session,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized()
    principal = await authenticate(session, credentials.credentials)
    if principal is None:
        raise Unauthorized()
    request.state.principal = principal
    return principal


AnyKey = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    allowed = frozenset(roles)

    async def check(principal: AnyKey) -> Principal:
        if principal.role not in allowed:
            raise Forbidden()
        return principal

    return check

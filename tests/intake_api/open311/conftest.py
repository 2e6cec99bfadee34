"""Fixtures for the Open311 endpoint: integrator keys bound to an intake code or a station, and helpers
that parse both formats (XML through defusedxml, as a client would)."""

from __future__ import annotations

from typing import Any

import httpx
from defusedxml import ElementTree
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import ApiKey
from shared.security.keys import new_api_key

BASE = "/open311/v2"


async def add_bound_key(
    session: AsyncSession,
    jurisdiction_id: int,
    *,
    role: str = "integrator",
    intake_code_id: int | None = None,
    station_id: int | None = None,
    department_id: int | None = None,
) -> str:
    """A key bound as given, committed so the app sees it; returns the whole key."""
    key = new_api_key()
    session.add(
        ApiKey(
            jurisdiction_id=jurisdiction_id,
            role=role,
            name="open311 test",
            prefix=key.prefix,
            key_hash=key.key_hash,
            intake_code_id=intake_code_id,
            station_id=station_id,
            department_id=department_id,
        )
    )
    await session.commit()
    return key.secret


def xml_root(response: httpx.Response) -> Any:
    assert response.headers["content-type"].startswith("application/xml")
    return ElementTree.fromstring(response.content)


def xml_records(response: httpx.Response, item: str) -> list[dict[str, str | None]]:
    """The items' flat fields (text of each direct child)."""
    return [{child.tag: child.text for child in element} for element in xml_root(response).findall(item)]


async def post_request(client: httpx.AsyncClient, fmt: str = "json", **fields: str) -> httpx.Response:
    return await client.post(f"{BASE}/requests.{fmt}", data=fields)

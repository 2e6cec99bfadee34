"""Idempotency keys are bound to the body: the same key with the same body replays, another body is refused."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import func, select

from shared.db.models import Case, CaseEvent, OutboxEvent


async def _count(session, model) -> int:
    return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def test_a_key_repeated_with_another_body_is_refused_and_makes_nothing(client, world, session):
    url = f"/v1/public/codes/{world.station_code.token}/cases"
    first = await client.post(
        url, json={"description": "小区门口路灯坏了一个月"}, headers={"Idempotency-Key": "k-1"}
    )
    assert first.status_code == 201

    other = await client.post(
        url, json={"description": "另一件事：楼道堆满杂物"}, headers={"Idempotency-Key": "k-1"}
    )
    assert other.status_code == 422
    error = other.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in error["message"]
    assert error["details"][0]["field"] == "Idempotency-Key"
    assert first.json()["tracking_no"] not in other.text
    # Another optional field is another body too.
    urgent = await client.post(
        url,
        json={"description": "小区门口路灯坏了一个月", "urgency": "urgent"},
        headers={"Idempotency-Key": "k-1"},
    )
    assert urgent.status_code == 422
    assert await _count(session, Case) == 1
    assert await _count(session, CaseEvent) == 1
    assert await _count(session, OutboxEvent) == 1


async def test_the_same_body_spelled_differently_replays(client, world, session):
    url = f"/v1/public/codes/{world.station_code.token}/cases"
    body = {"description": "小区门口路灯坏了一个月", "urgency": "normal"}
    first = await client.post(url, json=body, headers={"Idempotency-Key": "k-2"})
    assert first.status_code == 201
    # Keys in another order, a default left out: the same submission.
    again = await client.post(
        url, json={"description": body["description"]}, headers={"Idempotency-Key": "k-2"}
    )
    assert again.status_code == 200
    assert again.json()["tracking_no"] == first.json()["tracking_no"]
    assert again.json()["replayed"] is True
    assert await _count(session, Case) == 1
    stored = (await session.execute(select(Case.submission_body_hash))).scalar_one()
    assert stored is not None and len(stored) == 64


async def test_racing_requests_with_one_key_and_two_bodies_make_one_case(client, world, session):
    url = f"/v1/public/codes/{world.station_code.token}/cases"
    bodies = [{"description": "同时提交的第一件事"}, {"description": "同时提交的第二件事"}] * 4
    responses = await asyncio.gather(
        *(client.post(url, json=b, headers={"Idempotency-Key": "race"}) for b in bodies)
    )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 1
    assert codes.count(200) == 3 and codes.count(422) == 4
    winner = next(r for r in responses if r.status_code == 201)
    winner_body = bodies[responses.index(winner)]
    for body, response in zip(bodies, responses, strict=True):
        assert response.status_code in ((200, 201) if body == winner_body else (422,))
    assert await _count(session, Case) == 1
    assert await _count(session, OutboxEvent) == 1


async def test_a_form_key_is_not_refused_for_an_edited_body(client, world, session):
    """A form's key is issued to one page: a citizen going back to edit sees their own receipt again."""
    token = world.station_code.token
    page = await client.get(f"/c/{token}")
    assert page.status_code == 200
    key = re.search(r'name="submission_key" value="([^"]+)"', page.text).group(1)
    first = await client.post(
        f"/c/{token}", data={"description": "井盖松动，夜里有响声", "submission_key": key}
    )
    again = await client.post(
        f"/c/{token}", data={"description": "井盖松动，夜里有响声，已经一周", "submission_key": key}
    )
    assert first.status_code in (200, 303) and again.status_code == first.status_code
    assert await _count(session, Case) == 1

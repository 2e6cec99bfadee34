"""Citizens submit through an intake code (JSON): the case lands where the code belongs, PII is encrypted,
an outbox event is written, bad input is refused per field, retries are idempotent."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import create_async_engine

from intake_api.app import create_app
from services.intake.tracking_numbers import SHANGHAI
from shared.db.engine import async_url
from shared.db.models import Case, CaseEvent, Deputy, IntakeCode, OutboxEvent, deputy_stations
from shared.security.keys import hash_matches
from shared.security.pii import decrypt
from shared.settings import get_settings
from tests.asgi import client_for, running
from tests.intake_api.conftest import NAME, PHONE, case_by_tracking_no, submit


async def _count(session, model) -> int:
    return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def test_json_submission_creates_a_received_case(client, world, session):
    response = await submit(
        client,
        world.station_code.token,
        category_code="urban.sanitation",
        request_type="complaint",
        urgency="urgent",
        title="垃圾桶满溢",
        location_text="平江路口",
        lat=31.3,
        long=120.6,
        submitter_name=NAME,
        submitter_phone="+86 138-1234-5678",
    )
    assert response.status_code == 201, response.text
    receipt = response.json()
    today = datetime.now(UTC).astimezone(SHANGHAI).strftime("%Y%m%d")
    assert re.fullmatch(rf"GS{today}-\d{{4,}}", receipt["tracking_no"])
    assert receipt["status"] == "received" and receipt["replayed"] is False
    assert receipt["track_url"] == (
        f"{get_settings().public_url}/t/{receipt['tracking_no']}?k={receipt['access_key']}"
    )

    case = await case_by_tracking_no(session, receipt["tracking_no"])
    assert case.status == "received" and case.kind == "citizen" and case.source == "api"
    assert case.jurisdiction_id == world.jurisdiction.id
    assert case.station_id == world.station.id and case.deputy_id is None
    assert case.grid_id == world.grids["G1"].id  # the station's first grid
    assert case.category_id == world.categories["urban.sanitation"].id
    assert (case.request_type, case.urgency, case.title) == ("complaint", "urgent", "垃圾桶满溢")
    assert case.intake_code_id == world.station_code.id
    # Personal data only encrypted; the access key only hashed.
    assert case.submitter_phone_enc is not None and PHONE.encode() not in bytes(case.submitter_phone_enc)
    assert NAME.encode() not in bytes(case.submitter_name_enc)
    assert decrypt(case.submitter_phone_enc) == PHONE and decrypt(case.submitter_name_enc) == NAME
    assert receipt["access_key"] not in case.access_key_hash
    assert hash_matches(receipt["access_key"], case.access_key_hash)

    events = (await session.execute(select(CaseEvent).where(CaseEvent.case_id == case.id))).scalars().all()
    assert [(e.type, e.public, e.actor_type) for e in events] == [("received", True, "citizen")]
    (outbox,) = (await session.execute(select(OutboxEvent))).scalars().all()
    assert outbox.type == "case.received" and outbox.case_id == case.id
    assert outbox.payload["tracking_no"] == receipt["tracking_no"]
    assert outbox.payload["category_code"] == "urban.sanitation"
    assert PHONE not in str(outbox.payload) and NAME not in str(outbox.payload)


async def test_deputy_code_goes_to_the_deputys_first_station(client, world, session):
    admin = world.auth("admin")
    other = (
        await client.post("/v1/stations", json={"name": "第二联络站", "grid_codes": ["GS-G2"]}, headers=admin)
    ).json()
    # The deputy now sits first in the new station, second in the old one.
    await client.patch(
        f"/v1/deputies/{world.deputy.id}",
        json={"station_ids": [other["id"], world.station.id]},
        headers=admin,
    )
    response = await submit(client, world.deputy_code.token, confidential=True, submitter_phone=PHONE)
    assert response.status_code == 201, response.text
    case = await case_by_tracking_no(session, response.json()["tracking_no"])
    assert case.deputy_id == world.deputy.id and case.station_id == other["id"]
    assert case.grid_id == world.grids["G2"].id
    assert case.confidential is True and case.category_id is None
    assert case.request_type == "suggestion" and case.urgency == "normal"


async def test_a_chosen_grid_must_be_one_of_the_stations(client, world, session):
    chosen = await submit(client, world.station_code.token, grid_code="GS-G2")
    assert chosen.status_code == 201
    case = await case_by_tracking_no(session, chosen.json()["tracking_no"])
    assert case.grid_id == world.grids["G2"].id

    admin = world.auth("admin")
    await client.patch(f"/v1/stations/{world.station.id}", json={"grid_codes": ["GS-G1"]}, headers=admin)
    refused = await submit(client, world.station_code.token, grid_code="GS-G2")
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == [
        {"field": "grid_code", "message": "所选网格不在本联络站的服务范围内"}
    ]


async def test_unknown_and_revoked_codes_create_nothing(client, world, session):
    unknown = await submit(client, "no-such-token")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "intake_code_not_found"
    weird = await submit(client, "%00bad")
    assert weird.status_code == 404

    await session.execute(
        update(IntakeCode).where(IntakeCode.id == world.station_code.id).values(status="revoked")
    )
    await session.commit()
    revoked = await submit(client, world.station_code.token)
    assert revoked.status_code == 410
    assert revoked.json()["error"]["code"] == "intake_code_gone"
    assert "停止使用" in revoked.json()["error"]["message"]

    # A deactivated deputy's code is no longer in use either.
    await session.execute(update(Deputy).where(Deputy.id == world.deputy.id).values(active=False))
    await session.commit()
    assert (await submit(client, world.deputy_code.token)).status_code == 410

    assert await _count(session, Case) == 0
    assert await _count(session, OutboxEvent) == 0


async def test_validation_errors_are_per_field_in_chinese(client, world, session):
    response = await client.post(
        f"/v1/public/codes/{world.station_code.token}/cases",
        json={
            "description": "  短  ",
            "title": "标" * 101,
            "request_type": "praise",
            "urgency": "panic",
            "lat": 91,
            "long": -181,
            "submitter_phone": "12345",
            "submitter_name": "名" * 51,
            "location_text": "地" * 201,
            "confidential": "perhaps",
        },
    )
    assert response.status_code == 422
    details = {d["field"]: d["message"] for d in response.json()["error"]["details"]}
    assert set(details) == {
        "description",
        "title",
        "request_type",
        "urgency",
        "lat",
        "long",
        "submitter_phone",
        "submitter_name",
        "location_text",
        "confidential",
    }
    assert details["description"] == "问题描述至少需要 5 个字"
    assert details["title"].startswith("标题不能超过 100 个字")
    assert details["submitter_phone"].startswith("联系电话格式有误")
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m) for m in details.values())

    missing = await client.post(f"/v1/public/codes/{world.station_code.token}/cases", json={})
    assert missing.status_code == 422
    assert missing.json()["error"]["details"] == [{"field": "description", "message": "此项为必填项"}]

    huge = await submit(client, world.station_code.token, description="很" * 4001)
    assert huge.status_code == 422 and huge.json()["error"]["details"][0]["field"] == "description"

    category = await submit(client, world.station_code.token, category_code="no.such")
    assert category.status_code == 422
    assert category.json()["error"]["details"][0]["field"] == "category_code"

    for body in (b"{broken", b"[1, 2]", b'"text"', b'{"description": "\\u0000\\u0000\\u0000\\u0000\\u0000"}'):
        raw = await client.post(
            f"/v1/public/codes/{world.station_code.token}/cases",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        assert raw.status_code == 422, body
    surrogate = await client.post(
        f"/v1/public/codes/{world.station_code.token}/cases",
        content=b'{"description": "\\ud800 lone surrogate here"}',
        headers={"Content-Type": "application/json"},
    )
    assert surrogate.status_code == 422
    nan = await client.post(
        f"/v1/public/codes/{world.station_code.token}/cases",
        content='{"description": "路灯坏了很久", "lat": NaN}'.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert nan.status_code == 422
    assert await _count(session, Case) == 0


async def test_phone_numbers_are_normalized(client, world, session):
    for given, stored in (
        ("138 1234 5678", "13812345678"),
        ("0086-13812345678", "13812345678"),
        ("0512-6523 1234", "051265231234"),
        ("(0512) 65231234", "051265231234"),
    ):
        response = await submit(client, world.station_code.token, submitter_phone=given)
        assert response.status_code == 201, (given, response.text)
        case = await case_by_tracking_no(session, response.json()["tracking_no"])
        assert decrypt(case.submitter_phone_enc) == stored
    for bad in ("1381234567", "23812345678", "phone: 138", "+1 415 555 0100", "1" * 16):
        response = await submit(client, world.station_code.token, submitter_phone=bad)
        assert response.status_code == 422, bad


async def test_idempotency_key_returns_the_same_case(client, world, session):
    url = f"/v1/public/codes/{world.station_code.token}/cases"
    body = {"description": "小区门口路灯坏了一个月"}
    first = await client.post(url, json=body, headers={"Idempotency-Key": "retry-1"})
    assert first.status_code == 201
    again = await client.post(url, json=body, headers={"Idempotency-Key": "retry-1"})
    assert again.status_code == 200
    assert again.json() == {
        "tracking_no": first.json()["tracking_no"],
        "access_key": None,
        "status": "received",
        "track_url": None,
        "replayed": True,
    }
    # The same key on another code, or another key, is another case.
    other_code = await client.post(
        f"/v1/public/codes/{world.deputy_code.token}/cases", json=body, headers={"Idempotency-Key": "retry-1"}
    )
    assert other_code.status_code == 201
    other_key = await client.post(url, json=body, headers={"Idempotency-Key": "retry-2"})
    assert other_key.status_code == 201
    assert await _count(session, Case) == 3
    assert await _count(session, OutboxEvent) == 3

    too_long = await client.post(url, json=body, headers={"Idempotency-Key": "k" * 65})
    assert too_long.status_code == 422
    assert too_long.json()["error"]["details"][0]["field"] == "Idempotency-Key"


async def test_concurrent_retries_with_one_key_make_one_case(client, world, session):
    url = f"/v1/public/codes/{world.station_code.token}/cases"
    responses = await asyncio.gather(
        *(
            client.post(url, json={"description": "同时提交的同一件事"}, headers={"Idempotency-Key": "tap"})
            for _ in range(8)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.json()["tracking_no"] for r in responses}) == 1
    assert await _count(session, Case) == 1
    assert await _count(session, CaseEvent) == 1
    assert await _count(session, OutboxEvent) == 1


async def test_deputy_without_stations_still_receives(client, world, session):
    await session.execute(deputy_stations.delete().where(deputy_stations.c.deputy_id == world.deputy.id))
    await session.commit()
    response = await submit(client, world.deputy_code.token)
    assert response.status_code == 201
    case = await case_by_tracking_no(session, response.json()["tracking_no"])
    assert case.deputy_id == world.deputy.id and case.station_id is None and case.grid_id is None


async def test_submissions_beyond_the_pool_size_do_not_starve_the_number_allocator(
    world, session, database_url, monkeypatch
):
    """Requests waiting for the next block hold connections of the main pool; reserving a block must not
    need one of them (it would wait until the pool times out)."""
    monkeypatch.setattr(get_settings(), "tracking_block_size", 1)
    small = create_async_engine(async_url(database_url), pool_size=2, max_overflow=0, pool_timeout=5)
    try:
        app = create_app(small)
        async with running(app), client_for(app) as client:
            responses = await asyncio.gather(*(submit(client, world.station_code.token) for _ in range(12)))
    finally:
        await small.dispose()
    assert [r.status_code for r in responses] == [201] * 12
    assert len({r.json()["tracking_no"] for r in responses}) == 12
    assert await _count(session, Case) == 12

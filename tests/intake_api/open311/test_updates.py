"""The updates extension (servicerequestupdates): the public events of citizens' cases, as the tracking page
shows them, with the case's open/closed status after each, oldest first, between since and until."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update

from services.workflow import SYSTEM, change_status, record_event
from shared.db.models import CaseEvent
from tests.factories import build_world
from tests.intake_api.conftest import case_by_tracking_no, make_replied, submit
from tests.intake_api.open311.conftest import BASE, xml_records


async def _closed_case(client, session, world) -> tuple[str, int]:
    no = (await submit(client, world.station_code.token, submitter_name="李四")).json()["tracking_no"]
    case = await make_replied(session, world, no, text="已安排清运，每日两次")
    department_id = world.departments["urban_mgmt"].id
    await record_event(session, case, "progress", SYSTEM, public=False, data={"text": "内部：催一下环卫所"})
    await record_event(session, case, "declined", SYSTEM, public=True, data={"reason": "不属本单位"})
    await record_event(
        session,
        case,
        "progress",
        SYSTEM,
        public=True,
        data={"text": "已回访群众", "department_id": department_id},
    )
    await change_status(session, case, "closed", "closed", SYSTEM)
    await session.commit()
    return no, case.id


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_updates_are_the_public_timeline_with_open_or_closed(client, world, session, fmt) -> None:
    no, _ = await _closed_case(client, session, world)
    response = await client.get(f"{BASE}/servicerequestupdates.{fmt}")
    assert response.status_code == 200
    items = response.json() if fmt == "json" else xml_records(response, "request_update")
    assert [(u["status"], u["description"]) for u in items] == [
        ("open", "已受理"),
        ("open", "已交办承办单位"),
        ("open", "承办单位已签收"),
        ("open", "已答复（区城管局）：已安排清运，每日两次"),
        ("open", "办理进展（区城管局）：已回访群众"),
        ("closed", "已办结"),
    ]
    assert {u["service_request_id"] for u in items} == {no}
    assert all(u["media_url"] is None for u in items)
    ids = [int(u["update_id"]) for u in items]
    assert ids == sorted(ids)
    times = [datetime.fromisoformat(u["updated_datetime"]) for u in items]
    assert times == sorted(times) and all(t.utcoffset() == timedelta(hours=8) for t in times)
    for hidden in ("内部", "不属本单位", "李四"):
        assert hidden not in response.text


async def test_since_until_and_one_request(client, world, session) -> None:
    no, case_id = await _closed_case(client, session, world)
    other = (await submit(client, world.station_code.token)).json()["tracking_no"]
    # The closing happened two days ago; everything else now.
    long_ago = datetime.now(UTC) - timedelta(days=2)
    await session.execute(
        update(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.type == "closed").values(at=long_ago)
    )
    await session.commit()

    def seen(response) -> list[tuple[str, str]]:
        assert response.status_code == 200, response.text
        return [(u["service_request_id"], u["description"]) for u in response.json()]

    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert (no, "已办结") not in seen(
        await client.get(f"{BASE}/servicerequestupdates.json", params={"since": yesterday})
    )
    until = await client.get(f"{BASE}/servicerequestupdates.json", params={"until": yesterday})
    assert seen(until) == [(no, "已办结")]
    # Oldest first: the closing (two days ago) comes before today's events.
    assert seen(await client.get(f"{BASE}/servicerequestupdates.json"))[0] == (no, "已办结")
    mine = await client.get(f"{BASE}/servicerequestupdates.json", params={"service_request_id": other})
    assert seen(mine) == [(other, "已受理")]
    backwards = await client.get(
        f"{BASE}/servicerequestupdates.json", params={"since": yesterday, "until": long_ago.isoformat()}
    )
    assert backwards.status_code == 400
    assert backwards.json() == [{"code": 400, "description": "since 不能晚于 until"}]
    assert (
        await client.get(f"{BASE}/servicerequestupdates.xml", params={"since": "soon"})
    ).status_code == 400


async def test_updates_are_per_jurisdiction_and_capped(client, world, session) -> None:
    other = await build_world(session, code="WZ", name="吴中区")
    await session.commit()
    theirs = (await submit(client, other.station_code.token)).json()["tracking_no"]
    ours = (await submit(client, world.station_code.token)).json()["tracking_no"]
    assert (await client.get(f"{BASE}/servicerequestupdates.json")).status_code == 400
    gusu = await client.get(f"{BASE}/servicerequestupdates.json", params={"jurisdiction_id": "GS"})
    assert {u["service_request_id"] for u in gusu.json()} == {ours}
    assert theirs not in gusu.text

    case = await case_by_tracking_no(session, ours)
    await session.execute(
        text(
            """
            INSERT INTO case_events (jurisdiction_id, case_id, type, at, actor_type, public, data)
            SELECT :jid, :case_id, 'progress', now() - make_interval(secs => n), 'system', true,
                   jsonb_build_object('text', '进展 ' || n)
            FROM generate_series(1, 1000) AS n
            """
        ),
        {"jid": case.jurisdiction_id, "case_id": case.id},
    )
    await session.commit()
    capped = (await client.get(f"{BASE}/servicerequestupdates.json", params={"jurisdiction_id": "GS"})).json()
    assert len(capped) == 1000
    assert (
        capped[0]["description"] == "办理进展：进展 1000" and capped[-1]["description"] == "办理进展：进展 1"
    )


async def test_the_public_events_predicate_can_use_the_partial_index(session) -> None:
    from sqlalchemy import select

    from services.intake.open311.queries import _public_events

    since = datetime.now(UTC) - timedelta(days=1)
    statement = (
        select(CaseEvent.id)
        .where(CaseEvent.jurisdiction_id == 1, _public_events(), CaseEvent.at >= since)
        .order_by(CaseEvent.at, CaseEvent.id)
        .compile(session.bind, compile_kwargs={"literal_binds": True})
    )
    async with session.begin():
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join((await session.execute(text(f"EXPLAIN {statement}"))).scalars())
    # `public IS true` would not match the index's `WHERE public` and read every case event.
    assert "ix_case_events_public_at" in plan

"""GET requests and requests/{id}: citizens' cases as the public sees them (status open/closed, public texts,
departments, the reply deadline), the filters, the 90-day window, the 1,000 cap and the jurisdiction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from services.workflow import SYSTEM, change_status, record_event
from shared.db.enums import AssignmentRole, AssignmentStatus, CaseStatus
from shared.db.models import Assignment, Case, CaseEvent, Deadline
from tests.factories import build_world
from tests.intake_api.conftest import case_by_tracking_no, make_replied, submit
from tests.intake_api.open311.conftest import BASE, xml_records


async def _new(client, world, **fields) -> str:
    response = await submit(client, world.station_code.token, category_code="urban.sanitation", **fields)
    assert response.status_code == 201
    return response.json()["tracking_no"]


async def _age(session, tracking_no: str, days: float) -> None:
    moment = datetime.now(UTC) - timedelta(days=days)
    await session.execute(update(Case).where(Case.tracking_no == tracking_no).values(created_at=moment))
    await session.commit()


async def _dispatched(session, world, tracking_no: str, due_at: datetime) -> Case:
    """Dispatched to urban_mgmt (lead, reply due ``due_at``) and environment (co); street_office declined."""
    case = await case_by_tracking_no(session, tracking_no)
    case.tier = "week"
    assignments = {}
    for name, role, status in (
        ("street_office", AssignmentRole.lead, AssignmentStatus.declined),
        ("urban_mgmt", AssignmentRole.lead, AssignmentStatus.accepted),
        ("environment", AssignmentRole.co, AssignmentStatus.pending),
    ):
        assignment = Assignment(
            jurisdiction_id=case.jurisdiction_id,
            case_id=case.id,
            department_id=world.departments[name].id,
            role=role,
            status=status,
        )
        session.add(assignment)
        assignments[name] = assignment
    await session.flush()
    now = datetime.now(UTC)
    session.add_all(
        [
            Deadline(
                jurisdiction_id=case.jurisdiction_id,
                case_id=case.id,
                assignment_id=assignments["urban_mgmt"].id,
                kind="reply",
                starts_at=now,
                due_at=due_at,
            ),
            # Superseded by an extension, and a met accept deadline: neither is the one in force.
            Deadline(
                jurisdiction_id=case.jurisdiction_id,
                case_id=case.id,
                assignment_id=assignments["urban_mgmt"].id,
                kind="reply",
                round=0,
                starts_at=now,
                due_at=due_at - timedelta(days=3),
                superseded_at=now,
            ),
            Deadline(
                jurisdiction_id=case.jurisdiction_id,
                case_id=case.id,
                assignment_id=assignments["urban_mgmt"].id,
                kind="accept",
                starts_at=now,
                due_at=now - timedelta(days=9),
            ),
        ]
    )
    await change_status(session, case, CaseStatus.dispatched, "dispatched", SYSTEM)
    await change_status(session, case, CaseStatus.in_progress, "accepted", SYSTEM)
    department_id = world.departments["urban_mgmt"].id
    await record_event(
        session,
        case,
        "progress",
        SYSTEM,
        public=True,
        data={"text": "已派人现场查看", "department_id": department_id},
    )
    await record_event(session, case, "progress", SYSTEM, public=False, data={"text": "内部备注：下周处理"})
    await record_event(
        session, case, "declined", SYSTEM, public=True, data={"reason": "不属本单位职责", "department_id": 1}
    )
    await session.commit()
    return case


async def test_a_request_shows_the_public_progress_of_its_case(client, world, session) -> None:
    due = datetime(2030, 5, 6, 1, 30, 15, tzinfo=UTC)
    no = await _new(client, world, location_text="平江路 12 号", lat=31.3, long=120.6, submitter_name="张三")
    await _dispatched(session, world, no, due)
    response = await client.get(f"{BASE}/requests.json")
    assert response.status_code == 200
    (request,) = response.json()
    case = await case_by_tracking_no(session, no)
    assert request == {
        "service_request_id": no,
        "status": "open",
        "status_notes": "已派人现场查看",
        "service_name": "市容环卫",
        "service_code": "urban.sanitation",
        "agency_responsible": "区城管局、区生态环境局",
        "service_notice": "办理中（即收周办）",
        "requested_datetime": request["requested_datetime"],  # checked below
        "updated_datetime": request["updated_datetime"],
        "expected_datetime": "2030-05-06T09:30:15+08:00",
        "address": "平江路 12 号",
        "lat": 31.3,
        "long": 120.6,
        "media_url": None,
    }
    requested = datetime.fromisoformat(request["requested_datetime"])
    assert requested.utcoffset() == timedelta(hours=8)
    assert abs(requested - case.created_at) < timedelta(seconds=1)
    # The latest public event's time (the internal note and the decline came later and do not count).
    public_progress = await session.scalar(
        select(CaseEvent.at).where(
            CaseEvent.case_id == case.id, CaseEvent.type == "progress", CaseEvent.public
        )
    )
    assert datetime.fromisoformat(request["updated_datetime"]) == public_progress.replace(microsecond=0)
    for hidden in ("内部备注", "不属本单位职责", "双塔街道办事处", "张三", "平江路垃圾桶满溢"):
        assert hidden not in response.text

    xml = await client.get(f"{BASE}/requests.xml")
    (record,) = xml_records(xml, "request")
    assert record["service_request_id"] == no and record["status"] == "open"
    assert record["agency_responsible"] == "区城管局、区生态环境局"
    assert record["expected_datetime"] == "2030-05-06T09:30:15+08:00"
    assert record["media_url"] is None and record["lat"] == "31.3"

    one = await client.get(f"{BASE}/requests/{no}.json")
    assert one.status_code == 200 and one.json() == [request]
    (single,) = xml_records(await client.get(f"{BASE}/requests/{no}.xml"), "request")
    assert single == record


async def test_closed_merged_and_rejected_are_closed(client, world, session) -> None:
    replied = await _new(client, world)
    await make_replied(session, world, replied, text="已安排清运，每日两次")
    closed = await _new(client, world)
    case = await make_replied(session, world, closed)
    await change_status(session, case, CaseStatus.closed, "closed", SYSTEM)
    rejected = await _new(client, world)
    case = await case_by_tracking_no(session, rejected)
    await change_status(
        session, case, CaseStatus.rejected, "rejected", SYSTEM, data={"reason": "不属于人大受理范围"}
    )
    merged = await _new(client, world)
    case = await case_by_tracking_no(session, merged)
    await change_status(
        session, case, CaseStatus.merged, "merged", SYSTEM, data={"text": "已与其他事项合并办理"}
    )
    waiting = await _new(client, world)
    await session.commit()

    listed = {r["service_request_id"]: r for r in (await client.get(f"{BASE}/requests.json")).json()}
    assert {no: r["status"] for no, r in listed.items()} == {
        replied: "open",
        closed: "closed",
        rejected: "closed",
        merged: "closed",
        waiting: "open",
    }
    assert listed[replied]["status_notes"] == "已安排清运，每日两次"
    assert listed[replied]["service_notice"] == "已答复"
    assert listed[rejected]["status_notes"] == "不属于人大受理范围"
    assert listed[merged]["status_notes"] == "已与其他事项合并办理"
    assert listed[waiting]["status_notes"] is None and listed[waiting]["agency_responsible"] is None

    closed_only = await client.get(f"{BASE}/requests.json", params={"status": "closed"})
    assert {r["service_request_id"] for r in closed_only.json()} == {closed, rejected, merged}
    open_only = await client.get(f"{BASE}/requests.xml", params={"status": "open"})
    assert {r["service_request_id"] for r in xml_records(open_only, "request")} == {replied, waiting}
    both = await client.get(f"{BASE}/requests.json", params={"status": "open,closed"})
    assert len(both.json()) == 5
    bad = await client.get(f"{BASE}/requests.json", params={"status": "pending"})
    assert bad.status_code == 400
    assert bad.json() == [{"code": 400, "description": "status 应为 open 或 closed（可用逗号分隔）"}]


async def test_confidential_cases_and_deputies_suggestions_stay_off_the_map(client, world, session) -> None:
    secret = await _new(client, world, confidential=True, location_text="某小区 3 栋", lat=31.3, long=120.6)
    suggestion = await _new(client, world)
    await session.execute(update(Case).where(Case.tracking_no == suggestion).values(kind="deputy_suggestion"))
    await session.commit()
    (request,) = (await client.get(f"{BASE}/requests.json")).json()
    assert request["service_request_id"] == secret
    assert (request["address"], request["lat"], request["long"]) == (None, None, None)
    assert "某小区" not in (await client.get(f"{BASE}/requests.xml")).text
    assert (await client.get(f"{BASE}/requests/{suggestion}.json")).status_code == 404


async def test_filters_and_the_90_day_window(client, world, session) -> None:
    recent = await _new(client, world)
    noise = (await submit(client, world.station_code.token, category_code="environment.noise")).json()[
        "tracking_no"
    ]
    old = await _new(client, world)
    await _age(session, old, 100)

    def ids(response) -> set[str]:
        assert response.status_code == 200, response.text
        return {r["service_request_id"] for r in response.json()}

    assert ids(await client.get(f"{BASE}/requests.json")) == {recent, noise}
    by_code = await client.get(f"{BASE}/requests.json", params={"service_code": "environment.noise"})
    assert ids(by_code) == {noise}
    two_codes = await client.get(
        f"{BASE}/requests.json", params={"service_code": "environment.noise,urban.sanitation"}
    )
    assert ids(two_codes) == {recent, noise}
    # service_request_id overrides every other filter, the window included.
    by_id = await client.get(
        f"{BASE}/requests.json",
        params={"service_request_id": f"{old},{noise},GS00000000-0000", "service_code": "x"},
    )
    assert ids(by_id) == {old, noise}

    now = datetime.now(UTC)
    start = (now - timedelta(days=120)).isoformat()
    end = (now - timedelta(days=50)).isoformat()
    assert ids(await client.get(f"{BASE}/requests.json", params={"start_date": start, "end_date": end})) == {
        old
    }
    # One bound: the 90 days after the start, or before the end.
    only_start = await client.get(f"{BASE}/requests.json", params={"start_date": start})
    assert ids(only_start) == {old}
    only_end = await client.get(f"{BASE}/requests.json", params={"end_date": now.isoformat()})
    assert ids(only_end) == {recent, noise}
    # A W3C time with Z, and a date (Beijing time).
    zulu = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(await client.get(f"{BASE}/requests.json", params={"start_date": zulu})) == {recent, noise}

    too_long = await client.get(
        f"{BASE}/requests.json",
        params={"start_date": (now - timedelta(days=91)).isoformat(), "end_date": now.isoformat()},
    )
    assert too_long.status_code == 400
    assert too_long.json() == [{"code": 400, "description": "start_date 与 end_date 相隔不能超过 90 天"}]
    backwards = await client.get(f"{BASE}/requests.xml", params={"start_date": end, "end_date": start})
    assert backwards.status_code == 400
    assert xml_records(backwards, "error") == [{"code": "400", "description": "start_date 不能晚于 end_date"}]
    for bad in ("yesterday", "2026-13-01", "0001-01-01", "9999-12-31T23:59:59"):
        response = await client.get(f"{BASE}/requests.json", params={"end_date": bad})
        assert response.status_code == 400, bad


async def test_at_most_1000_requests_newest_first(client, world, session) -> None:
    await session.execute(
        text(
            """
            INSERT INTO cases (jurisdiction_id, tracking_no, access_key_hash, status, kind, request_type, urgency,
                               description, confidential, source, rework_round, created_at, updated_at)
            SELECT :jid, 'GS-BULK-' || n, 'x', 'received', 'citizen', 'suggestion', 'normal', '批量事项', false,
                   'api', 0, now() - make_interval(mins => n), now()
            FROM generate_series(1, 1001) AS n
            """
        ),
        {"jid": world.jurisdiction.id},
    )
    await session.commit()
    listed = (await client.get(f"{BASE}/requests.json")).json()
    assert len(listed) == 1000
    assert (
        listed[0]["service_request_id"] == "GS-BULK-1" and listed[-1]["service_request_id"] == "GS-BULK-1000"
    )
    too_many = ",".join(f"GS-BULK-{n}" for n in range(1, 1002))
    response = await client.get(f"{BASE}/requests.json", params={"service_request_id": too_many})
    assert response.status_code == 400


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_jurisdictions_scope_requests(client, world, session, fmt) -> None:
    gusu = await _new(client, world)
    other = await build_world(session, code="WZ", name="吴中区")
    await session.commit()
    wuzhong = (await submit(client, other.station_code.token)).json()["tracking_no"]

    missing = await client.get(f"{BASE}/requests.{fmt}")
    assert missing.status_code == 400
    listed = await client.get(f"{BASE}/requests.{fmt}", params={"jurisdiction_id": "WZ"})
    found = (
        {r["service_request_id"] for r in listed.json()}
        if fmt == "json"
        else {r["service_request_id"] for r in xml_records(listed, "request")}
    )
    assert found == {wuzhong}
    # One request: everywhere without jurisdiction_id, only its own with it.
    assert (await client.get(f"{BASE}/requests/{gusu}.{fmt}")).status_code == 200
    assert (
        await client.get(f"{BASE}/requests/{gusu}.{fmt}", params={"jurisdiction_id": "GS"})
    ).status_code == 200
    elsewhere = await client.get(f"{BASE}/requests/{gusu}.{fmt}", params={"jurisdiction_id": "WZ"})
    assert elsewhere.status_code == 404
    unknown = await client.get(f"{BASE}/requests/GS20000101-9999.{fmt}")
    assert unknown.status_code == 404
    expected = "未找到该诉求（service_request_id）"
    if fmt == "json":
        assert unknown.json() == [{"code": 404, "description": expected}]
    else:
        assert xml_records(unknown, "error") == [{"code": "404", "description": expected}]

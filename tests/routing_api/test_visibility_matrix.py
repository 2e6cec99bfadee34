"""What each department reads and may do on one case it shares with others: lead, co, separate, a separate unit
that has replied, one that declined, one a dispatcher withdrew, and a department with no part in the case.

Every piece of text on the case carries a marker; each read endpoint must show a department exactly the
markers it may read, so a leak fails the case named after that department and endpoint."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import Assignment, Deadline, Department, RoutingRule, RoutingRuleAssignment
from tests.factories import World, add_key
from tests.routing_api.conftest import dispatched_case

TITLE, DESC, LOC, PHONE = "TITLE-夜间施工", "DESC-工地夜间施工噪声扰民", "LOC-平江路12号", "138****5678"
LEAD_PUBLIC, LEAD_INTERNAL, LEAD_EXTENSION = "P-LEAD-PUB", "P-LEAD-INT", "X-LEAD-延期理由"
CO_OPINION, CO_INTERNAL = "CO-OPINION-建议联合执法", "P-CO-INT"
SEP_INTERNAL, REPLY, DECLINE_REASON, PARKS_INTERNAL = (
    "P-SEP-INT",
    "R-TRANSPORT-已答复",
    "D-WATER-不属本单位",
    "P-PARKS-INT",
)
MARKERS = (
    TITLE,
    DESC,
    LOC,
    PHONE,
    LEAD_PUBLIC,
    LEAD_INTERNAL,
    LEAD_EXTENSION,
    CO_OPINION,
    CO_INTERNAL,
    SEP_INTERNAL,
    REPLY,
    DECLINE_REASON,
    PARKS_INTERNAL,
)
CONTENT = {TITLE, DESC, LOC, PHONE}
BRIEF = {TITLE, DESC, LOC}
PUBLIC = {LEAD_PUBLIC, REPLY}

# who (as named in the test ids) -> department code
DEPARTMENTS = {
    "lead": "environment",
    "co": "urban_mgmt",
    "separate": "street_office",
    "replied": "transport",
    "declined": "water",
    "withdrawn": "parks",
    "outsider": "housing",
}
NEW_DEPARTMENTS = {"water": "区水务局", "parks": "区园林局", "transport": "区交通局", "housing": "区住建局"}
RULE = {
    "environment": "lead",
    "urban_mgmt": "co",
    "street_office": "separate",
    "water": "separate",
    "parks": "co",
    "transport": "separate",
}


@dataclass
class Arranged:
    world: World
    case_id: int
    assignments: dict[str, Assignment]

    def auth(self, who: str) -> dict[str, str]:
        return self.world.auth(f"dept:{DEPARTMENTS[who]}")

    def assignment_id(self, who: str) -> int:
        # The outsider tries the lead's assignment: a foreign id must be a 404.
        code = DEPARTMENTS["lead" if who == "outsider" else who]
        return self.assignments[code].id


async def _ok(response: httpx.Response) -> None:
    assert response.status_code in (200, 201), response.text


async def arrange(session: AsyncSession, client: httpx.AsyncClient, world: World) -> Arranged:
    jid = world.jurisdiction.id
    for code, name in NEW_DEPARTMENTS.items():
        department = Department(jurisdiction_id=jid, code=code, name=name)
        session.add(department)
        await session.flush()
        world.departments[code] = department
        world.keys[f"dept:{code}"] = await add_key(session, jid, "department", department_id=department.id)
    rule = RoutingRule(
        jurisdiction_id=jid, category_id=world.categories["environment.noise"].id, tier="week", priority=10
    )
    session.add(rule)
    await session.flush()
    session.add_all(
        RoutingRuleAssignment(rule_id=rule.id, department_id=world.departments[code].id, role=role)
        for code, role in RULE.items()
    )
    await session.commit()
    case, assignments = await dispatched_case(
        session,
        client,
        world,
        category="environment.noise",
        title=TITLE,
        description=DESC,
        location_text=LOC,
        submitter_name="张三丰",
        submitter_phone="13812345678",
    )
    now = datetime.now(UTC)
    session.add_all(
        Deadline(
            jurisdiction_id=jid,
            case_id=case.id,
            assignment_id=assignments[code].id,
            kind="reply",
            starts_at=now,
            due_at=now + timedelta(days=5),
        )
        for code, role in RULE.items()
        if role != "co"
    )
    await session.commit()
    arranged = Arranged(world, case.id, assignments)

    async def post(who: str, action: str, body: dict[str, object] | None = None) -> None:
        url = f"/v1/assignments/{arranged.assignment_id(who)}/{action}"
        await _ok(await client.post(url, json=body, headers=arranged.auth(who)))

    for who in ("lead", "co", "separate", "replied", "withdrawn"):
        await post(who, "accept")
    await post("lead", "progress", {"text": LEAD_PUBLIC})
    await post("lead", "progress", {"text": LEAD_INTERNAL, "public": False})
    until = (now + timedelta(days=20)).isoformat()
    await post("lead", "extension-requests", {"until": until, "reason": LEAD_EXTENSION})
    await post("co", "co-opinion", {"text": CO_OPINION})
    await post("co", "progress", {"text": CO_INTERNAL, "public": False})
    await post("separate", "progress", {"text": SEP_INTERNAL, "public": False})
    await post("replied", "reply", {"reply_class": "B", "text": REPLY})
    await post("declined", "decline", {"reason": DECLINE_REASON})
    await post("withdrawn", "progress", {"text": PARKS_INTERNAL, "public": False})
    # A dispatcher takes the assignment away (as a redispatch would).
    await session.execute(
        update(Assignment)
        .where(Assignment.id == assignments["parks"].id)
        .values(status="withdrawn", withdrawn_at=datetime.now(UTC))
    )
    await session.commit()
    return arranged


def _markers(body: object) -> set[str]:
    text = json.dumps(body, ensure_ascii=False)
    return {marker for marker in MARKERS if marker in text}


# --- what each department reads ----------------------------------------------------------------------------

DETAIL = {
    "lead": CONTENT | PUBLIC | {LEAD_INTERNAL, LEAD_EXTENSION, CO_OPINION},
    "co": CONTENT | PUBLIC | {CO_OPINION, CO_INTERNAL},
    "separate": CONTENT | PUBLIC | {SEP_INTERNAL},
    "replied": CONTENT | PUBLIC,
    "declined": {DECLINE_REASON},
    "withdrawn": set(),
}
LISTED = {
    "lead": BRIEF,
    "co": BRIEF,
    "separate": BRIEF,
    "replied": BRIEF,
    "declined": {DECLINE_REASON},
    "withdrawn": set(),
}
EXTENSIONS = {who: {LEAD_EXTENSION} if who == "lead" else set() for who in DETAIL}

READS = ("list", "detail", "sync", "extension-requests")


async def _sync_items(client: httpx.AsyncClient, auth: dict[str, str], case_id: int) -> list[dict]:
    """The department's items of the case in its sync feed, read until the feed has caught up (another
    database's transaction on the same server may hold the feed back for a moment)."""
    items: list[dict] = []
    cursor = None
    for _ in range(300):
        response = await client.get(
            "/v1/assignments/sync", params={"cursor": cursor} if cursor else {}, headers=auth
        )
        assert response.status_code == 200, response.text
        page = response.json()
        items += [item for item in page["items"] if item["case_id"] == case_id]
        cursor = page["next_cursor"]
        if not page["has_more"] and items:
            return items
        if not page["has_more"]:
            await asyncio.sleep(0.1)
    return items


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("who", list(DEPARTMENTS))
async def test_what_a_department_reads(session, client, world, who: str, read: str):
    arranged = await arrange(session, client, world)
    auth = arranged.auth(who)
    base = f"/v1/assignments/{arranged.assignment_id(who)}"
    if read == "list":
        items = (await client.get("/v1/assignments", headers=auth)).json()["items"]
        mine = [i for i in items if i["case_id"] == arranged.case_id]
        if who == "outsider":
            assert mine == []
            return
        assert [i["id"] for i in mine] == [arranged.assignment_id(who)]
        assert _markers(mine) == LISTED[who]
    elif read == "sync":
        if who == "outsider":
            page = (await client.get("/v1/assignments/sync", headers=auth)).json()
            assert page["items"] == [] and page["has_more"] is False
            return
        mine = await _sync_items(client, auth, arranged.case_id)
        assert {i["id"] for i in mine} == {arranged.assignment_id(who)}
        assert _markers(mine) == LISTED[who]
    else:
        url = base if read == "detail" else f"{base}/extension-requests"
        response = await client.get(url, headers=auth)
        if who == "outsider":
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "assignment_not_found"
            return
        assert response.status_code == 200, response.text
        expected = DETAIL[who] if read == "detail" else EXTENSIONS[who]
        assert _markers(response.json()) == expected


# --- what each department may do ---------------------------------------------------------------------------


def _body(action: str) -> dict[str, object] | None:
    return {
        "accept": None,
        "decline": {"reason": "不属于本单位职责"},
        "progress": {"text": "已派人到现场查看"},
        "co-opinion": {"text": "建议由街道牵头协调"},
        "reply": {"reply_class": "A", "text": "已责令停止夜间施工"},
        "extension-requests": {
            "until": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
            "reason": "需协调多部门联合整改",
        },
    }[action]


ACTION_NAMES = ("accept", "decline", "progress", "co-opinion", "reply", "extension-requests")
OK, DONE, STATE, ROLE, PENDING = (
    200,
    "already_accepted",
    "assignment_state_conflict",
    "wrong_assignment_role",
    "extension_pending",
)
ACTIONS: dict[str, dict[str, int | str]] = {
    "lead": {
        "accept": DONE,
        "decline": OK,
        "progress": OK,
        "co-opinion": ROLE,
        "reply": OK,
        "extension-requests": PENDING,
    },
    "co": {
        "accept": DONE,
        "decline": OK,
        "progress": OK,
        "co-opinion": OK,
        "reply": ROLE,
        "extension-requests": ROLE,
    },
    "separate": {
        "accept": DONE,
        "decline": OK,
        "progress": OK,
        "co-opinion": ROLE,
        "reply": OK,
        "extension-requests": 201,
    },
    "replied": {
        "accept": DONE,
        "decline": STATE,
        "progress": STATE,
        "co-opinion": ROLE,
        "reply": STATE,
        "extension-requests": STATE,
    },
    "declined": {
        "accept": STATE,
        "decline": STATE,
        "progress": STATE,
        "co-opinion": ROLE,
        "reply": STATE,
        "extension-requests": STATE,
    },
    "withdrawn": {
        "accept": STATE,
        "decline": STATE,
        "progress": STATE,
        "co-opinion": STATE,
        "reply": ROLE,
        "extension-requests": ROLE,
    },
    "outsider": {action: "assignment_not_found" for action in ACTION_NAMES},
}


@pytest.mark.parametrize("action", ACTION_NAMES)
@pytest.mark.parametrize("who", list(DEPARTMENTS))
async def test_what_a_department_may_do(session, client, world, who: str, action: str):
    arranged = await arrange(session, client, world)
    url = f"/v1/assignments/{arranged.assignment_id(who)}/{action}"
    response = await client.post(url, json=_body(action), headers=arranged.auth(who))
    expected = ACTIONS[who][action]
    if isinstance(expected, int):
        assert response.status_code == expected, response.text
    else:
        assert response.status_code == (404 if expected == "assignment_not_found" else 409), response.text
        error = response.json()["error"]
        assert error["code"] == expected
        assert re.search(r"[\u4e00-\u9fff]", error["message"]), error  # told in Chinese


# --- the shape of what a department that left keeps --------------------------------------------------------


@pytest.mark.parametrize("who", ["declined", "withdrawn"])
async def test_a_department_that_left_keeps_only_its_own_part(session, client, world, who: str):
    arranged = await arrange(session, client, world)
    detail = (
        await client.get(f"/v1/assignments/{arranged.assignment_id(who)}", headers=arranged.auth(who))
    ).json()
    case = detail["case"]
    assert detail["status"] == who
    assert (detail["decline_reason"] == DECLINE_REASON) is (who == "declined")
    assert (detail["withdrawn_at"] is not None) is (who == "withdrawn")
    assert case["title"] is None and case["description"] is None and case["location_text"] is None
    assert case["lat"] is None and case["submitter"] is None
    assert case["replies"] == [] and case["feedback"] == [] and detail["co_opinions"] == []
    assert [a["id"] for a in case["assignments"]] == [arranged.assignment_id(who)]
    assert {d["assignment_id"] for d in case["deadlines"]} <= {arranged.assignment_id(who)}
    expected_events = ["declined"] if who == "declined" else []
    assert [e["type"] for e in case["events"]] == expected_events
    assert case["tracking_no"] and case["status"] == "in_progress"


async def test_units_on_the_case_do_not_see_who_left_or_why(session, client, world):
    arranged = await arrange(session, client, world)
    for who in ("lead", "co", "separate", "replied"):
        detail = (
            await client.get(f"/v1/assignments/{arranged.assignment_id(who)}", headers=arranged.auth(who))
        ).json()
        shown = {a["department_id"] for a in detail["case"]["assignments"]}
        assert world.departments["water"].id not in shown, who
        assert world.departments["parks"].id not in shown, who
        assert "declined" not in [e["type"] for e in detail["case"]["events"]], who
        assert detail["case"]["submitter"] == {"name": "张**", "phone": PHONE}, who
    lead = (
        await client.get(f"/v1/assignments/{arranged.assignment_id('lead')}", headers=arranged.auth("lead"))
    ).json()
    assert [o["text"] for o in lead["co_opinions"]] == [CO_OPINION]

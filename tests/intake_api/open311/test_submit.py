"""POST requests: a bound integrator key opens a case through its intake code by the citizens' own path (events,
idempotency, the code's limit); the contact is stored encrypted and appears in no answer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from services.intake.open311 import tokens
from shared.db.models import ApiKey, Case, CaseEvent, IntakeCode, OutboxEvent
from shared.security.pii import decrypt
from shared.settings import get_settings
from tests.factories import build_world
from tests.intake_api.conftest import submit
from tests.intake_api.open311.conftest import BASE, add_bound_key, post_request, xml_records

NAME_GIVEN, NAME_FAMILY, PHONE, EMAIL = "晓明", "欧阳", "13812345678", "ouyang.xm@example.cn"
DESCRIPTION = "平江路垃圾桶满溢三天无人清运，气味很大"


def _fields(key: str, **extra: str) -> dict[str, str]:
    return {
        "api_key": key,
        "service_code": "urban.sanitation",
        "description": DESCRIPTION,
        "lat": "31.3162",
        "long": "120.6319",
        "address_string": "平江路与白塔东路路口",
        **extra,
    }


async def _cases(session) -> list[Case]:
    query = select(Case).order_by(Case.id).execution_options(populate_existing=True)
    return list((await session.execute(query)).scalars())


async def test_a_station_key_opens_a_case_through_the_station_code(client, world, session) -> None:
    key = await add_bound_key(session, world.jurisdiction.id, station_id=world.station.id)
    contact = {"first_name": NAME_GIVEN, "last_name": NAME_FAMILY, "phone": PHONE, "email": EMAIL}
    response = await post_request(
        client,
        **_fields(key, **contact, **{"attribute[request_type]": "投诉", "attribute[urgency]": "urgent"}),
        jurisdiction_id="GS",
        device_id="device-1",
        account_id="acct-9",
    )
    assert response.status_code == 201
    (answer,) = response.json()
    (case,) = await _cases(session)
    assert answer == {
        "service_request_id": case.tracking_no,
        "token": tokens.issue(case.id),
        "service_notice": "已受理，将按问题分类交办承办单位；可凭受理编号查询办理进展",
        "account_id": None,
    }
    # The same case a citizen's JSON submission through the station's code makes.
    assert case.intake_code_id == world.station_code.id and case.station_id == world.station.id
    assert (case.source, case.status, case.kind) == ("open311", "received", "citizen")
    assert case.category_id == world.categories["urban.sanitation"].id
    assert (case.request_type, case.urgency) == ("complaint", "urgent")
    assert (case.location_text, case.lat, case.long) == ("平江路与白塔东路路口", 31.3162, 120.6319)
    assert case.description == DESCRIPTION
    # Contact: encrypted at rest, the family name first.
    assert decrypt(case.submitter_name_enc) == "欧阳晓明"
    assert decrypt(case.submitter_phone_enc) == PHONE
    assert decrypt(case.submitter_email_enc) == EMAIL
    assert EMAIL.encode() not in case.submitter_email_enc
    events = (await session.execute(select(CaseEvent.type).where(CaseEvent.case_id == case.id))).scalars()
    assert list(events) == ["received"]
    outbox = (await session.execute(select(OutboxEvent).where(OutboxEvent.case_id == case.id))).scalar_one()
    assert outbox.type == "case.received" and outbox.payload["tracking_no"] == case.tracking_no
    assert EMAIL not in str(outbox.payload) and PHONE not in str(outbox.payload)

    # No answer of the endpoint ever carries the contact, the description or an access key.
    no = case.tracking_no
    outputs = [response.text]
    for fmt in ("json", "xml"):
        for path in (
            f"requests.{fmt}",
            f"requests/{no}.{fmt}",
            f"servicerequestupdates.{fmt}",
            f"tokens/{answer['token']}.{fmt}",
        ):
            read = await client.get(f"{BASE}/{path}")
            assert read.status_code == 200, path
            assert no in read.text
            outputs.append(read.text)
    for text in outputs:
        for secret in (NAME_GIVEN, NAME_FAMILY, PHONE, EMAIL, "example.cn", DESCRIPTION, "access_key", "k="):
            assert secret not in text


async def test_an_intake_code_key_answers_in_xml(client, world, session) -> None:
    key = await add_bound_key(session, world.jurisdiction.id, intake_code_id=world.deputy_code.id)
    response = await post_request(client, "xml", **_fields(key))
    assert response.status_code == 201
    (record,) = xml_records(response, "request")
    (case,) = await _cases(session)
    assert record["service_request_id"] == case.tracking_no
    assert record["token"] == tokens.issue(case.id) and record["account_id"] is None
    assert case.intake_code_id == world.deputy_code.id and case.deputy_id == world.deputy.id
    assert (case.request_type, case.urgency) == ("suggestion", "normal")
    assert case.submitter_name_enc is None and case.submitter_email_enc is None


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("none", "缺少或无效的 api_key"),
        ("forged", "缺少或无效的 api_key"),
        ("revoked", "缺少或无效的 api_key"),
        ("department", "只有集成方（integrator）密钥可以提交诉求"),
        ("unbound", "该密钥未绑定二维码或联络站，不能提交诉求；请管理员创建绑定的集成方密钥"),
        ("other_jurisdiction", "jurisdiction_id 与密钥所属辖区不符"),
        ("code_revoked", "该密钥绑定的二维码已停用，不能提交诉求"),
        ("station_without_code", "该密钥绑定的联络站没有在用的二维码，不能提交诉求"),
    ],
)
async def test_keys_that_may_not_submit_get_403(client, world, session, setup, message) -> None:
    jid = world.jurisdiction.id
    extra: dict[str, str] = {}
    if setup == "none":
        key = ""
    elif setup == "forged":
        key = "mk_000000000000_forged"
    elif setup == "revoked":
        key = await add_bound_key(session, jid, station_id=world.station.id)
        await session.execute(update(ApiKey).values(revoked_at=datetime.now(UTC)))
        await session.commit()
    elif setup == "department":
        department_id = world.departments["urban_mgmt"].id
        key = await add_bound_key(
            session, jid, role="department", department_id=department_id, station_id=world.station.id
        )
    elif setup == "unbound":
        key = world.keys["integrator"]
    elif setup == "other_jurisdiction":
        await build_world(session, code="WZ", name="吴中区")
        key = await add_bound_key(session, jid, station_id=world.station.id)
        extra["jurisdiction_id"] = "WZ"
    elif setup == "code_revoked":
        key = await add_bound_key(session, jid, intake_code_id=world.deputy_code.id)
        await session.execute(
            update(IntakeCode).where(IntakeCode.id == world.deputy_code.id).values(status="revoked")
        )
        await session.commit()
    else:
        key = await add_bound_key(session, jid, station_id=world.station.id)
        await session.execute(
            update(IntakeCode).where(IntakeCode.id == world.station_code.id).values(status="revoked")
        )
        await session.commit()
    for fmt in ("json", "xml"):
        response = await post_request(client, fmt, **_fields(key, **extra))
        assert response.status_code == 403
        if fmt == "json":
            assert response.json() == [{"code": 403, "description": message}]
        else:
            assert xml_records(response, "error") == [{"code": "403", "description": message}]
    assert await _cases(session) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"service_code": ""}, "service_code：请填写问题分类代码（services 列出的 service_code）"),
        ({"service_code": "no.such"}, "service_code：问题分类不存在或已停用，请重新选择"),
        (
            {"lat": "", "long": "", "address_string": ""},
            "lat/long：请提供位置：lat 与 long，或 address_string，或 address_id",
        ),
        ({"long": "", "address_string": ""}, "lat/long：lat 与 long 须同时提供"),
        ({"lat": "north"}, "lat：应为数字"),
        ({"lat": "91"}, "lat：超出取值范围"),
        ({"description": "  "}, "description：请填写问题描述"),
        ({"description": "太短"}, "description：问题描述至少需要 5 个字"),
        ({"email": "not-an-address"}, "email：电子邮箱格式有误"),
        ({"phone": "12345"}, "phone：联系电话格式有误，请填写手机号码或带区号的固定电话"),
        ({"media_url": "file:///etc/passwd"}, "media_url：应为 http:// 或 https:// 开头的网址"),
        (
            {"attribute[urgency]": "asap"},
            "attribute[urgency]：应为 normal（一般）、urgent（紧急）、critical（特急） 之一",
        ),
        ({"description": "含有\x00字符的描述"}, "description：含有无法识别的字符"),
    ],
)
async def test_bad_fields_are_400_naming_the_field(client, world, session, change, expected) -> None:
    key = await add_bound_key(session, world.jurisdiction.id, station_id=world.station.id)
    response = await post_request(client, **{**_fields(key), **change})
    assert response.status_code == 400
    ((error),) = response.json()
    assert error["code"] == 400 and expected in error["description"]
    assert await _cases(session) == []


async def test_an_address_id_alone_is_a_location_and_media_urls_stay_internal(client, world, session) -> None:
    key = await add_bound_key(session, world.jurisdiction.id, station_id=world.station.id)
    url = "https://img.example.org/p/1.jpg"
    fields = {**_fields(key, media_url=url, address_id="A-1024"), "lat": "", "long": "", "address_string": ""}
    response = await post_request(client, **fields)
    assert response.status_code == 201
    (case,) = await _cases(session)
    assert case.location_text == "地址编号：A-1024" and case.lat is None
    # Kept for the departments in the description, never fetched, never answered.
    assert case.description == f"{DESCRIPTION}\n图片链接：{url}"
    listed = await client.get(f"{BASE}/requests.json")
    assert url not in listed.text and listed.json()[0]["media_url"] is None


async def test_an_idempotency_key_replays_the_case_and_refuses_another_body(client, world, session) -> None:
    key = await add_bound_key(session, world.jurisdiction.id, station_id=world.station.id)
    headers = {"Idempotency-Key": "order-77"}
    first = await client.post(f"{BASE}/requests.json", data=_fields(key), headers=headers)
    again = await client.post(f"{BASE}/requests.json", data=_fields(key), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    other = await client.post(
        f"{BASE}/requests.json", data=_fields(key, description="另一件事：楼道堆满杂物"), headers=headers
    )
    assert other.status_code == 400
    assert "Idempotency-Key" in other.json()[0]["description"]
    # A new e-mail is another body too.
    with_email = await client.post(f"{BASE}/requests.json", data=_fields(key, email=EMAIL), headers=headers)
    assert with_email.status_code == 400
    assert len(await _cases(session)) == 1


async def test_the_code_limit_counts_open311_and_citizens_together(
    client, world, session, monkeypatch
) -> None:
    monkeypatch.setattr(get_settings(), "limit_submissions_per_code", "2/3600")
    key = await add_bound_key(session, world.jurisdiction.id, station_id=world.station.id)
    assert (await submit(client, world.station_code.token)).status_code == 201
    assert (await post_request(client, **_fields(key))).status_code == 201
    refused = await post_request(client, "xml", **_fields(key))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    (error,) = xml_records(refused, "error")
    assert error["code"] == "429" and "提交过于频繁" in (error["description"] or "")
    assert (await submit(client, world.station_code.token)).status_code == 429
    # Another code's budget is its own; an unauthenticated request spends none of it.
    other = await add_bound_key(session, world.jurisdiction.id, intake_code_id=world.deputy_code.id)
    assert (await post_request(client, **_fields(other))).status_code == 201
    count = (await session.execute(select(func.count()).select_from(Case))).scalar_one()
    assert count == 3

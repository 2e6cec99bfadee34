"""`minyi demo`: the demo jurisdiction GS (姑苏区), loaded once.

Stations over five grids, six deputies each with an intake code, a code per station, the default two-level
taxonomy with its committees and classifier lexicon (services/demo_lexicon.py), eight departments, routing
rules covering every top-level category and a fallback department, and a key per role. Keys exist only as
hashes in the database, so the plain keys are written once to a file under the data folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.demo_deputies import load_deputy_work
from services.demo_lexicon import demo_terms
from services.supervision.apikeys import create_api_key
from services.supervision.tenancy import create_jurisdiction
from shared.db.models import (
    Category,
    ClassifierTerm,
    Committee,
    Department,
    Deputy,
    Grid,
    IntakeCode,
    Jurisdiction,
    RoutingRule,
    RoutingRuleAssignment,
    Station,
    deputy_stations,
    station_grids,
)
from shared.security.keys import new_intake_token

CODE, NAME = "GS", "姑苏区"

COMMITTEES = {
    "urban_env": "城建环资工委",
    "finance_econ": "财政经济工委",
    "social": "社会建设工委",
    "edu_health": "教科文卫工委",
    "agri_legal": "农业农村和监察司法工委",
}

# top-level code: (name, committee, default tier, [(sub code, sub name, tier or None)])
TAXONOMY: dict[str, tuple[str, str, str, list[tuple[str, str, str | None]]]] = {
    "urban": (
        "城市管理",
        "urban_env",
        "week",
        [
            ("sanitation", "市容环卫", None),
            ("street_vending", "占道经营", None),
            ("illegal_building", "违法建设", "month"),
            ("municipal", "市政设施", None),
            ("greening", "园林绿化", None),
        ],
    ),
    "housing": (
        "住房与物业",
        "urban_env",
        "week",
        [
            ("property", "物业服务", None),
            ("elevator_water", "电梯与二次供水", "immediate"),
            ("old_estate", "老旧小区改造", "month"),
            ("quality", "房屋质量", None),
        ],
    ),
    "transport": (
        "交通出行",
        "urban_env",
        "week",
        [
            ("parking", "停车管理", None),
            ("facilities", "交通设施", None),
            ("bus", "公交线路站点", "month"),
            ("order", "交通秩序", None),
        ],
    ),
    "environment": (
        "生态环境",
        "urban_env",
        "week",
        [
            ("noise", "噪声", None),
            ("air", "大气与油烟", None),
            ("water", "水环境", None),
            ("waste_sorting", "垃圾分类", None),
        ],
    ),
    "utilities": (
        "公共服务",
        "finance_econ",
        "immediate",
        [
            ("water", "供水", None),
            ("power", "供电", None),
            ("gas", "燃气", None),
            ("heating", "供暖", None),
            ("telecom", "通信信号", "week"),
        ],
    ),
    "market": (
        "市场监管",
        "finance_econ",
        "week",
        [
            ("food", "食品安全", "immediate"),
            ("consumer", "消费纠纷", None),
            ("price", "价格", None),
            ("unlicensed", "无证经营", None),
        ],
    ),
    "social": (
        "劳动社保与民政",
        "social",
        "week",
        [
            ("wages", "拖欠工资", "immediate"),
            ("insurance", "社保医保", None),
            ("elderly", "养老服务", None),
            ("assistance", "低保救助", None),
        ],
    ),
    "edu_health": (
        "教育卫生",
        "edu_health",
        "week",
        [
            ("enrollment", "入学", None),
            ("tutoring", "校外培训", None),
            ("school_safety", "校园周边安全", "immediate"),
            ("medical", "就医服务", None),
        ],
    ),
    "rural_safety": (
        "农业农村与公共安全",
        "agri_legal",
        "week",
        [
            ("rural_roads", "农村道路", "month"),
            ("homestead", "宅基地", "month"),
            ("subsidies", "惠农补贴", None),
            ("fire_lanes", "消防通道", "immediate"),
            ("disturbance", "治安扰民", None),
        ],
    ),
}

DEPARTMENTS = {
    "gov_office": "区政府办公室（区便民服务中心）",
    "urban_mgmt": "区城市管理局",
    "housing": "区住房和城乡建设局",
    "transport": "区交通运输局",
    "environment": "区生态环境局",
    "market": "区市场监督管理局",
    "hrss": "区人力资源和社会保障局",
    "education": "区教育体育局",
}
FALLBACK = "gov_office"

# (category, grid or None, tier or None, [(department, role)])
RULES: list[tuple[str, str | None, str | None, list[tuple[str, str]]]] = [
    ("urban", None, None, [("urban_mgmt", "lead")]),
    ("housing", None, None, [("housing", "lead")]),
    ("transport", None, None, [("transport", "lead"), ("urban_mgmt", "co")]),
    ("environment", None, None, [("environment", "lead"), ("urban_mgmt", "co")]),
    ("utilities", None, None, [("housing", "lead"), ("gov_office", "co")]),
    ("market", None, None, [("market", "lead")]),
    ("social", None, None, [("hrss", "lead")]),
    ("edu_health", None, None, [("education", "lead")]),
    ("rural_safety", None, None, [("gov_office", "lead")]),
    # Noise in the Pingjiang historic quarter: bars and tourists, handled at once with the city managers.
    ("environment.noise", "GS-PJ01", "immediate", [("environment", "lead"), ("urban_mgmt", "separate")]),
]

GRIDS = {
    "GS-PJ01": "平江历史街区网格",
    "GS-PJ02": "拙政园网格",
    "GS-ST01": "双塔网格",
    "GS-ST02": "葑门网格",
    "GS-JC01": "石路网格",
}

# name, kind, address, lat, long, grids
STATIONS = [
    ("平江街道人大代表联络站", "station", "姑苏区平江路 168 号", 31.3166, 120.6336, ["GS-PJ01", "GS-PJ02"]),
    ("双塔街道人大代表之家", "home", "姑苏区十全街 280 号", 31.2942, 120.6327, ["GS-ST01", "GS-ST02"]),
    ("金阊街道人大代表联络点", "point", "姑苏区石路 88 号", 31.3147, 120.6052, ["GS-JC01"]),
]

# name, level, station index
DEPUTIES = [
    ("陈建国", "city", 0),
    ("李秀兰", "county", 0),
    ("王志强", "county", 1),
    ("张丽华", "county", 1),
    ("刘伟", "provincial", 2),
    ("周敏", "county", 2),
]


@dataclass
class DemoResult:
    created: bool
    jurisdiction_id: int
    intake_tokens: list[tuple[str, str]]  # (owner name, token)
    keys: dict[str, Any]


async def _intake_tokens(session: AsyncSession, jurisdiction_id: int) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(Deputy.name, Station.name, IntakeCode.token)
        .select_from(IntakeCode)
        .outerjoin(Deputy, Deputy.id == IntakeCode.deputy_id)
        .outerjoin(Station, Station.id == IntakeCode.station_id)
        .where(IntakeCode.jurisdiction_id == jurisdiction_id, IntakeCode.status == "active")
        .order_by(IntakeCode.id)
    )
    return [(deputy or station or "", token) for deputy, station, token in rows]


def write_keys_file(path: Path, keys: dict[str, Any]) -> None:
    """Writes the demo's plain keys (readable by the owner only); call after the transaction committed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keys, ensure_ascii=False, indent=2), encoding="utf-8")
    path.chmod(0o600)


async def load_demo(session: AsyncSession) -> DemoResult:
    existing = await session.scalar(select(Jurisdiction).where(Jurisdiction.code == CODE))
    if existing is not None:
        return DemoResult(False, existing.id, await _intake_tokens(session, existing.id), {})

    jurisdiction = await create_jurisdiction(session, CODE, NAME)
    jid = jurisdiction.id

    grids = {code: Grid(jurisdiction_id=jid, code=code, name=name) for code, name in GRIDS.items()}
    committees = {
        code: Committee(jurisdiction_id=jid, code=code, name=name) for code, name in COMMITTEES.items()
    }
    departments = {
        code: Department(jurisdiction_id=jid, code=code, name=name) for code, name in DEPARTMENTS.items()
    }
    session.add_all([*grids.values(), *committees.values(), *departments.values()])
    await session.flush()
    jurisdiction.fallback_department_id = departments[FALLBACK].id

    categories: dict[str, Category] = {}
    for code, (name, committee, tier, subs) in TAXONOMY.items():
        top = Category(
            jurisdiction_id=jid,
            code=code,
            name=name,
            committee_id=committees[committee].id,
            default_tier=tier,
        )
        session.add(top)
        await session.flush()
        categories[code] = top
        for sub_code, sub_name, sub_tier in subs:
            sub = Category(
                jurisdiction_id=jid,
                code=f"{code}.{sub_code}",
                name=sub_name,
                parent_id=top.id,
                committee_id=committees[committee].id,
                default_tier=sub_tier or tier,
            )
            session.add(sub)
            categories[sub.code] = sub
    await session.flush()
    session.add_all(
        ClassifierTerm(jurisdiction_id=jid, category_id=categories[code].id, term=term, weight=weight)
        for code, terms in demo_terms().items()
        for term, weight in terms
    )

    for category_code, grid_code, rule_tier, assignments in RULES:
        rule = RoutingRule(
            jurisdiction_id=jid,
            category_id=categories[category_code].id,
            grid_id=grids[grid_code].id if grid_code else None,
            tier=rule_tier,
        )
        session.add(rule)
        await session.flush()
        session.add_all(
            RoutingRuleAssignment(rule_id=rule.id, department_id=departments[d].id, role=role)
            for d, role in assignments
        )

    stations: list[Station] = []
    for name, kind, address, lat, long, station_grid_codes in STATIONS:
        station = Station(jurisdiction_id=jid, name=name, kind=kind, address=address, lat=lat, long=long)
        session.add(station)
        await session.flush()
        await session.execute(
            insert(station_grids),
            [
                {"station_id": station.id, "grid_id": grids[g].id, "position": i}
                for i, g in enumerate(station_grid_codes)
            ],
        )
        stations.append(station)

    deputies: list[Deputy] = []
    for name, level, station_index in DEPUTIES:
        deputy = Deputy(jurisdiction_id=jid, name=name, level=level)
        session.add(deputy)
        await session.flush()
        await session.execute(
            insert(deputy_stations).values(
                deputy_id=deputy.id, station_id=stations[station_index].id, position=0
            )
        )
        deputies.append(deputy)

    session.add_all(
        IntakeCode(jurisdiction_id=jid, token=new_intake_token(), owner_type="deputy", deputy_id=d.id)
        for d in deputies
    )
    session.add_all(
        IntakeCode(jurisdiction_id=jid, token=new_intake_token(), owner_type="station", station_id=s.id)
        for s in stations
    )
    await session.flush()

    keys: dict[str, Any] = {"jurisdiction": CODE, "departments": {}, "deputies": {}}
    key_ids: dict[str, int] = {}
    for role in ("admin", "dispatcher", "supervisor", "integrator"):
        row, secret = await create_api_key(session, jid, role, name=f"demo {role}")
        keys[role] = secret
        key_ids[role] = row.id
    for code, department in departments.items():
        _, secret = await create_api_key(
            session, jid, "department", name=f"demo {department.name}", department_id=department.id
        )
        keys["departments"][code] = {"department_id": department.id, "name": department.name, "key": secret}
    for deputy in deputies:
        _, secret = await create_api_key(
            session, jid, "deputy", name=f"demo {deputy.name}", deputy_id=deputy.id
        )
        keys["deputies"][deputy.name] = {"deputy_id": deputy.id, "key": secret}

    work = await load_deputy_work(
        session, jid, stations, deputies, [station for _, _, station in DEPUTIES], key_ids["admin"]
    )
    keys["suggestions"] = work.suggestions
    keys["adopted_case"] = work.adopted_case

    return DemoResult(True, jid, await _intake_tokens(session, jid), keys)

"""What the generated cases refer to: the demo jurisdiction (loaded if absent) widened to ~20 departments,
read once into a picklable ``World`` that the loader processes share."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.demo import CODE, RULES, load_demo
from shared.db.engine import build_engine, transaction
from shared.db.models import (
    Category,
    Department,
    Deputy,
    IntakeCode,
    Jurisdiction,
    deputy_stations,
    station_grids,
)
from shared.security.pii import encrypt

# Street offices and services the demo's eight bureaus hand work to; brings the jurisdiction to 20 units.
EXTRA_DEPARTMENTS = {
    "street_pingjiang": "平江街道办事处",
    "street_shuangta": "双塔街道办事处",
    "street_jinchang": "金阊街道办事处",
    "street_canglang": "沧浪街道办事处",
    "street_huqiu": "虎丘街道办事处",
    "police": "区公安分局",
    "culture_tourism": "区文化体育和旅游局",
    "civil_affairs": "区民政局",
    "health": "区卫生健康委员会",
    "water_company": "区水务集团",
    "power_supply": "区供电公司",
    "fire": "区消防救援大队",
}

# The offset of Asia/Shanghai (no daylight saving): tracking numbers carry the local date.
SHANGHAI_OFFSET = timedelta(hours=8)

# The tables the generator fills, in load order (parents first); all but the search terms have an id column.
SEARCH_TERMS = "case_search_terms"
TABLES = (
    "cases", SEARCH_TERMS, "assignments", "case_events", "deadlines", "replies", "feedback",
    "supervision_changes",
)  # fmt: skip
ID_TABLES = tuple(t for t in TABLES if t != SEARCH_TERMS)


@dataclass(frozen=True)
class Leaf:
    id: int
    top: str  # top-level category code: picks the routing rule's departments
    tier: str


@dataclass(frozen=True)
class Code:
    id: int
    deputy_id: int | None
    station_id: int


@dataclass
class World:
    jurisdiction_id: int
    code: str
    categories: tuple[Leaf, ...]
    # top-level category code -> (lead department, co-handler or None), from the demo's routing rules
    routes: dict[str, tuple[int, int | None]]
    departments: tuple[int, ...]
    department_names: dict[int, str]
    extra_departments: tuple[int, ...]
    codes: tuple[Code, ...]
    station_grids: dict[int, tuple[int, ...]]
    pii: tuple[tuple[bytes, bytes], ...]
    cases: int
    start: datetime
    span_seconds: float
    now: datetime
    seed: int
    case_base: int
    # First id of each table's id space; chunk k owns [base + k * chunk * per_case, ...) of it.
    bases: dict[str, int] = field(default_factory=dict)
    # Suffixes already taken per local day (tracking_counters), so a second load never reuses a number.
    day_offsets: dict[date, int] = field(default_factory=dict)


async def _ensure_departments(session: AsyncSession, jurisdiction_id: int) -> None:
    have = set(
        (await session.execute(select(Department.code).where(Department.jurisdiction_id == jurisdiction_id)))
        .scalars()
        .all()
    )
    session.add_all(
        Department(jurisdiction_id=jurisdiction_id, code=code, name=name)
        for code, name in EXTRA_DEPARTMENTS.items()
        if code not in have
    )
    await session.flush()


async def _read_world(
    session: AsyncSession, *, cases: int, months: int, seed: int, chunk: int, per_case: dict[str, int]
) -> World:
    await load_demo(session)
    jid = (await session.execute(select(Jurisdiction.id).where(Jurisdiction.code == CODE))).scalar_one()
    await _ensure_departments(session, jid)
    units = (
        await session.execute(
            select(Department.code, Department.id, Department.name).where(Department.jurisdiction_id == jid)
        )
    ).all()
    departments = {code: id_ for code, id_, _ in units}
    categories = list(
        (await session.execute(select(Category).where(Category.jurisdiction_id == jid))).scalars().all()
    )
    by_id = {c.id: c for c in categories}
    leaves = tuple(
        Leaf(c.id, by_id[c.parent_id].code if c.parent_id else c.code, c.default_tier)
        for c in sorted(categories, key=lambda c: c.id)
    )
    routes: dict[str, tuple[int, int | None]] = {}
    for category_code, grid_code, _tier, rule_units in RULES:
        if grid_code is None:
            lead = next(departments[d] for d, role in rule_units if role == "lead")
            co = next((departments[d] for d, role in rule_units if role == "co"), None)
            routes[category_code] = (lead, co)
    deputy_station = {
        d: s
        for d, s in await session.execute(select(deputy_stations.c.deputy_id, deputy_stations.c.station_id))
    }
    grids: dict[int, list[int]] = {}
    for station_id, grid_id in await session.execute(
        select(station_grids.c.station_id, station_grids.c.grid_id).order_by(station_grids.c.position)
    ):
        grids.setdefault(station_id, []).append(grid_id)
    codes = tuple(
        Code(
            c.id, c.deputy_id, c.station_id if c.station_id is not None else deputy_station[c.deputy_id or 0]
        )
        for c in (
            await session.execute(
                select(IntakeCode).where(IntakeCode.jurisdiction_id == jid).order_by(IntakeCode.id)
            )
        ).scalars()
    )
    deputies = (await session.execute(select(Deputy.id).where(Deputy.jurisdiction_id == jid))).scalars().all()
    if not deputies or not codes:
        raise RuntimeError("the demo jurisdiction has no deputies or intake codes")
    # Fernet costs ~50 µs a row: a small pool of real ciphertexts stands in for the few cases that keep PII.
    pii = tuple(
        (encrypt(name) or b"", encrypt(phone) or b"")
        for name, phone in (
            ("张三", "13812345678"),
            ("李四", "13987654321"),
            ("王五", "13700001111"),
            ("赵六", "15012340000"),
            ("钱七", "18600002222"),
            ("孙八", "13300003333"),
        )
    )
    now = datetime.now(UTC).replace(microsecond=0)
    end = now - timedelta(minutes=10)
    start = end - timedelta(days=round(months * 30.44))
    maxima = {}
    for table in ID_TABLES:
        query = text(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608 (our own table names)
        maxima[table] = (await session.execute(query)).scalar_one()
    chunks = -(-cases // chunk)
    bases = {"cases": maxima["cases"] + 1}
    for table, n in per_case.items():
        bases[table] = maxima[table] + 1
        assert chunks * chunk * n < 2**62, table
    offsets = {
        day: value - 1
        for day, value in await session.execute(
            text("SELECT day, next_value FROM tracking_counters WHERE jurisdiction_id = :j"), {"j": jid}
        )
    }
    return World(
        jurisdiction_id=jid,
        code=CODE,
        categories=leaves,
        routes=routes,
        departments=tuple(sorted(departments.values())),
        department_names={id_: name for _, id_, name in units},
        extra_departments=tuple(departments[c] for c in EXTRA_DEPARTMENTS),
        codes=codes,
        station_grids={s: tuple(g) for s, g in grids.items()},
        pii=pii,
        cases=cases,
        start=start,
        span_seconds=(end - start).total_seconds(),
        now=now,
        seed=seed,
        case_base=maxima["cases"] + 1,
        bases=bases,
        day_offsets=offsets,
    )


def read_world(
    url: str, *, cases: int, months: int, seed: int, chunk: int, per_case: dict[str, int]
) -> World:
    """Loads the demo if absent, adds the extra departments and reads everything the generator refers to."""

    async def run() -> World:
        engine = build_engine(url, pool_size=1)
        try:
            async with transaction(engine) as session:
                return await _read_world(
                    session, cases=cases, months=months, seed=seed, chunk=chunk, per_case=per_case
                )
        finally:
            await engine.dispose()

    return asyncio.run(run())


# --- text pools: realistic Chinese content without generating prose per row (descriptions: texts.py) ---------------------------------

TITLES = {
    "urban": ["垃圾桶满溢无人清运", "人行道占道经营", "违章搭建影响通行", "路灯不亮", "绿化带被毁"],
    "housing": ["物业不作为", "电梯频繁故障", "二次供水水质差", "老旧小区改造进度慢", "楼道墙面渗水"],
    "transport": ["小区周边乱停车", "红绿灯时长不合理", "公交站点撤销不便", "路口拥堵严重"],
    "environment": ["夜间施工噪声扰民", "餐饮油烟直排", "河道发黑发臭", "垃圾分类点设置不合理"],
    "utilities": ["小区频繁停水", "电压不稳", "燃气管道老化", "通信信号差"],
    "market": ["学校周边食品安全隐患", "预付卡商家跑路", "商品明码标价不实", "无证经营摊点"],
    "social": ["拖欠农民工工资", "医保报销流程繁琐", "社区养老服务不足", "低保申请进度咨询"],
    "edu_health": ["入学划片不合理", "校外培训乱收费", "校门口交通安全", "社区医院就医难"],
    "rural_safety": ["村道破损", "宅基地审批慢", "惠农补贴未到账", "消防通道被占用", "夜间酒吧扰民"],
}
REPLY_TEXTS = [
    "经现场核查，情况属实，已责成相关单位于三日内整改完毕，并加强日常巡查。",
    "已约谈物业服务企业，明确整改时限，后续将纳入考核。",
    "该事项涉及多部门职责，已召开协调会，明确分工，正在推进中。",
    "经核实，相关政策规定如下，已电话告知反映人并做好解释工作。",
    "已安排专项资金，列入明年实施计划，届时将予以解决。",
]
PROGRESS_TEXTS = ["已派员现场查看", "已联系反映人了解详细情况", "已会同街道开展联合执法", "正在制定整改方案"]
OPINION_TEXTS = ["同意牵头单位处理意见，我单位将配合做好相关工作。", "建议由街道牵头，我单位予以配合。"]
DECLINE_REASONS = ["不属于本单位职责范围，建议转街道办事处", "该事项由市级部门负责，建议改派"]
COMMENTS = [None, None, None, "处理及时，感谢", "问题只解决了一部分", "至今没有变化", "态度很好"]

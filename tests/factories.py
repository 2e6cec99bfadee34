"""Builders of real rows for tests: a small jurisdiction with every kind of object, and API keys."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import (
    ApiKey,
    Category,
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
from shared.security.keys import new_api_key, new_intake_token


@dataclass
class World:
    jurisdiction: Jurisdiction
    grids: dict[str, Grid]
    station: Station
    deputy: Deputy
    deputy_code: IntakeCode
    station_code: IntakeCode
    committee: Committee
    categories: dict[str, Category]
    departments: dict[str, Department]
    keys: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


async def add_key(
    session: AsyncSession,
    jurisdiction_id: int,
    role: str,
    *,
    department_id: int | None = None,
    deputy_id: int | None = None,
) -> str:
    key = new_api_key()
    session.add(
        ApiKey(
            jurisdiction_id=jurisdiction_id,
            role=role,
            prefix=key.prefix,
            key_hash=key.key_hash,
            department_id=department_id,
            deputy_id=deputy_id,
            name=f"test {role}",
        )
    )
    await session.flush()
    return key.secret


async def build_world(session: AsyncSession, code: str = "GS", name: str = "姑苏区") -> World:
    """Two grids, one station serving both, a deputy with a code, a station code, a small taxonomy,
    three departments (one the fallback), one rule per top-level category, and a key per role.

    Rules: urban -> urban_mgmt (lead, tier week); environment -> environment (lead) + urban_mgmt (co);
    environment in grid G2 -> environment (lead) + street_office (separate), tier immediate.
    """
    jurisdiction = Jurisdiction(code=code, name=name)
    session.add(jurisdiction)
    await session.flush()
    jid = jurisdiction.id
    grids = {g: Grid(jurisdiction_id=jid, code=f"{code}-{g}", name=f"{g}网格") for g in ("G1", "G2")}
    session.add_all(grids.values())
    station = Station(jurisdiction_id=jid, name="双塔街道代表联络站", kind="station", address="双塔街道1号")
    deputy = Deputy(jurisdiction_id=jid, name="王代表", level="county")
    session.add_all([station, deputy])
    await session.flush()
    await session.execute(
        insert(station_grids),
        [
            {"station_id": station.id, "grid_id": grids["G1"].id, "position": 0},
            {"station_id": station.id, "grid_id": grids["G2"].id, "position": 1},
        ],
    )
    await session.execute(
        insert(deputy_stations).values(deputy_id=deputy.id, station_id=station.id, position=0)
    )
    deputy_code = IntakeCode(
        jurisdiction_id=jid, token=new_intake_token(), owner_type="deputy", deputy_id=deputy.id
    )
    station_code = IntakeCode(
        jurisdiction_id=jid, token=new_intake_token(), owner_type="station", station_id=station.id
    )
    committee = Committee(jurisdiction_id=jid, code="urban", name="城建环保工委")
    session.add_all([deputy_code, station_code, committee])
    await session.flush()
    urban = Category(jurisdiction_id=jid, code="urban", name="城市管理", committee_id=committee.id)
    env = Category(jurisdiction_id=jid, code="environment", name="生态环境", committee_id=committee.id)
    session.add_all([urban, env])
    await session.flush()
    sanitation = Category(
        jurisdiction_id=jid,
        code="urban.sanitation",
        name="市容环卫",
        parent_id=urban.id,
        committee_id=committee.id,
    )
    noise = Category(
        jurisdiction_id=jid,
        code="environment.noise",
        name="噪声",
        parent_id=env.id,
        committee_id=committee.id,
    )
    session.add_all([sanitation, noise])
    departments = {
        d: Department(jurisdiction_id=jid, code=d, name=n)
        for d, n in (
            ("urban_mgmt", "区城管局"),
            ("environment", "区生态环境局"),
            ("street_office", "双塔街道办事处"),
        )
    }
    session.add_all(departments.values())
    await session.flush()
    jurisdiction.fallback_department_id = departments["street_office"].id
    rules = [
        (urban, None, "week", [("urban_mgmt", "lead")]),
        (env, None, "week", [("environment", "lead"), ("urban_mgmt", "co")]),
        (env, grids["G2"], "immediate", [("environment", "lead"), ("street_office", "separate")]),
    ]
    for category, grid, tier, assignments in rules:
        rule = RoutingRule(
            jurisdiction_id=jid, category_id=category.id, grid_id=grid.id if grid else None, tier=tier
        )
        session.add(rule)
        await session.flush()
        session.add_all(
            RoutingRuleAssignment(rule_id=rule.id, department_id=departments[d].id, role=role)
            for d, role in assignments
        )
    await session.flush()
    world = World(
        jurisdiction=jurisdiction,
        grids=grids,
        station=station,
        deputy=deputy,
        deputy_code=deputy_code,
        station_code=station_code,
        committee=committee,
        categories={c.code: c for c in (urban, env, sanitation, noise)},
        departments=departments,
    )
    for role in ("admin", "dispatcher", "supervisor", "integrator"):
        world.keys[role] = await add_key(session, jid, role)
    for dept_code, dept in departments.items():
        world.keys[f"dept:{dept_code}"] = await add_key(session, jid, "department", department_id=dept.id)
    world.keys["deputy"] = await add_key(session, jid, "deputy", deputy_id=deputy.id)
    return world


async def add_deputy(session: AsyncSession, world: World, name: str, *, key: str | None = None) -> Deputy:
    """Another deputy of the world's jurisdiction (flushed); with ``key``, a deputy API key for them kept as
    ``world.keys[key]``."""
    deputy = Deputy(jurisdiction_id=world.jurisdiction.id, name=name, level="county")
    session.add(deputy)
    await session.flush()
    if key is not None:
        world.keys[key] = await add_key(session, world.jurisdiction.id, "deputy", deputy_id=deputy.id)
    return deputy

"""The citizens' hot paths: one round trip per submission (after the abuse limits' one), cached code facts that never outlive a
revocation, and scan counts written in batches that survive a clean shutdown."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import event, func, select, update
from starlette.requests import Request

from intake_api.app import create_app
from intake_api.rendering import _env, blank_form
from services.intake.form_page import Choice, IntakeForm
from shared.db.models import Case, Category, Deputy, IntakeCode, OutboxEvent, Station
from tests.asgi import client_for, running
from tests.intake_api.conftest import submit


async def _scan_count(session, code_id: int) -> int:
    query = select(IntakeCode.scan_count).where(IntakeCode.id == code_id)
    return (await session.execute(query.execution_options(populate_existing=True))).scalar_one()


async def _cases(session) -> int:
    return (await session.execute(select(func.count()).select_from(Case))).scalar_one()


async def test_a_submission_through_a_known_code_is_one_round_trip(app, client, world, session):
    assert (
        await submit(client, world.station_code.token, category_code="urban.sanitation")
    ).status_code == 201
    statements: list[str] = []
    event.listen(
        app.state.autocommit_engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2])
    )
    response = await submit(client, world.station_code.token, category_code="urban.sanitation")
    assert response.status_code == 201
    # The abuse limits' counters (one UPSERT for the address and the code), then the submission itself.
    assert len(statements) == 2
    assert statements[0].lstrip().startswith("INSERT INTO rate_limits")
    assert statements[1].lstrip().startswith("WITH code AS")
    outbox = (
        await session.execute(select(OutboxEvent).order_by(OutboxEvent.id.desc()).limit(1))
    ).scalar_one()
    assert outbox.payload["tracking_no"] == response.json()["tracking_no"]
    assert outbox.payload["category_code"] == "urban.sanitation"


async def test_a_code_revoked_after_it_was_cached_refuses_at_once(client, world, session):
    token = world.station_code.token
    assert (await submit(client, token)).status_code == 201
    assert (await client.get(f"/c/{token}")).status_code == 200
    await session.execute(
        update(IntakeCode).where(IntakeCode.id == world.station_code.id).values(status="revoked")
    )
    await session.commit()
    assert (await submit(client, token)).status_code == 410
    assert (await client.get(f"/c/{token}")).status_code == 410
    assert (await submit(client, token)).status_code == 410  # read afresh, still gone
    assert await _cases(session) == 1


async def test_an_owner_deactivated_after_caching_refuses_and_a_reactivated_one_accepts(
    client, world, session
):
    assert (await submit(client, world.deputy_code.token)).status_code == 201
    assert (await submit(client, world.station_code.token)).status_code == 201
    await session.execute(update(Deputy).where(Deputy.id == world.deputy.id).values(active=False))
    await session.execute(update(Station).where(Station.id == world.station.id).values(active=False))
    await session.commit()
    assert (await submit(client, world.deputy_code.token)).status_code == 410
    assert (await submit(client, world.station_code.token)).status_code == 410
    assert (await client.get(f"/c/{world.deputy_code.token}")).status_code == 410

    await session.execute(update(Deputy).where(Deputy.id == world.deputy.id).values(active=True))
    await session.commit()
    assert (await submit(client, world.deputy_code.token)).status_code == 201
    assert await _cases(session) == 3


async def test_a_category_deactivated_after_caching_is_refused(client, world, session):
    token = world.station_code.token
    assert (await submit(client, token, category_code="urban.sanitation")).status_code == 201
    category_id = world.categories["urban.sanitation"].id
    await session.execute(update(Category).where(Category.id == category_id).values(active=False))
    await session.commit()
    refused = await submit(client, token, category_code="urban.sanitation")
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == [
        {"field": "category_code", "message": "问题分类不存在或已停用，请重新选择"}
    ]
    assert await _cases(session) == 1


async def test_scans_are_counted_in_batches_and_flushed_on_shutdown(engine, world, session):
    app = create_app(engine)
    async with running(app), client_for(app) as client:
        for _ in range(3):
            assert (await client.get(f"/c/{world.deputy_code.token}")).status_code == 200
        assert app.state.scans.pending == 3
        assert await _scan_count(session, world.deputy_code.id) == 0  # not a write per scan
        await app.state.scans.flush()
        assert app.state.scans.pending == 0
        assert await _scan_count(session, world.deputy_code.id) == 3
        assert (await client.get(f"/c/{world.deputy_code.token}")).status_code == 200
        assert (await client.get(f"/c/{world.station_code.token}")).status_code == 200
    # The app's shutdown wrote what was still counted.
    assert await _scan_count(session, world.deputy_code.id) == 4
    assert await _scan_count(session, world.station_code.id) == 1


async def test_a_failed_scan_flush_keeps_the_counts(app, client, world, session, monkeypatch):
    assert (await client.get(f"/c/{world.station_code.token}")).status_code == 200
    scans = app.state.scans

    class Down:
        def begin(self) -> None:
            raise ConnectionError("database away")

    real = scans._engine
    monkeypatch.setattr(scans, "_engine", Down())
    with pytest.raises(ConnectionError):
        await scans.flush()
    assert scans.pending == 1
    monkeypatch.setattr(scans, "_engine", real)
    await scans.flush()
    assert await _scan_count(session, world.station_code.id) == 1


async def test_an_admin_change_shows_on_the_next_scan_of_this_process(client, world):
    assert "双塔街道代表联络站" in (await client.get(f"/c/{world.station_code.token}")).text
    admin = world.auth("admin")
    renamed = await client.patch(
        f"/v1/stations/{world.station.id}", json={"name": "平江街道代表联络站"}, headers=admin
    )
    assert renamed.status_code == 200, renamed.text
    page = (await client.get(f"/c/{world.station_code.token}")).text
    assert "平江街道代表联络站" in page and "双塔街道代表联络站" not in page


def test_the_cached_blank_form_is_the_template_rendered_with_the_key():
    form = IntakeForm(
        token="tok",
        owner_type="station",
        owner_name="联络站<甲>",
        owner_title="平江路 1 号",
        station_name=None,
        categories=(Choice("urban", "城市管理", (Choice("urban.sanitation", "市容环卫"),)),),
        request_types=(Choice("suggestion", "建议"),),
        urgencies=(Choice("normal", "一般"),),
        grids=(),
        submission_key="nonce.abc",
    )
    for key, size, switch in (
        ("nonce.abc", "normal", "/c/tok?size=large"),
        ("other.def", "large", "/c/tok?size=normal"),
    ):
        keyed = replace(form, submission_key=key)
        expected = _env.get_template("intake_form.html").render(
            form=keyed, values={}, errors={}, large=size == "large", size_href=switch
        )
        scan = Request(
            {
                "type": "http",
                "method": "GET",
                "path": "/c/tok",
                "query_string": f"size={size}".encode(),
                "headers": [],
            }
        )
        assert blank_form(scan, keyed).body.decode() == expected

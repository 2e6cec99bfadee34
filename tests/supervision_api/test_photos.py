"""Reading a case's photos: staff and dispatchers on supervision_api, the departments on the case on
routing_api; nobody else, and not a department that declined the case or was withdrawn from it."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from PIL import Image

from routing_api.app import create_app as create_routing_app
from shared.db.enums import AssignmentRole, AssignmentStatus
from shared.db.models import Assignment, Photo
from shared.photo_storage import photo_storage
from tests.asgi import client_for, running
from tests.intake_api.photo_helpers import data_dir, image_bytes
from tests.services.routing.cases import new_case


@pytest.fixture
def photo_dir(tmp_path: Path) -> Iterator[Path]:
    with data_dir(tmp_path) as photos:
        yield photos


@pytest.fixture
async def routing(engine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_routing_app(engine)
    async with running(app), client_for(app) as client:
        yield client


async def _photo(session, world, case_id: int | None, *, code_id: int | None = None) -> Photo:
    storage = photo_storage()
    photo = Photo(
        jurisdiction_id=world.jurisdiction.id,
        intake_code_id=code_id or world.station_code.id,
        case_id=case_id,
        upload_token_hash=f"{case_id}-{datetime.now(UTC).timestamp()}".ljust(64, "0")[:64],
        expires_at=datetime.now(UTC) + timedelta(hours=1),
        content_type="image/png",
        bytes=0,
        width=64,
        height=48,
        sha256="0" * 64,
        storage_key=storage.put(image_bytes("PNG"), "png"),
        thumb_key=storage.put(image_bytes("JPEG", (32, 24)), "jpg"),
    )
    session.add(photo)
    await session.flush()
    return photo


async def _arranged(session, world):
    """A case with one photo, the urban department on it and the environment department that declined it,
    and an upload no case took."""
    case = await new_case(session, world)
    on_case = Assignment(
        jurisdiction_id=world.jurisdiction.id,
        case_id=case.id,
        department_id=world.departments["urban_mgmt"].id,
        role=AssignmentRole.lead,
        status=AssignmentStatus.accepted,
    )
    declined = Assignment(
        jurisdiction_id=world.jurisdiction.id,
        case_id=case.id,
        department_id=world.departments["environment"].id,
        role=AssignmentRole.co,
        status=AssignmentStatus.declined,
    )
    session.add_all([on_case, declined])
    photo = await _photo(session, world, case.id)
    loose = await _photo(session, world, None)
    await session.commit()
    return case, on_case, declined, photo, loose


async def test_staff_and_dispatchers_read_a_cases_photos(client, world, session, photo_dir):
    case, _, _, photo, loose = await _arranged(session, world)
    for who in ("supervisor", "admin", "dispatcher"):
        listed = await client.get(f"/v1/cases/{case.id}/photos", headers=world.auth(who))
        assert listed.status_code == 200, (who, listed.text)
        assert [p["id"] for p in listed.json()] == [photo.id]
        assert listed.json()[0]["content_type"] == "image/png"
        got = await client.get(f"/v1/photos/{photo.id}", headers=world.auth(who))
        assert got.status_code == 200
        assert got.headers["content-type"] == "image/png"
        assert "no-store" in got.headers["cache-control"]
        assert Image.open(io.BytesIO(got.content)).size == (64, 48)
    thumb = await client.get(f"/v1/photos/{photo.id}?thumb=1", headers=world.auth("supervisor"))
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.content)).size == (32, 24)
    # An upload no case took is nobody's to read.
    assert (await client.get(f"/v1/photos/{loose.id}", headers=world.auth("admin"))).status_code == 404


async def test_photos_need_a_staff_key(client, world, session, photo_dir):
    case, _, _, photo, _ = await _arranged(session, world)
    assert (await client.get(f"/v1/cases/{case.id}/photos")).status_code == 401
    assert (await client.get(f"/v1/photos/{photo.id}")).status_code == 401
    bad = {"Authorization": "Bearer mk_nope_nope"}
    assert (await client.get(f"/v1/photos/{photo.id}", headers=bad)).status_code == 401
    for who in ("dept:urban_mgmt", "integrator", "deputy"):
        if who in world.keys:
            response = await client.get(f"/v1/photos/{photo.id}", headers=world.auth(who))
            assert response.status_code == 403, who


async def test_departments_on_the_case_read_its_photos(routing, world, session, photo_dir):
    _, on_case, declined, photo, loose = await _arranged(session, world)
    urban = world.auth("dept:urban_mgmt")
    listed = await routing.get(f"/v1/assignments/{on_case.id}/photos", headers=urban)
    assert listed.status_code == 200, listed.text
    assert [p["id"] for p in listed.json()] == [photo.id]
    got = await routing.get(f"/v1/assignments/{on_case.id}/photos/{photo.id}", headers=urban)
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    thumb = await routing.get(f"/v1/assignments/{on_case.id}/photos/{photo.id}?thumb=1", headers=urban)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    # A photo of another case (or of none) is not reached through this assignment.
    other = await new_case(session, world)
    foreign = await _photo(session, world, other.id)
    await session.commit()
    for photo_id in (foreign.id, loose.id):
        response = await routing.get(f"/v1/assignments/{on_case.id}/photos/{photo_id}", headers=urban)
        assert response.status_code == 404

    environment = world.auth("dept:environment")
    assert (
        await routing.get(f"/v1/assignments/{declined.id}/photos", headers=environment)
    ).status_code == 404
    response = await routing.get(f"/v1/assignments/{declined.id}/photos/{photo.id}", headers=environment)
    assert response.status_code == 404
    # Another department's assignment is not this department's to read through.
    assert (await routing.get(f"/v1/assignments/{on_case.id}/photos", headers=environment)).status_code == 404
    assert (await routing.get(f"/v1/assignments/{on_case.id}/photos")).status_code == 401

"""An intake code's life: rotation (the old token answers 410 and takes nothing, even from another process's
cache), scan counts and last_scanned_at kept by the batched flush, and QR images that decode at any size."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import zxingcpp
from PIL import Image, ImageDraw
from sqlalchemy import func, select

from intake_api.app import create_app
from services.intake import qr
from shared.db.models import Case
from shared.settings import get_settings
from tests.asgi import client_for, running
from tests.intake_api.conftest import submit

REPLACED = "该二维码已更换，请扫描新的二维码"


async def test_rotation_gives_a_new_token_and_the_old_one_answers_410(app, client, world, session, engine):
    admin = world.auth("admin")
    code_id, old = world.deputy_code.id, world.deputy_code.token
    assert (await submit(client, old)).status_code == 201
    assert (await client.get(f"/c/{old}")).status_code == 200

    # Another process has the old token in its directory cache (5 s) when this one rotates.
    other = create_app(engine)
    async with running(other), client_for(other) as other_client:
        assert (await other_client.get(f"/c/{old}")).status_code == 200

        rotated = await client.post(f"/v1/intake-codes/{code_id}/rotate", headers=admin)
        assert rotated.status_code == 200, rotated.text
        body = rotated.json()
        new = body["token"]
        assert new != old and body["id"] == code_id and body["status"] == "active"
        assert body["url"] == f"{get_settings().public_url}/c/{new}"
        assert body["rotated_at"] is not None

        for c in (client, other_client):
            page = await c.get(f"/c/{old}")
            assert page.status_code == 410 and REPLACED in page.text
            refused = await submit(c, old)
            assert refused.status_code == 410
            assert refused.json()["error"] == {
                "code": "intake_code_replaced",
                "message": REPLACED,
                "details": [],
            }
            form = await c.post(f"/c/{old}", data={"description": "路灯坏了好几天，晚上很黑"})
            assert form.status_code == 410 and REPLACED in form.text
        await other.state.scans.flush()

    assert (await client.get(f"/c/{new}")).status_code == 200
    assert (await submit(client, new)).status_code == 201
    cases = (
        await session.execute(select(func.count(Case.id)).where(Case.intake_code_id == code_id))
    ).scalar_one()
    assert cases == 2  # one before and one after: nothing through the old token after rotation

    await app.state.scans.flush()
    after = (await client.get(f"/v1/intake-codes/{code_id}", headers=admin)).json()
    # Counts survive: the scans of both tokens (here and in the other process), both submissions.
    assert after["scan_count"] == 3 and after["submission_count"] == 2

    # Rotating again retires the second token too; a revoked code cannot be rotated.
    again = (await client.post(f"/v1/intake-codes/{code_id}/rotate", headers=admin)).json()
    assert (await submit(client, new)).status_code == 410
    assert (await client.post(f"/v1/intake-codes/{code_id}/revoke", headers=admin)).status_code == 200
    refused = await client.post(f"/v1/intake-codes/{code_id}/rotate", headers=admin)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "intake_code_revoked"
    # A revoked code's current token is "no longer in use", not "replaced".
    gone = await submit(client, again["token"])
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "intake_code_gone"


async def test_rotation_is_admin_only_and_within_the_jurisdiction(client, world):
    path = f"/v1/intake-codes/{world.station_code.id}/rotate"
    assert (await client.post(path)).status_code == 401
    assert (await client.post(path, headers=world.auth("dispatcher"))).status_code == 403
    missing = await client.post("/v1/intake-codes/987654/rotate", headers=world.auth("admin"))
    assert missing.status_code == 404


async def test_last_scanned_at_is_kept_by_the_batched_flush(app, client, world):
    admin = world.auth("admin")
    path = f"/v1/intake-codes/{world.station_code.id}"
    before = (await client.get(path, headers=admin)).json()
    assert before["last_scanned_at"] is None and before["scan_count"] == 0

    assert (await client.get(f"/c/{world.station_code.token}")).status_code == 200
    # Not written per scan: nothing reaches the row until the flush.
    assert (await client.get(path, headers=admin)).json()["last_scanned_at"] is None
    await app.state.scans.flush()
    first = (await client.get(path, headers=admin)).json()
    assert first["scan_count"] == 1 and first["last_scanned_at"] is not None

    assert (await client.get(f"/c/{world.station_code.token}")).status_code == 200
    await app.state.scans.flush()
    second = (await client.get(path, headers=admin)).json()
    assert second["scan_count"] == 2 and second["last_scanned_at"] > first["last_scanned_at"]


def _decode(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image)]


async def test_qr_png_size_is_bounded_and_decodes(client, world):
    admin = world.auth("admin")
    path = f"/v1/intake-codes/{world.deputy_code.id}/qr.png"
    url = f"{get_settings().public_url}/c/{world.deputy_code.token}"
    for size in (qr.MIN_PNG_SIZE, 333, 1000):
        response = await client.get(path, params={"size": size}, headers=admin)
        assert response.status_code == 200
        image = Image.open(io.BytesIO(response.content))
        assert image.size == (size, size)
        assert _decode(image) == [url]
    for size in (qr.MIN_PNG_SIZE - 1, qr.MAX_PNG_SIZE + 1, 0, -5):
        response = await client.get(path, params={"size": size}, headers=admin)
        assert response.status_code == 422, size
        assert response.json()["error"]["details"][0]["field"] == "size"

    # A quiet zone of four modules: the outer band is white all round.
    image = Image.open(io.BytesIO((await client.get(path, params={"box_size": 5}, headers=admin)).content))
    band = image.convert("L").crop((0, 0, image.width, 4 * 5))
    assert band.getextrema() == (255, 255)


def test_symbols_use_error_correction_q():
    data = f"{get_settings().public_url}/c/{'x' * 32}"
    symbol = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.qr_png(data))))[0]
    assert symbol.ec_level == "Q"


async def test_qr_svg_is_vector_and_decodes(client, world):
    admin = world.auth("admin")
    response = await client.get(f"/v1/intake-codes/{world.station_code.id}/qr.svg", headers=admin)
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(response.content)  # noqa: S314 (our own answer, not untrusted input)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    side = int(root.get("viewBox", "").split()[2])
    path = root.find(f"{ns}path")
    assert path is not None and root.find(f"{ns}image") is None  # drawn, not an embedded bitmap

    # Rasterise the path's runs ourselves and decode what they draw.
    scale = 8
    image = Image.new("L", (side * scale, side * scale), 255)
    draw = ImageDraw.Draw(image)
    runs = re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", path.get("d", ""))
    assert runs
    for x, y, w in ((int(a), int(b), int(c)) for a, b, c in runs):
        assert x >= qr.QUIET_ZONE and x + w <= side - qr.QUIET_ZONE  # the quiet zone stays empty
        draw.rectangle([x * scale, y * scale, (x + w) * scale - 1, (y + 1) * scale - 1], fill=0)
    assert _decode(image) == [f"{get_settings().public_url}/c/{world.station_code.token}"]

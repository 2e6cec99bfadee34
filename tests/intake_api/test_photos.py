"""Citizens' photos: the anonymous upload, its cleaning (orientation, size, no metadata), its refusals, and
attaching uploads to a submission (JSON) or sending them with the no-JS form."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select, update

from shared.db.models import Photo
from shared.photo_storage import photo_storage
from tests.intake_api.conftest import case_by_tracking_no, submit
from tests.intake_api.photo_helpers import (
    GPS_IFD,
    bomb_png,
    data_dir,
    heic_with_gps,
    image_bytes,
    jpeg_with_gps,
)


@pytest.fixture
def photo_dir(tmp_path: Path) -> Iterator[Path]:
    with data_dir(tmp_path) as photos:
        yield photos


async def _upload(client, token: str, data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return await client.post(f"/v1/public/codes/{token}/photos", files={"file": (name, data, content_type)})


async def _photos(session) -> list[Photo]:
    query = select(Photo).order_by(Photo.id).execution_options(populate_existing=True)
    return list((await session.execute(query)).scalars())


async def test_a_jpeg_is_turned_upright_shrunk_and_stripped_of_metadata(client, world, session, photo_dir):
    raw = jpeg_with_gps(3000, 1000, orientation=6)
    assert b"PhoneMaker" in raw and b"secret comment" in raw
    response = await _upload(client, world.station_code.token, raw)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["photo_id"].startswith("ph_")
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)

    [photo] = await _photos(session)
    assert photo.case_id is None
    assert photo.upload_token_hash != body["photo_id"]
    stored = photo_storage().get(photo.storage_key)
    image = Image.open(io.BytesIO(stored))
    # Orientation 6 turns the 3000 x 1000 landscape into a portrait; the long edge is at most 2048.
    assert image.size == (683, 2048) == (photo.width, photo.height)
    assert image.format == "JPEG" and photo.content_type == "image/jpeg"
    assert not image.getexif() and GPS_IFD not in image.getexif()
    assert "exif" not in image.info and "icc_profile" not in image.info and "comment" not in image.info
    assert b"PhoneMaker" not in stored and b"secret comment" not in stored and b"Exif" not in stored
    assert photo.bytes == len(stored)
    thumb = Image.open(io.BytesIO(photo_storage().get(photo.thumb_key)))
    assert max(thumb.size) <= 320 and not thumb.getexif()
    # Files live under the data directory, under random keys that say nothing of the case or the photo.
    assert (photo_dir / photo.storage_key).is_file()
    assert re.fullmatch(r"[0-9a-f]{2}/[A-Za-z0-9_-]{43}\.jpg", photo.storage_key)


async def test_png_and_webp_are_accepted(client, world, session, photo_dir):
    # Kept as JPEG unless transparent, then PNG.
    cases = (("PNG", "RGB", "image/jpeg"), ("WEBP", "RGB", "image/jpeg"), ("PNG", "RGBA", "image/png"))
    for fmt, mode, _ in cases:
        data = image_bytes(fmt, mode=mode)
        response = await _upload(client, world.station_code.token, data, f"x.{fmt.lower()}")
        assert response.status_code == 201, (fmt, response.text)
    assert [p.content_type for p in await _photos(session)] == [expected for _, _, expected in cases]


async def test_a_heic_is_stored_upright_as_a_jpeg_without_metadata(client, world, session, photo_dir):
    raw = heic_with_gps(600, 200, orientation=6)
    assert raw[4:12] == b"ftypheic" and b"PhoneMaker" in raw
    response = await _upload(client, world.station_code.token, raw, "IMG_0001.HEIC", "image/heic")
    assert response.status_code == 201, response.text

    [photo] = await _photos(session)
    stored = photo_storage().get(photo.storage_key)
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG" and photo.content_type == "image/jpeg"
    assert photo.storage_key.endswith(".jpg")
    # Turned upright once (the 600 x 200 landscape said orientation 6), and the pixels are the picture's.
    assert image.size == (200, 600) == (photo.width, photo.height)
    red, green, blue = image.convert("RGB").getpixel((100, 300))
    assert red > 150 and green < 80 and blue < 80
    assert not image.getexif() and "exif" not in image.info and "icc_profile" not in image.info
    assert b"PhoneMaker" not in stored and b"Exif" not in stored
    thumb = Image.open(io.BytesIO(photo_storage().get(photo.thumb_key)))
    assert thumb.format == "JPEG" and not thumb.getexif()


async def test_files_that_are_not_photos_are_refused(client, world, session, photo_dir):
    token = world.station_code.token
    for data in (b"just some text, named like a photo", image_bytes("GIF"), image_bytes("BMP"), b""):
        response = await _upload(client, token, data, "holiday.jpg", "image/jpeg")
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "photo_unreadable"
        assert "JPEG" in response.json()["error"]["message"]
    assert await _photos(session) == []


async def test_a_decompression_bomb_is_refused_with_413(client, world, session, photo_dir):
    bomb = bomb_png()
    assert len(bomb) < 200_000
    response = await _upload(client, world.station_code.token, bomb, "bomb.png", "image/png")
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "photo_too_many_pixels"
    assert "像素" in response.json()["error"]["message"]
    assert await _photos(session) == []


async def test_a_file_over_the_limit_is_refused_with_413(client, world, session, photo_dir):
    from shared.settings import get_settings

    settings = get_settings()
    saved = settings.photo_max_bytes
    settings.photo_max_bytes = 10_000
    try:
        response = await _upload(client, world.station_code.token, jpeg_with_gps(600, 400) + b"\0" * 20_000)
    finally:
        settings.photo_max_bytes = saved
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "photo_too_large"
    assert await _photos(session) == []


async def test_unknown_code_takes_no_upload(client, world, photo_dir):
    response = await _upload(client, "no-such-code", image_bytes("PNG"))
    assert response.status_code == 404


async def test_uploads_are_attached_to_the_submission(client, world, session, photo_dir):
    token = world.station_code.token
    ids = [(await _upload(client, token, image_bytes("PNG"))).json()["photo_id"] for _ in range(2)]
    response = await submit(client, token, photo_ids=ids)
    assert response.status_code == 201, response.text
    case = await case_by_tracking_no(session, response.json()["tracking_no"])
    assert [p.case_id for p in await _photos(session)] == [case.id, case.id]
    # Attached: the same ids cannot be used again.
    again = await submit(client, token, photo_ids=ids[:1])
    assert again.status_code == 422
    assert again.json()["error"]["details"][0]["field"] == "photo_ids"


async def test_a_repeated_submission_with_photos_replays(client, world, session, photo_dir):
    token = world.station_code.token
    ids = [(await _upload(client, token, image_bytes("PNG"))).json()["photo_id"]]
    headers = {"Idempotency-Key": "retry-with-photo-1"}
    body = {"description": "平江路垃圾桶满溢三天无人清运，气味很大", "photo_ids": ids}
    first = await client.post(f"/v1/public/codes/{token}/cases", json=body, headers=headers)
    assert first.status_code == 201, first.text
    second = await client.post(f"/v1/public/codes/{token}/cases", json=body, headers=headers)
    assert second.status_code == 200, second.text
    assert second.json()["tracking_no"] == first.json()["tracking_no"]


async def test_five_photos_are_refused(client, world, session, photo_dir):
    token = world.station_code.token
    ids = [(await _upload(client, token, image_bytes("PNG"))).json()["photo_id"] for _ in range(5)]
    response = await submit(client, token, photo_ids=ids)
    assert response.status_code == 422
    assert "4" in response.json()["error"]["details"][0]["message"]
    assert all(p.case_id is None for p in await _photos(session))


async def test_expired_foreign_and_made_up_photo_ids_are_refused(client, world, session, photo_dir):
    token = world.station_code.token
    expired = (await _upload(client, token, image_bytes("PNG"))).json()["photo_id"]
    await session.execute(update(Photo).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    await session.commit()
    foreign = (await _upload(client, world.deputy_code.token, image_bytes("PNG"))).json()["photo_id"]
    fresh = (await _upload(client, token, image_bytes("PNG"))).json()["photo_id"]
    for ids in (
        [expired],
        [foreign],
        [fresh, foreign],
        ["ph_" + "a" * 32],
        ["not a photo id"],
        [fresh, fresh],
    ):
        response = await submit(client, token, photo_ids=ids)
        assert response.status_code == 422, (ids, response.text)
        assert response.json()["error"]["details"][0]["field"] == "photo_ids"
    assert all(p.case_id is None for p in await _photos(session))
    # Nothing was made by the refused submissions; the fresh upload still attaches.
    assert (await submit(client, token, photo_ids=[fresh])).status_code == 201


def _hidden_key(html: str) -> str:
    found = re.search(r'name="submission_key" value="([^"]+)"', html)
    assert found
    return found.group(1)


async def _form_post(client, token: str, fields: dict[str, str], photos: list[bytes]):
    key = _hidden_key((await client.get(f"/c/{token}")).text)
    files = [("photos", (f"p{i}.png", data, "image/png")) for i, data in enumerate(photos)]
    # An untouched second file input: browsers send it as an empty, nameless part.
    files.append(("photos", ("", b"", "application/octet-stream")))
    return await client.post(f"/c/{token}", data={"submission_key": key, **fields}, files=files)


async def test_the_form_offers_a_photo_input(client, world):
    html = (await client.get(f"/c/{world.station_code.token}")).text
    assert 'enctype="multipart/form-data"' in html
    assert re.search(r'<input type="file" id="photos" name="photos" accept="image/\*" multiple', html)
    assert 'for="photos"' in html


async def test_the_form_attaches_its_photos_in_the_same_request(client, world, session, photo_dir):
    fields = {"description": "小区东门的路灯坏了一个月，晚上很黑"}
    response = await _form_post(
        client, world.station_code.token, fields, [image_bytes("PNG"), jpeg_with_gps()]
    )
    assert response.status_code == 303, response.text
    tracking_no = response.headers["location"].split("/t/")[1].split("?")[0]
    case = await case_by_tracking_no(session, tracking_no)
    photos = await _photos(session)
    assert [p.case_id for p in photos] == [case.id, case.id]
    assert max(photos[1].width, photos[1].height) == 2048


async def test_a_failed_form_keeps_the_values_and_asks_for_the_photos_again(
    client, world, session, photo_dir
):
    token = world.station_code.token
    fields = {"description": "短", "title": "路灯不亮", "location_text": "东门口"}
    response = await _form_post(client, token, fields, [image_bytes("PNG")])
    assert response.status_code == 422
    html = response.text
    assert 'value="路灯不亮"' in html and 'value="东门口"' in html and ">短</textarea>" in html
    assert "请重新选择照片" in html and 'id="photos-error"' in html
    assert await _photos(session) == []

    # A bad photo: the text is kept, the message names the problem and asks for the photos again.
    fields["description"] = "小区东门的路灯坏了一个月，晚上很黑"
    response = await _form_post(client, token, fields, [b"not an image at all"])
    assert response.status_code == 422
    assert "JPEG" in response.text and "请重新选择照片" in response.text
    assert "小区东门的路灯坏了一个月" in response.text

    five = await _form_post(client, token, fields, [image_bytes("PNG")] * 5)
    assert five.status_code == 422
    assert "最多选择 4 张照片" in five.text
    assert await _photos(session) == []


async def test_public_tracking_never_shows_the_photos(client, world, session, photo_dir):
    token = world.station_code.token
    photo_id = (await _upload(client, token, image_bytes("PNG"))).json()["photo_id"]
    receipt = (await submit(client, token, photo_ids=[photo_id])).json()
    [photo] = await _photos(session)
    assert photo.case_id is not None
    no, key = receipt["tracking_no"], receipt["access_key"]
    public = await client.get(f"/v1/public/cases/{no}?k={key}")
    page = await client.get(f"/t/{no}?k={key}")
    assert public.status_code == 200 and page.status_code == 200
    for text in (public.text, page.text):
        assert photo_id not in text and photo.storage_key not in text and photo.thumb_key not in text
        assert "photo" not in text.lower() and "照片" not in text and "<img" not in text

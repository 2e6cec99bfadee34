"""Scenario 'photos': the cost of a citizen's photo, from the upload to the case it is attached to.

A phone-sized JPEG (12 MP stored 4000 x 3000 with EXIF orientation 6, i.e. a portrait 3000 x 4000; about
2.5 MB; EXIF naming the camera and where it was taken) made with Pillow. Measured:
its re-encode alone (services.intake.photos.process_photo, in this process: decode, orient, shrink, encode,
thumbnail); its upload through the intake service (`POST /v1/public/codes/{token}/photos`, multipart) one at a
time and photo_upload_concurrency at once, each a bounded number of uploads; and JSON submissions naming two
uploaded photos interleaved with submissions naming none (one at a time, so the difference is the
attachment's cost: the uploads' lookup and the update that attaches them).
"""

from __future__ import annotations

import asyncio
import io
import json
import secrets
import time
from typing import Any

import httpx
from PIL import Image
from sqlalchemy import text

from bench import loadgen, stack
from bench.scenarios.intake import BODY, intake_stack
from bench.settings import Settings
from services.intake.photos import process_photo
from shared.settings import get_settings

_GPS_IFD = 0x8825


def phone_jpeg(width: int = 4000, height: int = 3000) -> bytes:
    """A portrait photo as a phone saves it: 12 MP of texture that does not compress to nothing, stored
    sideways, quality 90, EXIF naming the camera, the orientation (6: turn 90° clockwise) and where it was
    taken."""
    colour = Image.merge("RGB", [Image.effect_noise((width // 8, height // 8), 60) for _ in range(3)])
    grad = Image.linear_gradient("L").resize((width, height))
    light = Image.merge("RGB", [grad, grad.transpose(Image.Transpose.FLIP_TOP_BOTTOM), grad.rotate(90)])
    image = Image.blend(colour.resize((width, height), Image.Resampling.BICUBIC), light, 0.4)
    grain = Image.merge("RGB", [Image.effect_noise((width, height), 6) for _ in range(3)])
    image = Image.blend(image, grain, 0.15)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "Phone 12"
    exif.get_ifd(_GPS_IFD).update({1: "N", 2: (31.0, 18.0, 0.0), 3: "E", 4: (120.0, 37.0, 0.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def small_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 90, 40)).save(out, "JPEG", quality=85)
    return out.getvalue()


def _ms(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), **loadgen.summary_ms([v * 1000 for v in values])}


def measure_reencode(raw: bytes, runs: int) -> dict[str, Any]:
    settings = get_settings()
    timings: list[float] = []
    photo = None
    for _ in range(runs):
        started = time.perf_counter()
        photo = process_photo(raw, max_bytes=settings.photo_max_bytes, max_pixels=settings.photo_max_pixels)
        timings.append(time.perf_counter() - started)
    assert photo is not None
    return {
        **_ms(timings),
        "input_bytes": len(raw),
        "output_bytes": len(photo.data),
        "output_size": f"{photo.width}x{photo.height}",
        "thumb_bytes": len(photo.thumb),
    }


def _multipart(raw: bytes) -> tuple[bytes, str]:
    """The upload's body built once, so the client spends nothing per request on encoding it."""
    boundary = "minyi-bench-" + secrets.token_hex(8)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="IMG_0001.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return head + raw + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


async def _uploads(url: str, raw: bytes, count: int, concurrency: int) -> tuple[dict[str, Any], list[str]]:
    """``count`` uploads from ``concurrency`` clients, each sending its next as soon as one is answered."""
    body, content_type = _multipart(raw)
    timings: list[float] = []
    statuses: dict[str, int] = {}
    photo_ids: list[str] = []
    todo = iter(range(count))

    async def client(http: httpx.AsyncClient) -> None:
        for _ in todo:
            started = time.perf_counter()
            response = await http.post(url, content=body, headers={"Content-Type": content_type})
            elapsed = time.perf_counter() - started
            statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
            if response.status_code == 201:
                timings.append(elapsed)
                photo_ids.append(response.json()["photo_id"])

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    figures = {
        **_ms(timings),
        "concurrency": concurrency,
        "uploads_per_second": round(len(timings) / elapsed, 2) if elapsed else None,
        "statuses": statuses,
        "bytes_each": len(raw),
    }
    return figures, photo_ids


async def _submissions(url: str, photo_ids: list[str], count: int) -> dict[str, Any]:
    """One at a time: a submission without photos, then one naming the next two uploads, ``count`` each."""
    plain = json.loads(BODY)
    timings: dict[str, list[float]] = {"without": [], "with_2_photos": []}
    statuses: dict[str, dict[str, int]] = {"without": {}, "with_2_photos": {}}
    headers = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(timeout=30) as http:
        for i in range(count):
            with_photos = {**plain, "photo_ids": photo_ids[2 * i : 2 * i + 2]}
            for label, body in (("without", plain), ("with_2_photos", with_photos)):
                content = json.dumps(body, ensure_ascii=False).encode()
                started = time.perf_counter()
                response = await http.post(url, content=content, headers=headers)
                elapsed = time.perf_counter() - started
                statuses[label][str(response.status_code)] = (
                    statuses[label].get(str(response.status_code), 0) + 1
                )
                if response.status_code == 201:
                    timings[label].append(elapsed)
    return {label: {**_ms(values), "statuses": statuses[label]} for label, values in timings.items()}


def run(server: stack.Server, settings: Settings) -> dict[str, Any]:
    raw = phone_jpeg()
    settings.log(f"photos: re-encoding a {len(raw) / 1e6:.2f} MB 12 MP JPEG {settings.photo_reencodes} times")
    reencode = measure_reencode(raw, settings.photo_reencodes)
    with intake_stack(server, settings) as s:
        base = f"{s.url}/v1/public/codes/{s.token}"
        settings.log(
            f"photos: {settings.photo_uploads_serial} uploads one at a time, {settings.photo_uploads_concurrent}"
            f" at c={settings.photo_upload_concurrency} ({s.workers} worker(s))"
        )
        asyncio.run(_uploads(f"{base}/photos", raw, 2, 1))  # warm-up
        serial, _ = asyncio.run(_uploads(f"{base}/photos", raw, settings.photo_uploads_serial, 1))
        concurrent, _ = asyncio.run(
            _uploads(
                f"{base}/photos", raw, settings.photo_uploads_concurrent, settings.photo_upload_concurrency
            )
        )
        count = settings.photo_submissions
        settings.log(f"photos: {count} submissions with 2 photos interleaved with {count} without")
        small, small_ids = asyncio.run(_uploads(f"{base}/photos", small_jpeg(), 2 * count + 4, 4))
        if len(small_ids) < 2 * count + 4:
            raise RuntimeError(f"photos: uploads for the submissions refused: {small['statuses']}")
        asyncio.run(_submissions(f"{base}/cases", small_ids[:4], 2))  # warm-up
        submissions = asyncio.run(_submissions(f"{base}/cases", small_ids[4:], count))
        engine = stack.engine_for(s.database_url)
        with engine.connect() as conn:
            # Besides the warm-up's four: two per submission with photos, or the figures are not what they say.
            attached = conn.execute(
                text("SELECT count(*) - 4 FROM photos WHERE case_id IS NOT NULL")
            ).scalar_one()
        engine.dispose()
        workers = s.workers
    without = submissions["without"]["p50_ms"]
    with_photos = submissions["with_2_photos"]["p50_ms"]
    return {
        "photos": {
            "service_workers": workers,
            "reencode": reencode,
            "upload_serial": serial,
            "upload_concurrent": concurrent,
            "submission": {
                **submissions,
                "photos_attached": attached,
                "p50_added_ms": round(with_photos - without, 2) if with_photos and without else None,
            },
        }
    }

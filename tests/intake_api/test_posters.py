"""Printable posters: the PDF's text names the owner and prints the URL, and its QR code, rasterised as a
printer would, decodes to that URL; a station's posters.pdf has its own page and one per deputy."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from services.intake import posters
from shared.settings import get_settings

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="poppler-utils (pdftotext, pdftoppm) is not installed here; .ci/run installs it",
)


def _text(pdf: bytes, tmp_path: Path) -> str:
    source = tmp_path / "poster.pdf"
    source.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(source), "-"], check=True, capture_output=True, text=True
    ).stdout


def _pages(pdf: bytes, tmp_path: Path) -> list[Image.Image]:
    source = tmp_path / "poster.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "100", "-png", str(source), str(tmp_path / "page")], check=True)
    return [Image.open(path) for path in sorted(tmp_path.glob("page*.png"))]


def _decoded(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image)]


async def test_a_deputy_poster_names_the_deputy_prints_the_url_and_decodes(client, world, tmp_path):
    admin = world.auth("admin")
    response = await client.get(f"/v1/intake-codes/{world.deputy_code.id}/poster.pdf", headers=admin)
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    url = f"{get_settings().public_url}/c/{world.deputy_code.token}"

    text = _text(response.content, tmp_path)
    assert "王代表" in text and url in text
    assert "区（县）人大代表" in text and "双塔街道代表联络站" in text
    assert "G1网格、G2网格" in text and posters.DEFAULT_CONTACT_DAY in text
    assert all(step in text for step in posters.STEPS)

    (page,) = _pages(response.content, tmp_path)
    # A4 portrait at 100 dpi.
    assert (page.width, page.height) == (827, 1170)
    assert _decoded(page) == [url]


async def test_a_station_poster_names_the_station_and_its_kind(client, world, tmp_path):
    admin = world.auth("admin")
    response = await client.get(f"/v1/intake-codes/{world.station_code.id}/poster.pdf", headers=admin)
    assert response.status_code == 200
    text = _text(response.content, tmp_path)
    assert "双塔街道代表联络站" in text and "代表联络站" in text
    assert f"{get_settings().public_url}/c/{world.station_code.token}" in text


async def test_the_chinese_font_is_embedded_when_one_is_installed(client, world):
    if not posters.WQY_MICROHEI.is_file():
        pytest.skip("fonts-wqy-microhei is not installed here; .ci/run installs it")
    response = await client.get(
        f"/v1/intake-codes/{world.deputy_code.id}/poster.pdf", headers=world.auth("admin")
    )
    assert b"/FontFile2" in response.content  # an embedded TrueType subset
    assert b"STSong-Light" not in response.content


def test_without_a_cjk_font_the_cid_fallback_still_prints_chinese(monkeypatch, tmp_path):
    monkeypatch.setattr(posters, "_font_candidates", lambda: [tmp_path / "missing.ttf"])
    poster = posters.Poster(
        owner_name="李代表",
        owner_lines=("市人大代表",),
        grids=(),
        contact_day=posters.DEFAULT_CONTACT_DAY,
        url="https://minyi.example.cn/c/abcdefghijklmnop",
    )
    pdf = posters.posters_pdf([poster], title="test")
    assert b"STSong-Light" in pdf and b"/FontFile2" not in pdf
    (page,) = _pages(pdf, tmp_path)
    assert _decoded(page) == [poster.url]
    assert poster.url in _text(pdf, tmp_path)


async def test_a_station_prints_its_own_code_and_every_deputys(client, world, tmp_path):
    admin = world.auth("admin")
    second = await client.post(
        "/v1/deputies",
        json={"name": "李代表", "level": "city", "station_ids": [world.station.id]},
        headers=admin,
    )
    assert second.status_code == 201
    deputy_id = second.json()["id"]
    created = await client.post(
        "/v1/intake-codes", json={"owner_type": "deputy", "owner_id": deputy_id}, headers=admin
    )
    assert created.status_code == 201
    revoked = await client.post(
        "/v1/intake-codes", json={"owner_type": "deputy", "owner_id": deputy_id}, headers=admin
    )
    await client.post(f"/v1/intake-codes/{revoked.json()['id']}/revoke", headers=admin)

    response = await client.get(f"/v1/stations/{world.station.id}/posters.pdf", headers=admin)
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    pages = _pages(response.content, tmp_path)
    assert len(pages) == 1 + 2  # the station's code, 王代表's, 李代表's active one (not the revoked)
    urls = [
        f"{get_settings().public_url}/c/{token}"
        for token in (world.station_code.token, world.deputy_code.token, created.json()["token"])
    ]
    assert [_decoded(page) for page in pages] == [[url] for url in urls]
    text = _text(response.content, tmp_path)
    assert "王代表" in text and "李代表" in text


async def test_posters_of_revoked_codes_and_empty_stations_are_refused(client, world):
    admin = world.auth("admin")
    await client.post(f"/v1/intake-codes/{world.station_code.id}/revoke", headers=admin)
    refused = await client.get(f"/v1/intake-codes/{world.station_code.id}/poster.pdf", headers=admin)
    assert refused.status_code == 409
    empty = (
        await client.post("/v1/stations", json={"name": "新联络点", "kind": "point"}, headers=admin)
    ).json()
    nothing = await client.get(f"/v1/stations/{empty['id']}/posters.pdf", headers=admin)
    assert nothing.status_code == 409 and nothing.json()["error"]["code"] == "no_posters_to_print"
    assert (await client.get(f"/v1/stations/{world.station.id}/posters.pdf")).status_code == 401

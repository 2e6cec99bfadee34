"""Images for the photo tests, made in memory with Pillow, and a data directory of the test's own."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pillow_heif
from PIL import Image

from shared.settings import get_settings

GPS_IFD = 0x8825
ORIENTATION = 0x0112


@contextmanager
def data_dir(path: Path) -> Iterator[Path]:
    """MINYI_DATA_DIR set to ``path`` for the duration; answers where the photos go."""
    settings = get_settings()
    saved = settings.data_dir
    settings.data_dir = path
    try:
        yield path / "photos"
    finally:
        settings.data_dir = saved


def jpeg_with_gps(width: int = 3000, height: int = 1000, orientation: int = 6) -> bytes:
    """A landscape JPEG whose EXIF says to turn it (6: 90° clockwise) and where it was taken."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (31.0, 18.0, 0.0), 3: "E", 4: (120.0, 37.0, 0.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), comment=b"secret comment")
    return out.getvalue()


def heic_with_gps(width: int = 600, height: int = 200, orientation: int = 6) -> bytes:
    """A landscape HEIC (as an iPhone takes them) whose EXIF says to turn it and where it was taken."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (31.0, 18.0, 0.0), 3: "E", 4: (120.0, 37.0, 0.0)})
    heif = pillow_heif.from_pillow(image)
    out = io.BytesIO()
    heif.save(out, quality=90, exif=exif.tobytes())
    return out.getvalue()


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (10, 120, 200) if mode == "RGB" else (10, 120, 200, 128)).save(out, fmt)
    return out.getvalue()


def bomb_png() -> bytes:
    """A tiny file announcing a 30000 × 30000 image (900 megapixels)."""
    out = io.BytesIO()
    Image.new("1", (30000, 30000)).save(out, "PNG", optimize=True)
    return out.getvalue()

"""Turning a citizen's upload into a photo fit to keep: recognised by its content (JPEG, PNG, WebP, HEIC),
refused before decoding when its dimensions are absurd (a decompression bomb), turned upright by its EXIF
orientation, shrunk to a long edge of at most 2048 px, and encoded afresh without any metadata (EXIF with
GPS, XMP, ICC, comments): only the pixels are copied to the new image.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from services.intake.errors import PhotoTooLarge, PhotoTooManyPixels, PhotoUnreadable
from shared.errors import MinyiError

LONG_EDGE = 2048
THUMB_EDGE = 320
# Recognised by their content only; a file's name and declared type are not asked.
FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")

# HEIC/HEIF, what iPhones take by default, decoded by libheif (the wheel of pillow-heif). Only the primary
# image is read: the thumbnails, depth maps and auxiliary images a HEIC may carry are never decoded. libheif
# applies the file's own rotation when decoding, and pillow-heif then sets the EXIF orientation to 1, so
# exif_transpose below does not turn the picture a second time.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)


@dataclass(frozen=True)
class ProcessedPhoto:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int
    sha256: str
    thumb: bytes  # always JPEG


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new image holding nothing but the pixels: no info dict, so no EXIF, XMP, ICC or text chunk can be
    carried into the saved file."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    converted = image.convert("RGBA" if has_alpha else "RGB")
    return Image.frombytes(converted.mode, converted.size, converted.tobytes())


def _draft_size(width: int, height: int) -> tuple[int, int]:
    """The smallest decoded size worth asking a JPEG decoder for: 90 % of the final size, so a scale that
    lands just under LONG_EDGE is still taken."""
    scale = min(1.0, LONG_EDGE / max(width, height)) * 0.9
    return max(1, int(width * scale)), max(1, int(height * scale))


def process_photo(raw: bytes, *, max_bytes: int, max_pixels: int) -> ProcessedPhoto:
    """The cleaned photo, or PhotoTooLarge (413), PhotoTooManyPixels (413) or PhotoUnreadable (422)."""
    if len(raw) > max_bytes:
        raise PhotoTooLarge(max_bytes)
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; any such image is refused here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(raw), formats=FORMATS) as opened:
                width, height = opened.size
                if width * height > max_pixels:
                    raise PhotoTooManyPixels()
                # A JPEG far larger than needed is decoded at a half, quarter or eighth of its size: a 12 MP
                # phone photo (4000 px) at half, giving a long edge of 2000 px, a little under LONG_EDGE.
                opened.draft("RGB", _draft_size(width, height))
                opened.load()
                clean = _pixels_only(ImageOps.exif_transpose(opened))
        except MinyiError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise PhotoTooManyPixels() from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
            raise PhotoUnreadable() from exc
        except Exception as exc:  # a malformed file may fail anywhere in a decoder
            raise PhotoUnreadable() from exc
    clean.thumbnail((LONG_EDGE, LONG_EDGE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if clean.mode == "RGBA":
        clean.save(out, "PNG", optimize=True)
        content_type, extension = "image/png", "png"
    else:
        clean.save(out, "JPEG", quality=85, optimize=True)
        content_type, extension = "image/jpeg", "jpg"
    data = out.getvalue()
    return ProcessedPhoto(
        data=data,
        content_type=content_type,
        extension=extension,
        width=clean.width,
        height=clean.height,
        sha256=hashlib.sha256(data).hexdigest(),
        thumb=_thumbnail(clean),
    )


def _thumbnail(image: Image.Image) -> bytes:
    thumb = image.copy()
    thumb.thumbnail((THUMB_EDGE, THUMB_EDGE), Image.Resampling.LANCZOS)
    if thumb.mode == "RGBA":
        # Transparency on white, as the photo would show on a page.
        background = Image.new("RGB", thumb.size, (255, 255, 255))
        background.paste(thumb, mask=thumb.getchannel("A"))
        thumb = background
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=80)
    return out.getvalue()

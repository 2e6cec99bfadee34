"""QR symbols of intake codes: PNG for screens and printers, SVG and the bare module matrix for posters; and
the symbol of a citizen's tracking link, drawn inside the receipt page.

Every symbol uses error correction level Q (a quarter of the symbol may be lost) and a quiet zone of four
modules: posters are photocopied, creased and stuck on uneven walls, and a URL of ~50 characters still
makes a small symbol at Q.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import qrcode
import qrcode.constants
from PIL import Image

QUIET_ZONE = 4  # modules, the minimum ISO/IEC 18004 asks for
# PNG sizes a caller may ask for (pixels along a side): small enough for a phone screen, large enough for
# an A3 poster at 300 dpi.
MIN_PNG_SIZE = 128
MAX_PNG_SIZE = 4096


def _qr(data: str, *, box_size: int = 10) -> qrcode.QRCode:
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_Q, box_size=box_size, border=QUIET_ZONE
    )
    qr.add_data(data)
    qr.make(fit=True)
    return qr


def qr_matrix(data: str) -> list[list[bool]]:
    """The symbol's dark modules, row by row, without the quiet zone (the drawing adds it)."""
    qr = _qr(data)
    return [[bool(cell) for cell in row] for row in qr.modules]


def qr_png(data: str, *, box_size: int = 10, size: int | None = None) -> bytes:
    """``size`` (pixels along a side, quiet zone included) wins over ``box_size`` (pixels per module)."""
    qr = _qr(data, box_size=box_size)
    if size is not None:
        # Whole pixels per module keep the edges sharp; the last few pixels are evened out by nearest
        # neighbour, which moves no module edge by more than one pixel.
        qr.box_size = max(1, size // (qr.modules_count + 2 * QUIET_ZONE))
    image = qr.make_image().get_image().convert("1")
    if size is not None and image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class QrDrawing:
    """A symbol to draw as SVG: one unit per module, the quiet zone included."""

    side: int  # units along a side
    path: str  # the dark runs of each row as one SVG path: only numbers and the letters M, h, v, z


def qr_drawing(data: str) -> QrDrawing:
    """The symbol as vector data; the receipt page draws it inside its own (escaped) markup."""
    matrix = qr_matrix(data)
    runs: list[str] = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            runs.append(f"M{start + QUIET_ZONE} {y + QUIET_ZONE}h{x - start}v1h-{x - start}z")
    return QrDrawing(side=len(matrix) + 2 * QUIET_ZONE, path="".join(runs))


def qr_svg(data: str) -> bytes:
    """A vector symbol: one path of dark runs on a white square, one unit per module; scales to any size."""
    drawing = qr_drawing(data)
    side = drawing.side
    svg = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" width="{side * 10}" '
        f'height="{side * 10}" shape-rendering="crispEdges">'
        f'<rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path fill="#000" d="{drawing.path}"/></svg>\n'
    )
    return svg.encode()

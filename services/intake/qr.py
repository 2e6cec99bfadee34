"""QR images of intake codes: PNG for screens and printers, SVG for designers' posters."""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
import qrcode.image.svg


def _qr(data: str, *, box_size: int, border: int) -> qrcode.QRCode:
    # Level M survives a creased or partly dirty poster and keeps the symbol small for a short URL.
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=border)
    qr.add_data(data)
    qr.make(fit=True)
    return qr


def qr_png(data: str, *, box_size: int = 10, border: int = 4) -> bytes:
    buffer = io.BytesIO()
    _qr(data, box_size=box_size, border=border).make_image().save(buffer)
    return buffer.getvalue()


def qr_svg(data: str, *, border: int = 4) -> bytes:
    buffer = io.BytesIO()
    _qr(data, box_size=10, border=border).make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
    return buffer.getvalue()

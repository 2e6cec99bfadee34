"""The answer that carries a photo: never cached by anything in between, never sniffed as another type."""

from __future__ import annotations

from fastapi import Response

PHOTO_HEADERS = {
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Disposition": "inline",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


def photo_response(data: bytes, content_type: str) -> Response:
    return Response(content=data, media_type=content_type, headers=PHOTO_HEADERS)

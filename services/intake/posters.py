"""Printable posters of intake codes (A4 portrait PDF): who is asked, the grids served, the contact day,
three steps, and the QR code drawn as vector rectangles with its URL printed beneath.

Posters are printed in offices whose machines may lack Chinese fonts, so the Chinese text is either a
subset of an embedded TrueType font (``MINYI_POSTER_FONT``, else Debian's fonts-wqy-microhei) or, when
none is installed here, reportlab's STSong-Light, a CID font every PDF reader supplies itself.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import structlog
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake import repository
from services.intake.codes import form_url
from services.intake.contact.schedule import next_contact_days, rule_of, station_rule
from services.intake.errors import IntakeCodeRevoked, NoPostersToPrint
from services.intake.labels import DEPUTY_LEVEL_LABELS, STATION_KIND_LABELS
from services.intake.qr import QUIET_ZONE, qr_matrix
from shared.db.enums import IntakeCodeOwner, IntakeCodeStatus
from shared.db.models import Deputy, IntakeCode, Station, deputy_stations
from shared.settings import get_settings

log = structlog.get_logger("minyi.intake.posters")

WQY_MICROHEI = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
CID_FALLBACK = "STSong-Light"
_EMBEDDED_NAME = "MinyiPosterCJK"

# A deputy without a station has no contact days of their own: the poster announces the statutory default.
DEFAULT_CONTACT_DAY = "每月第二个星期日"
# How many coming contact days a poster lists under the rule.
POSTER_NEXT_DAYS = 3

STEPS = (
    "用手机微信或相机扫描上方二维码",
    "填写想反映的问题，可留联系方式，也可匿名",
    "保存受理编号和查询链接，随时查看办理进度",
)


@dataclass(frozen=True)
class Poster:
    """What one poster page prints."""

    owner_name: str
    owner_lines: tuple[str, ...]  # deputy: level, station; station: kind
    grids: tuple[str, ...]
    contact_day: str
    url: str
    # Under the contact day: what a holiday does, and the next few dates.
    contact_notes: tuple[str, ...] = ()


# Fonts --------------------------------------------------------------------------------------------------


def _font_candidates() -> list[Path]:
    configured = get_settings().poster_font
    return [p for p in (configured, WQY_MICROHEI) if p is not None]


@lru_cache(maxsize=8)
def _register(path: Path | None) -> str:
    """The registered font name for ``path`` (None: the CID fallback); once per process and path."""
    if path is not None:
        try:
            # A .ttc holds several faces; the first is the regular one in the fonts we expect.
            pdfmetrics.registerFont(TTFont(f"{_EMBEDDED_NAME}-{path.stem}", str(path), subfontIndex=0))
            return f"{_EMBEDDED_NAME}-{path.stem}"
        except Exception:
            log.warning("poster font unusable, falling back", path=str(path), exc_info=True)
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK))
    return CID_FALLBACK


def poster_font() -> str:
    """The first usable candidate font, embedded as a subset; else STSong-Light (not embedded)."""
    for path in _font_candidates():
        if path.is_file():
            name = _register(path)
            if name != CID_FALLBACK:
                return name
        else:
            log.debug("poster font not found", path=str(path))
    return _register(None)


# Loading ------------------------------------------------------------------------------------------------


async def _poster(session: AsyncSession, code: IntakeCode) -> Poster:
    station: Station | None
    if code.owner_type == IntakeCodeOwner.deputy and code.deputy_id is not None:
        deputy = await session.get(Deputy, code.deputy_id)
        assert deputy is not None  # a foreign key
        # The station that receives the deputy's cases is the one the form names.
        station = await repository.first_station_of(session, deputy.id)
        owner_name = deputy.name
        lines = [DEPUTY_LEVEL_LABELS.get(deputy.level, "人大代表")]
        if station is not None:
            lines.append(station.name)
    else:
        station = await session.get(Station, code.station_id)
        assert station is not None  # the one_owner check and a foreign key
        owner_name = station.name
        lines = [STATION_KIND_LABELS.get(station.kind, "代表联络站")]
        if station.address:
            lines.append(station.address)
    grids = await repository.station_grids_ordered(session, station.id) if station is not None else []
    contact_day, notes = await _contact_days(session, station)
    return Poster(
        owner_name=owner_name,
        owner_lines=tuple(lines),
        grids=tuple(g.name for g in grids),
        contact_day=contact_day,
        url=form_url(code.token),
        contact_notes=notes,
    )


async def _contact_days(session: AsyncSession, station: Station | None) -> tuple[str, tuple[str, ...]]:
    """The station's rule in force (its own, else the jurisdiction's, else the default) and a line with what a
    holiday does and the next dates; without a station, the statutory default."""
    if station is None:
        return DEFAULT_CONTACT_DAY, ()
    rule = rule_of(await station_rule(session, station))
    days = await next_contact_days(session, station, POSTER_NEXT_DAYS)
    note = rule.holiday_label()
    if days:
        note += "；近期：" + "、".join(f"{d.day.month}月{d.day.day}日" for d in days)
    return rule.when(), (note,)


async def code_poster(session: AsyncSession, code: IntakeCode) -> Poster:
    """One code's poster; a revoked code has nothing to print (409)."""
    if code.status != IntakeCodeStatus.active:
        raise IntakeCodeRevoked("该二维码已停用，不能打印")
    return await _poster(session, code)


async def station_posters(session: AsyncSession, station: Station) -> list[Poster]:
    """The station's own active codes, then each active deputy's active codes in the deputies' order;
    none at all is a 409 (an empty PDF would print nothing without saying why)."""
    own = select(IntakeCode).where(
        IntakeCode.station_id == station.id, IntakeCode.status == IntakeCodeStatus.active
    )
    deputies = (
        select(IntakeCode)
        .join(deputy_stations, deputy_stations.c.deputy_id == IntakeCode.deputy_id)
        .join(Deputy, Deputy.id == IntakeCode.deputy_id)
        .where(
            deputy_stations.c.station_id == station.id,
            IntakeCode.status == IntakeCodeStatus.active,
            Deputy.active.is_(True),
        )
        .order_by(deputy_stations.c.position, Deputy.id, IntakeCode.id)
    )
    codes = [
        *(await session.execute(own.order_by(IntakeCode.id))).scalars(),
        *(await session.execute(deputies)).scalars(),
    ]
    if not codes:
        raise NoPostersToPrint()
    return [await _poster(session, code) for code in codes]


# Drawing ------------------------------------------------------------------------------------------------

_MARGIN = 56.0  # points (about 2 cm)


def _centered(canvas: Canvas, text: str, y: float, font: str, size: float) -> None:
    canvas.setFont(font, size)
    canvas.drawCentredString(A4[0] / 2, y, text)


def _draw_qr(canvas: Canvas, url: str, x: float, y: float, side: float) -> None:
    """The symbol as filled rectangles (one per run of dark modules in a row) on a white square that
    includes the quiet zone: sharp at any printer's resolution."""
    matrix = qr_matrix(url)
    modules = len(matrix) + 2 * QUIET_ZONE
    unit = side / modules
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(x, y, side, side, stroke=0, fill=1)
    path = canvas.beginPath()
    for row_index, row in enumerate(matrix):
        top = y + side - (row_index + QUIET_ZONE + 1) * unit
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            path.rect(x + (start + QUIET_ZONE) * unit, top, (column - start) * unit, unit)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawPath(path, stroke=0, fill=1)


def _draw_page(canvas: Canvas, poster: Poster, font: str) -> None:
    width, height = A4
    y = height - _MARGIN - 20
    _centered(canvas, "民意码上通", y, font, 16)
    y -= 40
    _centered(canvas, "有事找代表 · 扫码反映问题", y, font, 24)
    y -= 52
    _centered(canvas, poster.owner_name, y, font, 30)
    for line in poster.owner_lines:
        y -= 24
        _centered(canvas, line, y, font, 15)

    side = 250.0
    y -= 20 + side
    _draw_qr(canvas, poster.url, (width - side) / 2, y, side)
    y -= 18
    # The URL in a standard Latin font: it is typed by hand when a camera cannot read the symbol.
    _centered(canvas, poster.url, y, "Helvetica", 10)

    y -= 36
    canvas.setFont(font, 13)
    if poster.grids:
        canvas.drawString(_MARGIN, y, "服务网格：" + "、".join(poster.grids))
        y -= 22
    canvas.drawString(_MARGIN, y, "代表接待日：" + poster.contact_day)
    for note in poster.contact_notes:
        y -= 22
        canvas.drawString(_MARGIN + 12, y, note)
    y -= 34
    canvas.setFont(font, 15)
    canvas.drawString(_MARGIN, y, "三步反映问题")
    canvas.setFont(font, 13)
    for number, step in enumerate(STEPS, start=1):
        y -= 22
        canvas.drawString(_MARGIN + 12, y, f"{number}. {step}")
    _centered(canvas, "您反映的问题将由人大代表联络站受理、交办并跟踪办理结果", _MARGIN, font, 10)


def posters_pdf(posters: Sequence[Poster], *, title: str) -> bytes:
    """One A4 portrait page per poster (CPU work: call it off the event loop)."""
    font = poster_font()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    canvas.setCreator("Minyi 民意码上通")
    for poster in posters:
        _draw_page(canvas, poster, font)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()

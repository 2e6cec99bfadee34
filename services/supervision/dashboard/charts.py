"""The dashboard's charts, drawn here as inline SVG: horizontal bars, lines over weeks and the status funnel.

No library and nothing loaded from elsewhere: each chart is a few rectangles, lines and texts in a viewBox that
scales to the column it sits in. Every chart names itself (``role="img"``, a <title> its ``aria-labelledby``
points at, a <desc>) and writes its numbers as text beside the shapes, and series differ by dash and marker as
well as colour, so colour is never the only cue. Labels are escaped here; the result is safe markup.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# The drawing's own units; the SVG scales to its column (width 100%, at most 25rem), so that its text stays
# close to 13 px on a 390 px phone and a little larger on a desktop.
WIDTH = 320
FONT = 13
AXIS_FONT = 11
INK = "#1f2328"
MUTED = "#57606a"
TRACK = "#eaeef2"
BAR = "#0a3069"
# Line series: colour, dash pattern and marker differ at once.
SERIES_STYLES = (("#0a3069", "", "circle"), ("#b3261e", "6 4", "square"), ("#1a7f37", "2 3", "diamond"))
FUNNEL = "#3b5b8c"


@dataclass(frozen=True)
class Bar:
    """One bar: ``value`` in the chart's scale (None: nothing to draw, e.g. 样本不足) and the text written
    beside it (the rate with its sample, a count with its share)."""

    label: str
    value: float | None
    text: str


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]


@dataclass(frozen=True)
class Step:
    label: str
    count: int


def _fmt(value: float) -> str:
    """Coordinates with at most one decimal, never NaN or infinite (callers guard their divisions)."""
    assert math.isfinite(value), value
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def text_width(content: str) -> float:
    """An estimate of the drawn width: a CJK character (or a full-width sign) is a square, others ~0.6 of it."""
    return sum(FONT if ord(ch) > 0x2E7F else FONT * 0.6 for ch in content)


def _cut(label: str, width: float) -> str:
    """The label, cut with an ellipsis to fit ``width`` (the table beside the chart shows it whole)."""
    if text_width(label) <= width:
        return label
    kept = ""
    for ch in label:
        if text_width(kept + ch + "…") > width:
            break
        kept += ch
    return kept + "…"


def percent(numerator: int, denominator: int) -> str:
    """ "85.0%", or "—" when there is nothing to divide by."""
    return "—" if denominator <= 0 else f"{numerator / denominator * 100:.1f}%"


def rate_text(rate: float | None) -> str:
    return "—" if rate is None or not math.isfinite(rate) else f"{rate * 100:.1f}%"


def _svg(chart_id: str, title: str, description: str, height: float, body: Sequence[str]) -> Markup:
    head = (
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {_fmt(height)}" role="img"'
        f' aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" aria-label="{escape(title)}"'
        f' font-size="{FONT}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-d">{escape(description)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 (every text above and in body is escaped)


def _text(
    x: float,
    y: float,
    content: str,
    *,
    anchor: str = "start",
    fill: str = INK,
    bold: bool = False,
    size: int | None = None,
) -> str:
    extra = (' font-weight="600"' if bold else "") + (f' font-size="{size}"' if size else "")
    return f'<text x="{_fmt(x)}" y="{_fmt(y)}" text-anchor="{anchor}" fill="{fill}"{extra}>{escape(content)}</text>'


def _empty(chart_id: str, title: str) -> Markup:
    return _svg(chart_id, title, "暂无数据", 40, [_text(0, 24, "暂无数据", fill=MUTED)])


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], *, scale: float | None = None) -> Markup:
    """Horizontal bars, one per row: the label and the text above, the bar below on a full-width track. A bar's
    length is value / scale of the width (scale: the largest value when not given; 1.0 for rates)."""
    if not bars:
        return _empty(chart_id, title)
    drawn = [bar.value for bar in bars if bar.value is not None and math.isfinite(bar.value)]
    top = scale if scale is not None else max(drawn, default=0.0)
    row = 46
    body: list[str] = []
    for index, bar in enumerate(bars):
        y = index * row
        body.append(_text(0, y + 16, _cut(bar.label, WIDTH - text_width(bar.text) - FONT)))
        body.append(_text(WIDTH, y + 16, bar.text, anchor="end", fill=MUTED if bar.value is None else INK))
        body.append(f'<rect class="track" x="0" y="{y + 24}" width="{WIDTH}" height="14" fill="{TRACK}"/>')
        if bar.value is not None and math.isfinite(bar.value) and top > 0:
            length = max(0.0, min(1.0, bar.value / top)) * WIDTH
            body.append(
                f'<rect class="bar" x="0" y="{y + 24}" width="{_fmt(length)}" height="14" fill="{BAR}">'
                f"<title>{escape(bar.label)}：{escape(bar.text)}</title></rect>"
            )
    description = "；".join(f"{bar.label} {bar.text}" for bar in bars)
    return _svg(chart_id, title, description, len(bars) * row, body)


def nice_ceiling(value: float) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least ``value`` (1 for nothing)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power)
    return int(10 * power)  # pragma: no cover (the loop ends at 10)


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    if shape == "square":
        return f'<rect x="{_fmt(x - 3)}" y="{_fmt(y - 3)}" width="6" height="6" fill="{colour}"/>'
    if shape == "diamond":
        points = (
            f"{_fmt(x)},{_fmt(y - 4)} {_fmt(x + 4)},{_fmt(y)} {_fmt(x)},{_fmt(y + 4)} {_fmt(x - 4)},{_fmt(y)}"
        )
        return f'<polygon points="{points}" fill="{colour}"/>'
    return f'<circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="3" fill="{colour}"/>'


def line_chart(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    """Lines over the ``labels`` (weeks), one per series, on a y axis from 0 to a round maximum; a legend on
    top names each series with its dash and marker. At most six x labels are written."""
    if not labels or not series:
        return _empty(chart_id, title)
    left, right, legend, top_pad, bottom = 34.0, 8.0, 24.0, 10.0, 26.0
    plot_h = 150.0
    height = legend + top_pad + plot_h + bottom
    plot_w = WIDTH - left - right
    y_max = nice_ceiling(max((max(s.values, default=0) for s in series), default=0))
    base = legend + top_pad + plot_h

    def x_at(i: int) -> float:
        return left + (plot_w / 2 if len(labels) == 1 else plot_w * i / (len(labels) - 1))

    def y_at(v: int) -> float:
        return base - plot_h * v / y_max

    body: list[str] = []
    legend_x = 0.0
    for s, (colour, dash, shape) in zip(series, SERIES_STYLES, strict=False):
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(
            f'<line x1="{_fmt(legend_x)}" y1="12" x2="{_fmt(legend_x + 22)}" y2="12" stroke="{colour}"'
            f' stroke-width="2"{dash_attr}/>'
        )
        body.append(_marker(shape, legend_x + 11, 12, colour))
        body.append(_text(legend_x + 26, 16, s.name))
        legend_x += 26 + FONT * len(s.name) + 14
    # Counts are whole: the middle line only where it falls on a whole number.
    for fraction in (0.0, 0.5, 1.0) if y_max % 2 == 0 else (0.0, 1.0):
        y = base - plot_h * fraction
        body.append(
            f'<line x1="{_fmt(left)}" y1="{_fmt(y)}" x2="{WIDTH - right}" y2="{_fmt(y)}" stroke="{TRACK}"/>'
        )
        tick = y_max * fraction
        body.append(_text(left - 4, y + 4, f"{tick:g}", anchor="end", fill=MUTED, size=AXIS_FONT))
    every = max(1, math.ceil(len(labels) / 6))
    for i, label in enumerate(labels):
        if i % every == 0:
            body.append(_text(x_at(i), base + 18, label, anchor="middle", fill=MUTED, size=AXIS_FONT))
    for s, (colour, dash, shape) in zip(series, SERIES_STYLES, strict=False):
        points = " ".join(f"{_fmt(x_at(i))},{_fmt(y_at(v))}" for i, v in enumerate(s.values))
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(
            f'<polyline class="series" data-series="{escape(s.name)}" points="{points}" fill="none"'
            f' stroke="{colour}" stroke-width="2"{dash_attr}/>'
        )
        body.extend(_marker(shape, x_at(i), y_at(v), colour) for i, v in enumerate(s.values))
    description = "；".join(
        f"{label}：" + "，".join(f"{s.name} {s.values[i] if i < len(s.values) else 0}" for s in series)
        for i, label in enumerate(labels)
    )
    return _svg(chart_id, title, description, height, body)


def funnel_chart(chart_id: str, title: str, steps: Sequence[Step]) -> Markup:
    """The steps as centred bars, each as wide as its share of the first step, with its count and its share of
    the step before written above it."""
    if not steps:
        return _empty(chart_id, title)
    first = steps[0].count
    row = 46
    body: list[str] = []
    notes: list[str] = []
    for index, step in enumerate(steps):
        y = index * row
        share = "" if index == 0 else f"（上一步的 {percent(step.count, steps[index - 1].count)}）"
        notes.append(f"{step.label} {step.count}{share}")
        body.append(_text(0, y + 16, f"{step.label} {step.count}", bold=True))
        if share:
            body.append(_text(WIDTH, y + 16, share.strip("（）"), anchor="end", fill=MUTED))
        width = WIDTH * step.count / first if first > 0 else 0.0
        width = max(0.0, min(float(WIDTH), width))
        body.append(
            f'<rect class="step" x="{_fmt((WIDTH - width) / 2)}" y="{y + 22}" width="{_fmt(width)}"'
            f' height="18" fill="{FUNNEL}"><title>{escape(notes[-1])}</title></rect>'
        )
    return _svg(chart_id, title, "；".join(notes), len(steps) * row, body)

"""The dashboard's own SVG charts on fixed data: bar lengths in proportion, no NaN whatever the denominators,
titles and numbers written as text, labels escaped, well-formed XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.supervision.dashboard.charts import (
    WIDTH,
    Bar,
    Series,
    Step,
    bar_chart,
    funnel_chart,
    line_chart,
    nice_ceiling,
    percent,
    rate_text,
)

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # noqa: S314 (our own markup)


def _widths(markup: str, cls: str) -> list[float]:
    return [float(e.get("width", "nan")) for e in _parse(markup).iter(f"{SVG}rect") if e.get("class") == cls]


def test_bar_lengths_are_proportional_to_the_values() -> None:
    chart = bar_chart(
        "c",
        "按期答复率",
        [Bar("甲局", 1.0, "100.0%"), Bar("乙局", 0.5, "50.0%"), Bar("丙局", 0.25, "25.0%")],
        scale=1.0,
    )
    assert _widths(chart, "bar") == [WIDTH, WIDTH / 2, WIDTH / 4]
    # Without a scale the largest value fills the track.
    counts = bar_chart("d", "数量", [Bar("a", 8, "8"), Bar("b", 2, "2")])
    assert _widths(counts, "bar") == [WIDTH, WIDTH / 4]


def test_a_bar_without_a_value_draws_only_its_track_and_says_why() -> None:
    chart = bar_chart("c", "按期答复率", [Bar("甲局", None, "样本不足"), Bar("乙局", 0.0, "0.0%")], scale=1.0)
    assert _widths(chart, "bar") == [0.0]
    assert len(_widths(chart, "track")) == 2
    texts = [t.text for t in _parse(chart).iter(f"{SVG}text")]
    assert "样本不足" in texts and "0.0%" in texts


def test_charts_carry_a_title_an_aria_label_and_the_numbers_as_text() -> None:
    chart = _parse(bar_chart("rates", "各单位按期答复率", [Bar("甲局", 0.8, "80.0%（样本 10）")], scale=1))
    assert chart.get("role") == "img"
    assert chart.get("aria-label") == "各单位按期答复率"
    assert chart.find(f"{SVG}title").text == "各单位按期答复率"
    assert "甲局 80.0%（样本 10）" in chart.find(f"{SVG}desc").text
    assert "rates-t" in chart.get("aria-labelledby")


def test_labels_are_escaped() -> None:
    chart = bar_chart("c", "<b>标题</b>", [Bar("<script>alert(1)</script>", 0.5, "50%")], scale=1)
    assert "<script>" not in chart and "&lt;script&gt;" in chart
    texts = [t.text for t in _parse(chart).iter(f"{SVG}text")]
    assert any(t.startswith("<script>alert(1") for t in texts)  # as text, cut to the label width


def test_zero_denominators_give_no_nan() -> None:
    charts = [
        bar_chart("a", "t", [Bar("x", 0.0, "0"), Bar("y", 0.0, "0")]),
        bar_chart("b", "t", [Bar("x", float("nan"), "—")], scale=1),
        line_chart("c", "t", ["11/02", "11/09"], [Series("受理", [0, 0]), Series("答复", [0, 0])]),
        line_chart("d", "t", ["11/02"], [Series("受理", [0])]),
        funnel_chart("e", "t", [Step("受理", 0), Step("交办", 0), Step("答复", 0), Step("办结", 0)]),
    ]
    for chart in charts:
        assert "nan" not in chart.lower() and "inf" not in chart.lower()
        _parse(chart)
    assert percent(3, 0) == "—" and rate_text(None) == "—" and rate_text(float("nan")) == "—"


def test_lines_plot_every_week_and_distinguish_series_by_dash() -> None:
    chart = line_chart(
        "weekly",
        "每周受理、答复、办结",
        ["11/02", "11/09", "11/16"],
        [Series("受理", [10, 20, 5]), Series("答复", [4, 10, 5]), Series("办结", [0, 2, 5])],
    )
    lines = [e for e in _parse(chart).iter(f"{SVG}polyline")]
    assert [e.get("data-series") for e in lines] == ["受理", "答复", "办结"]
    assert len({e.get("stroke-dasharray") for e in lines}) == 3
    points = [[tuple(map(float, p.split(","))) for p in e.get("points").split()] for e in lines]
    assert all(len(p) == 3 for p in points)
    # The highest count (20) sits at the top of the plot, zero on its base line.
    received = points[0]
    closed = points[2]
    assert received[1][1] < received[0][1] < received[2][1]
    assert closed[0][1] == max(y for line in points for _, y in line)


def test_funnel_widths_are_shares_of_the_first_step() -> None:
    chart = funnel_chart(
        "funnel", "办理漏斗", [Step("受理", 40), Step("交办", 30), Step("答复", 20), Step("办结", 10)]
    )
    assert _widths(chart, "step") == [WIDTH, WIDTH * 3 / 4, WIDTH / 2, WIDTH / 4]
    assert "上一步的 75.0%" in chart and "上一步的 50.0%" in chart


def test_an_empty_chart_says_so() -> None:
    for chart in (bar_chart("a", "t", []), line_chart("b", "t", [], []), funnel_chart("c", "t", [])):
        assert "暂无数据" in chart
        _parse(chart)


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 1), (1, 1), (3, 5), (7, 10), (12, 20), (51, 100), (100, 100)]
)
def test_nice_ceiling(value: int, expected: int) -> None:
    assert nice_ceiling(value) == expected


@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), min_size=1, max_size=30))
def test_any_counts_draw_finite_bars_within_the_track(pairs: list[tuple[int, int]]) -> None:
    bars = [Bar(f"单位{i}", n / d if d else None, percent(n, d)) for i, (n, d) in enumerate(pairs)]
    chart = bar_chart("p", "t", bars)
    for width in _widths(chart, "bar"):
        assert 0 <= width <= WIDTH
    steps = [Step(str(i), n) for i, (n, _) in enumerate(sorted(pairs, reverse=True))]
    assert "nan" not in funnel_chart("f", "t", steps).lower()

"""The citizens' pages' one style sheet (base.html), read as values: text contrast at least 4.5:1 (WCAG AA),
line spacing at least 1.3, and every size relative to the root, so that the larger-text switch grows it all.
The browser test checks the same on the rendered pages."""

from __future__ import annotations

import re

from intake_api.rendering import TEMPLATES

LIGHT = 0.4  # relative luminance above which a background counts as light


def _rules() -> list[tuple[str, dict[str, str]]]:
    html = (TEMPLATES / "base.html").read_text()
    sheet = html[html.index("<style>") + len("<style>") : html.index("</style>")]
    rules = []
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", sheet):
        declarations = dict(
            (name.strip(), value.strip())
            for name, value in (d.split(":", 1) for d in body.split(";") if ":" in d)
        )
        for selector in selectors.split(","):
            rules.append((selector.strip(), declarations))
    return rules


def _luminance(colour: str) -> float:
    hex_digits = colour.lstrip("#")
    if len(hex_digits) == 3:
        hex_digits = "".join(c * 2 for c in hex_digits)
    channels = [int(hex_digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground: str, background: str) -> float:
    high, low = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _background(declarations: dict[str, str]) -> str | None:
    value = declarations.get("background-color") or declarations.get("background")
    found = re.match(r"#[0-9a-fA-F]{3,6}\b", value or "")
    return found.group() if found else None


def test_contrast_is_computed_as_wcag_says():
    assert round(contrast("#000", "#fff"), 1) == 21.0
    assert round(contrast("#767676", "#fff"), 2) == 4.54  # the lightest grey that passes on white


def test_every_text_colour_contrasts_at_least_4_5_to_1():
    rules = _rules()
    backgrounds = {s: bg for s, d in rules if (bg := _background(d))}
    light = {bg for bg in backgrounds.values() if _luminance(bg) > LIGHT} | {"#fff"}
    assert {"#fff", "#f4f5f7", "#fdecea", "#e6f4ea"} <= light  # the cards, the page, the alerts
    checked = 0
    for selector, declarations in rules:
        colour = declarations.get("color")
        if colour is None or not colour.startswith("#"):
            continue
        own = _background(declarations)
        # A rule without its own background sits on its ancestor's (header.top a on header.top), or on
        # any of the light ones: cards, the page, the alert boxes.
        ancestor = next((backgrounds[a] for a in backgrounds if selector.startswith(f"{a} ")), None)
        behind = {own} if own else {ancestor} if ancestor else light
        for background in behind:
            assert contrast(colour, background) >= 4.5, (selector, colour, background)
            checked += 1
    assert checked >= 10


def test_a_dark_background_always_sets_a_light_text_colour():
    for selector, declarations in _rules():
        background = _background(declarations)
        if background is None or _luminance(background) > LIGHT or declarations.get("content") == '""':
            continue
        assert contrast(declarations.get("color", "#1f2328"), background) >= 4.5, selector


def test_line_spacing_is_at_least_1_3_and_sizes_follow_the_larger_text_switch():
    heights = []
    for selector, declarations in _rules():
        if "line-height" in declarations:
            heights.append((selector, float(declarations["line-height"])))
        shorthand = re.search(r"/([\d.]+)\s", declarations.get("font", ""))
        if shorthand:
            heights.append((selector, float(shorthand.group(1))))
        size = declarations.get("font-size", "1rem")
        assert not size.endswith("px"), (selector, size)  # rem, em and % grow with html.large
        assert not re.search(r"\d+px", declarations.get("font", "")), selector
    assert ("body", 1.6) in heights
    for selector, height in heights:
        assert height >= 1.3, (selector, height)
    assert any(s == "html.large" and d.get("font-size") == "125%" for s, d in _rules())

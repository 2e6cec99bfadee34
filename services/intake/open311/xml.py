"""GeoReport v2's XML: the JSON answer's fields as elements, each list's items in the element the spec names
(``<services><service>…``, ``<service_requests><request>…``, ``<errors><error>…``)."""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree

# Characters XML 1.0 cannot carry at all (control characters other than tab and line breaks).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# The element of each list's items, by the list's own element.
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


def render(root: str, data: Any) -> bytes:
    """``data`` as a JSON answer holds it (a dict, or a list of dicts; JSON-mode values)."""
    element = ElementTree.Element(root)
    _fill(element, root, data)
    rendered: bytes = ElementTree.tostring(element, encoding="utf-8", xml_declaration=True)
    return rendered


def _fill(element: ElementTree.Element, tag: str, value: Any) -> None:
    if isinstance(value, list):
        item_tag = ITEM_TAGS[tag]
        for item in value:
            _fill(ElementTree.SubElement(element, item_tag), item_tag, item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _fill(ElementTree.SubElement(element, key), key, item)
    elif value is not None:
        element.text = _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))

"""JSON and XML answers, chosen by the path's suffix (``services.json``).

The XML follows the spec's examples: a list becomes a wrapper element with
one child per item (``<services><service>…``), ``None`` an empty element,
booleans ``true``/``false``. It is built with ``xml.etree`` so that text is
always escaped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from fastapi import Response
from fastapi.responses import JSONResponse

from tousu.shared.calendar import TZ

Format = Literal["json", "xml"]
FORMATS: tuple[Format, ...] = ("json", "xml")
MEDIA_TYPES: dict[Format, str] = {"json": "application/json", "xml": "text/xml"}

# The element of each item in a list-valued field.
_ITEM = {
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


def as_format(suffix: str) -> Format | None:
    return next((f for f in FORMATS if f == suffix.lower()), None)


def timestamp(at: datetime | None) -> str | None:
    # The spec's w3 subset of ISO 8601, with the offset; Beijing time reads best here.
    return at.astimezone(TZ).isoformat(timespec="seconds") if at is not None else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return timestamp(value)
    return str(value)


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        name = _ITEM.get(element.tag, "item")
        for child in value:
            _fill(ET.SubElement(element, name), child)
    else:
        element.text = _text(value)


def to_xml(root: str, item: str | None, payload: Any) -> bytes:
    """``payload`` (a list of ``item`` elements when ``item`` is given) under ``root``."""
    element = ET.Element(root)
    if item is None:
        _fill(element, payload)
    else:
        for child in payload:
            _fill(ET.SubElement(element, item), child)
    body: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=True)
    # ElementTree writes the declaration with single quotes; the spec shows double.
    return body.replace(
        b"<?xml version='1.0' encoding='utf-8'?>", b'<?xml version="1.0" encoding="UTF-8"?>', 1
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_jsonable(v) for v in value]
    return value


def render(
    fmt: Format,
    payload: Any,
    *,
    root: str,
    item: str | None = None,
    status: int = 200,
) -> Response:
    if fmt == "xml":
        return Response(
            to_xml(root, item, payload),
            status_code=status,
            media_type=f"{MEDIA_TYPES['xml']}; charset=utf-8",
        )
    return JSONResponse(_jsonable(payload), status_code=status)


class Open311Error(Exception):
    """An error answered as the spec's ``[{code, description}]`` with ``status``."""

    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__(f"{status}: {'; '.join(descriptions)}")
        self.status = status
        self.descriptions = descriptions or ("error",)


def error_response(fmt: Format, error: Open311Error) -> Response:
    errors = [{"code": error.status, "description": d} for d in error.descriptions]
    return render(fmt, errors, root="errors", item="error", status=error.status)

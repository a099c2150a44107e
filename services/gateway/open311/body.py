"""A POST request's form fields, decoded by the charset the client declared.

Starlette reads ``application/x-www-form-urlencoded`` bytes as Latin-1, so a
body sent with raw UTF-8 (``curl -d description=路灯坏了``) was stored as
mojibake. Here such a body is decoded by its ``charset`` parameter, and
without one as UTF-8, as the WHATWG URL standard says for this media type;
percent-escapes are decoded with the same charset. A body that is not valid
in its charset, or names a charset nobody knows, is refused (400, the
spec's error shape) rather than stored garbled. Multipart bodies keep
Starlette's parser (each part is UTF-8 there).
"""

from __future__ import annotations

import codecs
from urllib.parse import parse_qs

from fastapi import Request
from starlette.datastructures import UploadFile

from tousu.services.gateway.open311.formats import Open311Error

Fields = dict[str, list[str]]
URLENCODED = "application/x-www-form-urlencoded"


def _media_type(header: str) -> tuple[str, dict[str, str]]:
    kind, *params = header.split(";")
    parameters: dict[str, str] = {}
    for param in params:
        name, _, value = param.partition("=")
        parameters[name.strip().lower()] = value.strip().strip('"')
    return kind.strip().lower(), parameters


def decode_urlencoded(raw: bytes, charset: str | None) -> Fields:
    """The fields of a urlencoded body; :class:`Open311Error` (400) if it cannot be read."""
    name = charset or "utf-8"
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise Open311Error(400, f"unknown charset {name!r}: send UTF-8") from None
    try:
        text = raw.decode(codec)
        # Escapes (%E8%B7%AF) are bytes in the same charset as the rest.
        return parse_qs(text, keep_blank_values=True, encoding=codec, errors="strict")
    except UnicodeDecodeError:
        raise Open311Error(400, f"the request body is not valid {codec}") from None


async def form_fields(request: Request) -> Fields:
    """The posted fields by name (files left out)."""
    kind, parameters = _media_type(request.headers.get("content-type", ""))
    if kind == URLENCODED:
        return decode_urlencoded(await request.body(), parameters.get("charset"))
    form = await request.form()
    return {name: [v for v in form.getlist(name) if not isinstance(v, UploadFile)] for name in form}

"""A notice as a PDF download."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import quote

from fastapi import Response

from tousu.services.followup.views import NoticeDocument, notice_pdf
from tousu.services.gateway.problems import NotFound, ServiceUnavailable, Text

NO_SUCH_NOTICE = Text("该投诉没有这份告知书", "The complaint has no such notice")
NO_FONT = Text(
    "暂时无法生成告知书 PDF（缺少中文字体）", "Cannot render the notice (no Chinese font)"
)
_NOT_TOKEN = re.compile(r'[^\x20-\x7e]|["\\%]')


def no_such_notice() -> NotFound:
    return NotFound(NO_SUCH_NOTICE, code="notice_not_found")


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII ``filename`` and, for any other name, the
    exact one as RFC 5987 ``filename*`` (which browsers prefer)."""
    fallback = _NOT_TOKEN.sub("_", filename)
    value = f'attachment; filename="{fallback}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


def filename(document: NoticeDocument) -> str:
    return f"{document.tracking_no}-{document.kind}.pdf"


async def pdf_response(document: NoticeDocument) -> Response:
    # A few tenths of a second of font work: off the event loop.
    pdf = await asyncio.to_thread(notice_pdf, document)
    if pdf is None:
        raise ServiceUnavailable(NO_FONT, code="pdf_font_missing")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": content_disposition(filename(document)),
            # Personal data: kept by the browser that asked, by no shared cache.
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )

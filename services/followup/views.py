"""What other services read of the notices (告知书), all through this module.

The gateway serves a complaint's notices of record — the notices its events
carry, as documents and as A4 PDFs — prints the desk receipt (回执), and shows
by which channel a notice would go. The notices, their outbox and their
senders stay followup's own (services/followup/notices/).
"""

from __future__ import annotations

from tousu.services.followup.notices.channels import channel_for
from tousu.services.followup.notices.documents import (
    DocumentKind,
    NoticeDocument,
    find_document,
    notice_documents,
    receipt_document,
)
from tousu.services.followup.notices.model import NoticeChannel

__all__ = [
    "DocumentKind",
    "NoticeChannel",
    "NoticeDocument",
    "channel_for",
    "find_document",
    "notice_documents",
    "notice_pdf",
    "receipt_document",
]


def notice_pdf(document: NoticeDocument) -> bytes | None:
    """``document`` as an A4 PDF, or None when no font that can set Chinese
    is installed. A few tenths of a second of font work: call it off the
    event loop."""
    # fpdf and fontTools take half a second to import: loaded on the first PDF
    # asked for, not by everything that imports this module.
    from tousu.services.followup.notices.pdf import FontMissing, render_notice_pdf

    try:
        return render_notice_pdf(document)
    except FontMissing:
        return None

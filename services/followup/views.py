"""What other services read of the notices (告知书), all through this module.

The gateway serves a complaint's notices of record — the notices its events
carry, as documents and as A4 PDFs — prints the desk receipt (回执), shows
by which channel a notice would go, and shows on the case page how each of
a complaint's notices went out (:func:`complaint_notices`). The notices,
their outbox and their senders stay followup's own (services/followup/notices/).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from tousu.services.followup.notices.channels import channel_for
from tousu.services.followup.notices.documents import (
    DocumentKind,
    NoticeDocument,
    find_document,
    notice_documents,
    receipt_document,
)
from tousu.services.followup.notices.model import (
    NoticeChannel,
    NoticeKind,
    NoticeStatus,
    NotificationRecord,
)
from tousu.services.followup.notices.outbox import list_notifications
from tousu.shared.logs import scrub_contacts
from tousu.shared.privacy.erase import ERASED_RECIPIENT
from tousu.shared.privacy.masking import mask_email, mask_phone
from tousu.shared.store.postgres import Connection

__all__ = [
    "DeliveryStatus",
    "DocumentKind",
    "NoticeChannel",
    "NoticeDelivery",
    "NoticeDocument",
    "NoticeKind",
    "channel_for",
    "complaint_notices",
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


# How a notice stands, as the people on the case read it: ``retrying`` is the
# outbox's ``failed`` (a try failed, the next is scheduled); a try under way
# (``sending``) is still ``pending`` on its first try, ``retrying`` after.
DeliveryStatus = Literal["pending", "sent", "retrying", "dead"]

# More than any complaint gets (a notice per step, on one channel and the web
# page); the case page lists them all.
_MAX_NOTICES = 500


@dataclass(frozen=True)
class NoticeDelivery:
    """One notice of a complaint on one channel, and how its sending went.

    Nothing here names the complainant: ``recipient`` is the phone number or
    e-mail address masked (``138****5678``, ``w***@example.cn``) and None for a
    letter (a postal address has no harmless part), a WeChat OpenID, the web
    page and an erased complainant. ``last_error`` has any number or address a
    provider quoted taken out.
    """

    id: uuid.UUID
    # The event that caused it: one notice goes on its channel and on the web page.
    source_event_id: uuid.UUID
    kind: NoticeKind
    channel: NoticeChannel
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    recipient: str | None
    created_at: datetime
    sent_at: datetime | None
    # When the next try is due (pending or retrying), else None.
    next_attempt_at: datetime | None


async def complaint_notices(
    conn: Connection | asyncpg.Pool, complaint_id: uuid.UUID
) -> list[NoticeDelivery]:
    """Every notice to the complainant of ``complaint_id``, oldest first, with
    its delivery: whether the 受理告知 or the 反馈 reached them, or why not."""
    found = await list_notifications(conn, complaint_id=complaint_id, limit=_MAX_NOTICES)
    return [_delivery(n) for n in found]


def _delivery(n: NotificationRecord) -> NoticeDelivery:
    status = _STATUS[n.status]
    if n.status == NoticeStatus.SENDING and n.attempts > 1:
        status = "retrying"
    waiting = status in ("pending", "retrying")
    return NoticeDelivery(
        id=n.id,
        source_event_id=n.source_event_id,
        kind=n.kind,
        channel=n.channel,
        status=status,
        attempts=n.attempts,
        # Scrubbed when stored (the dispatcher); again here, for errors kept
        # from before that, since this one is shown on a page.
        last_error=scrub_contacts(n.last_error) if n.last_error else None,
        recipient=masked_recipient(n.channel, n.recipient),
        created_at=n.created_at,
        sent_at=n.sent_at,
        next_attempt_at=n.next_attempt_at if waiting else None,
    )


_STATUS: dict[NoticeStatus, DeliveryStatus] = {
    NoticeStatus.PENDING: "pending",
    NoticeStatus.SENDING: "pending",
    NoticeStatus.SENT: "sent",
    NoticeStatus.FAILED: "retrying",
    NoticeStatus.DEAD: "dead",
}


def masked_recipient(channel: NoticeChannel, recipient: str | None) -> str | None:
    """What a page may show of a notice's recipient: a phone number or an
    e-mail address masked as the case page masks the complainant's, nothing
    of an address or an OpenID."""
    if not recipient or recipient == ERASED_RECIPIENT:
        return None
    if channel == NoticeChannel.SMS:
        return mask_phone(recipient)
    if channel == NoticeChannel.EMAIL:
        return mask_email(recipient)
    return None

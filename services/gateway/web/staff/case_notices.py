"""What the case page shows of the notices sent to the complainant (告知记录):
each notice's kind, channel and masked recipient, whether it was sent, is
being retried or gave up, and why — so that the people on the case see
whether the 受理告知 or the 反馈 reached the complainant, not only an
operator at ``tousu notices list``.

The notices are followup's (its outbox); this reads them through its views.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import asyncpg

from tousu.services.followup.views import (
    DeliveryStatus,
    NoticeChannel,
    NoticeDelivery,
    NoticeKind,
    complaint_notices,
)
from tousu.services.gateway.problems import Lang
from tousu.services.gateway.web.i18n import N_, gettext

# In the order of the handling.
KIND_NAMES: Final[dict[NoticeKind, str]] = {
    NoticeKind.ACCESS_CODE: N_("notice.kind.access_code"),
    NoticeKind.ACCEPTANCE: N_("notice.kind.acceptance"),
    NoticeKind.REJECTION: N_("notice.kind.rejection"),
    NoticeKind.EXTENSION: N_("notice.kind.extension"),
    NoticeKind.PROGRESS: N_("notice.kind.progress"),
    NoticeKind.RESULT: N_("notice.kind.result"),
    NoticeKind.FOLLOW_UP_SURVEY: N_("notice.kind.follow_up_survey"),
}
CHANNEL_NAMES: Final[dict[NoticeChannel, str]] = {
    NoticeChannel.SMS: N_("notice.channel.sms"),
    NoticeChannel.EMAIL: N_("notice.channel.email"),
    NoticeChannel.WECHAT: N_("notice.channel.wechat"),
    NoticeChannel.LETTER: N_("notice.channel.letter"),
    NoticeChannel.WEB: N_("notice.channel.web"),
}
STATUS_NAMES: Final[dict[DeliveryStatus, str]] = {
    "pending": N_("notice.status.pending"),
    "sent": N_("notice.status.sent"),
    "retrying": N_("notice.status.retrying"),
    "dead": N_("notice.status.dead"),
}
# On the web page "sent" is "there for the complainant to look up".
PUBLISHED = N_("notice.status.published")

_STEP_ORDER: Final[dict[NoticeKind, int]] = {kind: i for i, kind in enumerate(KIND_NAMES)}

# The badge colours the deadlines use: a word beside every colour.
BADGES: Final[dict[DeliveryStatus, str]] = {
    "pending": "done",
    "sent": "green",
    "retrying": "yellow",
    "dead": "red",
}


@dataclass(frozen=True)
class NoticeRow:
    """One notice as the case page lists it."""

    kind: str
    channel: str
    status: DeliveryStatus
    status_label: str
    badge: str
    recipient: str | None
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None


def rows(deliveries: Sequence[NoticeDelivery], lang: Lang) -> list[NoticeRow]:
    """The notices to list, oldest first.

    Every notice also goes to the web page (the public lookup) beside the
    complainant's own channel; that copy is listed only for a notice that
    had no other channel (a web complaint without an e-mail address), where
    the lookup page is how the complainant is told.
    """
    on_a_channel = {
        (d.source_event_id, d.kind) for d in deliveries if d.channel != NoticeChannel.WEB
    }
    listed = [
        d
        for d in deliveries
        if d.channel != NoticeChannel.WEB or (d.source_event_id, d.kind) not in on_a_channel
    ]
    # Notices made in one transaction share their time: then in the order of
    # the handling (受理 before 进度 before 反馈), not of their ids.
    listed.sort(key=lambda d: (d.created_at, _STEP_ORDER.get(d.kind, len(_STEP_ORDER))))
    return [_row(d, lang) for d in listed]


def _row(d: NoticeDelivery, lang: Lang) -> NoticeRow:
    published = d.channel == NoticeChannel.WEB and d.status == "sent"
    return NoticeRow(
        kind=gettext(lang, KIND_NAMES[d.kind]) if d.kind in KIND_NAMES else d.kind,
        channel=gettext(lang, CHANNEL_NAMES[d.channel])
        if d.channel in CHANNEL_NAMES
        else d.channel,
        status=d.status,
        status_label=gettext(lang, PUBLISHED if published else STATUS_NAMES[d.status]),
        badge=BADGES[d.status],
        recipient=d.recipient,
        attempts=d.attempts,
        last_error=d.last_error,
        created_at=d.created_at,
        sent_at=d.sent_at,
        next_attempt_at=d.next_attempt_at,
    )


async def case_notices(pool: asyncpg.Pool, complaint_id: uuid.UUID, lang: Lang) -> list[NoticeRow]:
    """The complaint's notices and how each went out, as the case page lists them."""
    return rows(await complaint_notices(pool, complaint_id), lang)

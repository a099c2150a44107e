"""The access code (查询码) of a complaint staff registered, sent to the
complainant on the channel they chose.

Someone who called, wrote or came in never saw the page that shows the code
once; without it they can neither look their case up nor answer the survey.
The code exists in plain only while the complaint is registered: the events
keep its hash. So the notice is put in the outbox in the transaction that
stores ``ComplaintReceived`` (with the code in memory) and the code goes into
the outbox sealed with the complainant's data key, like the contact it is sent
to (services/followup/notices/outbox.py); the body column holds a placeholder, filled in at
send time. Erasing the complainant destroys the key, and with it the code.

Only on the complainant's own channel (SMS, e-mail or letter): never on the
web page, which one can only open with the code already.

Followup's public module for intake: intake calls :func:`enqueue_code_notice`
in its transaction, and only followup's modules write the outbox.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import partial
from typing import Final

from tousu.services.followup.notices import (
    OUTBOX_CHANNEL,
    NoticeChannel,
    NoticeKind,
    Notification,
    channel_for,
    enqueue_all,
)
from tousu.services.followup.notices.model import ACCESS_CODE_SLOT
from tousu.shared.domain.context import NoticeRenderer
from tousu.shared.events import Envelope, decode
from tousu.shared.events import types as ev
from tousu.shared.events.envelope import STREAM_PREFIX
from tousu.shared.store.postgres import PgUnitOfWork

# The channels by which a complainant reaches staff, not a page of ours.
STAFF_REGISTERED: Final = frozenset({ev.Channel.PHONE, ev.Channel.LETTER, ev.Channel.WALK_IN})


def code_notice(
    received: Envelope,
    who: ev.Complainant,
    access_code: str,
    acceptance_due: datetime | None,
    render: NoticeRenderer,
) -> Notification | None:
    """The access-code notice ``received`` (a ``ComplaintReceived``, stored)
    calls for; ``who``: the complainant in full (the submission's)."""
    data = decode(received)
    if not isinstance(data, ev.ComplaintReceived) or data.channel not in STAFF_REGISTERED:
        return None
    preferred = who.preferred_channel or data.channel
    usable = channel_for(preferred, bool(who.email), bool(who.phone), bool(who.address))
    channel = usable[0]
    if channel == NoticeChannel.WEB:
        return None
    recipients = {
        NoticeChannel.EMAIL: who.email,
        NoticeChannel.SMS: who.phone,
        NoticeChannel.LETTER: who.address,
    }
    text = render(
        NoticeKind.ACCESS_CODE.value,
        data.language,
        tracking_no=data.tracking_no,
        subject=data.subject,
        access_code=ACCESS_CODE_SLOT,
        acceptance_due=acceptance_due,
        issued_at=received.occurred_at,
    )
    name = None if who.anonymous else who.name
    # Without the name: it is sealed with the contact, put in when sent.
    title, _, body = text.partition("\n\n")
    return Notification(
        source_event_id=received.event_id,
        complaint_id=uuid.UUID(received.stream_id.removeprefix(STREAM_PREFIX)),
        tracking_no=data.tracking_no,
        kind=NoticeKind.ACCESS_CODE,
        channel=channel,
        recipient=recipients[channel],
        recipient_name=name,
        complainant=data.complainant.key,
        language=data.language,
        title=title.strip(),
        body=body,
        access_code=access_code,
    )


def enqueue_code_notice(
    uow: PgUnitOfWork,
    received: Envelope,
    who: ev.Complainant,
    access_code: str,
    acceptance_due: datetime | None,
    render: NoticeRenderer,
) -> Notification | None:
    """Puts the access-code notice ``received`` calls for (:func:`code_notice`)
    in the outbox with ``uow``'s commit; the notice, or None."""
    notice = code_notice(received, who, access_code, acceptance_due, render)
    if notice is not None:
        # Stored with the complaint, or not at all; the code sealed.
        uow.defer(partial(enqueue_all, notifications=[notice], notify=False))
        uow.wake_after_commit(OUTBOX_CHANNEL)
    return notice

"""Putting notices into the outbox, and reading it.

The recipient and the name a notice is addressed to are personal data: they
are stored sealed with the complainant's data key (as the events' personal
fields are, shared/privacy), in ``sealed_contact``, and opened when a notice
is read (by the dispatcher at send time, by staff tools). Erasing the
complainant destroys the key; their notices then name no one, sent or not.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg

from tousu.services.followup.notices.model import (
    NoticeChannel,
    NoticeStatus,
    Notification,
    NotificationRecord,
)
from tousu.shared.privacy.crypto import open_box, seal
from tousu.shared.privacy.erase import ERASED_RECIPIENT
from tousu.shared.privacy.keys import data_keys, key_for
from tousu.shared.store.postgres import Connection

# LISTEN/NOTIFY channel that wakes dispatchers.
OUTBOX_CHANNEL = "tousu_outbox"

_INSERT = """
INSERT INTO notifications (id, source_event_id, complaint_id, tracking_no, kind, channel,
                           complainant_id, sealed_contact, language, title, body)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[],
                     $7::uuid[], $8::text[], $9::text[], $10::text[], $11::text[])
ON CONFLICT (id) DO NOTHING
RETURNING 1
"""

RECORD_COLUMNS = """source_event_id, complaint_id, tracking_no, kind, channel, recipient,
    recipient_name, language, title, body, status, attempts, next_attempt_at, locked_until,
    last_error, created_at, sent_at, provider_message_id, complainant_id, sealed_contact"""


async def enqueue(conn: Connection, notification: Notification, *, notify: bool = True) -> bool:
    """Add ``notification`` to the outbox; False when it is there already.

    Call it in the transaction that handles the event the notice is about, so
    the notice is stored if and only if that handling commits. In a unit of
    work, call it after the appends: an append must be its transaction's first
    write (see the event store's migration), like the tracking row.

    ``notify`` wakes the dispatchers at commit (NOTIFY is transactional). It
    takes PostgreSQL's notify lock across the commit, serialising the commits
    of transactions that enqueue; pass False to skip it when that matters and
    let the dispatchers' periodic re-check find the notice, or call :func:`wake`
    after the commit.
    """
    return await enqueue_all(conn, [notification], notify=notify) == 1


async def enqueue_all(
    conn: Connection, notifications: Sequence[Notification], *, notify: bool = True
) -> int:
    """:func:`enqueue` for several notices in one statement; how many were new."""
    if not notifications:
        return 0
    ns, contacts = await _sealed(conn, notifications)
    inserted = await conn.fetch(
        _INSERT,
        [n.id for n in ns],
        [n.source_event_id for n in ns],
        [n.complaint_id for n in ns],
        [n.tracking_no for n in ns],
        [n.kind.value for n in ns],
        [n.channel.value for n in ns],
        [owner for owner, _ in contacts],
        [box for _, box in contacts],
        [n.language for n in ns],
        [n.title for n in ns],
        [n.body for n in ns],
    )
    if inserted and notify:
        await wake(conn)
    return len(inserted)


async def _sealed(
    conn: Connection, notifications: Sequence[Notification]
) -> tuple[list[Notification], list[tuple[uuid.UUID | None, str | None]]]:
    """The notices to store, each with its owner and sealed contact.

    A notice of an erased complainant (their key is gone) is not stored
    unless it is for the web page, and then without the name: there is no
    one left to send it to.
    """
    owners = {n.complainant for n in notifications if n.complainant is not None}
    keys = await data_keys(conn, owners)
    kept: list[Notification] = []
    contacts: list[tuple[uuid.UUID | None, str | None]] = []
    for n in notifications:
        contact = {"recipient": n.recipient, "recipient_name": n.recipient_name}
        if n.access_code is not None:  # sealed with the contact, never in plain
            contact["access_code"] = n.access_code
        if not any(contact.values()):
            kept.append(n)
            contacts.append((n.complainant, None))
            continue
        if n.complainant is None:
            # No events' key named (a notice made by a tool or a test): the
            # complainant's key is found, or made, from the contact itself.
            phone = n.recipient if n.channel == NoticeChannel.SMS else None
            email = n.recipient if n.channel == NoticeChannel.EMAIL else None
            openid = n.recipient if n.channel == NoticeChannel.WECHAT else None
            owner, key = await key_for(conn, phone, email, openid)
        else:
            owner, found = n.complainant, keys.get(n.complainant)
            if found is None:
                if n.channel != NoticeChannel.WEB:
                    continue
                kept.append(n)
                contacts.append((owner, None))
                continue
            key = found
        kept.append(n)
        contacts.append((owner, seal(key, owner, contact)))
    return kept, contacts


async def wake(conn: Connection | asyncpg.Pool) -> None:
    """Wake the dispatchers (at commit, when inside a transaction)."""
    await conn.execute("SELECT pg_notify($1, '')", OUTBOX_CHANNEL)


_RECORD_FIELDS = [c.strip() for c in RECORD_COLUMNS.split(",")]


_CONTACT_COLUMNS = ("complainant_id", "sealed_contact")


async def records(
    conn: Connection | asyncpg.Pool, rows: Sequence[asyncpg.Record]
) -> list[NotificationRecord]:
    """Rows that have :data:`RECORD_COLUMNS` (and maybe more) as records,
    their contacts opened; an erased complainant's show no one."""
    keys = await data_keys(
        conn, [r["complainant_id"] for r in rows if r["sealed_contact"] is not None]
    )
    return [_record(r, keys) for r in rows]


def _record(row: asyncpg.Record, keys: dict[uuid.UUID, bytes | None]) -> NotificationRecord:
    fields: dict[str, Any] = {k: row[k] for k in _RECORD_FIELDS if k not in _CONTACT_COLUMNS}
    fields["complainant"] = row["complainant_id"]
    owner, box = row["complainant_id"], row["sealed_contact"]
    if box is not None:
        key = keys.get(owner)
        if key is None:  # erased
            fields["recipient_name"] = None
            fields["recipient"] = None if row["channel"] == "web" else ERASED_RECIPIENT
        else:
            fields |= open_box(key, owner, box)
    return NotificationRecord(**fields)


async def list_notifications(
    conn: Connection | asyncpg.Pool,
    *,
    status: NoticeStatus | str | None = None,
    complaint_id: uuid.UUID | None = None,
    tracking_no: str | None = None,
    limit: int = 100,
) -> list[NotificationRecord]:
    """Notices, oldest first, filtered by what is given (``status="dead"``: given up)."""
    rows = await conn.fetch(
        f"""SELECT {RECORD_COLUMNS} FROM notifications
            WHERE ($1::text IS NULL OR status = $1)
              AND ($2::uuid IS NULL OR complaint_id = $2)
              AND ($3::text IS NULL OR tracking_no = $3)
            ORDER BY created_at, id
            LIMIT $4""",
        NoticeStatus(status).value if status is not None else None,
        complaint_id,
        tracking_no,
        limit,
    )
    return await records(conn, rows)


async def get_notification(
    conn: Connection | asyncpg.Pool, notification_id: uuid.UUID
) -> NotificationRecord | None:
    row = await conn.fetchrow(
        f"SELECT {RECORD_COLUMNS} FROM notifications WHERE id = $1", notification_id
    )
    return (await records(conn, [row]))[0] if row is not None else None

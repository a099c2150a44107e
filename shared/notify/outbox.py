"""Putting notices into the outbox, and reading it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from shared.notify.model import NoticeStatus, Notification, NotificationRecord
from shared.store.postgres import Connection

# LISTEN/NOTIFY channel that wakes dispatchers.
OUTBOX_CHANNEL = "tousu_outbox"

_INSERT = """
INSERT INTO notifications (id, source_event_id, complaint_id, tracking_no, kind, channel,
                           recipient, recipient_name, language, title, body)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
ON CONFLICT (id) DO NOTHING
RETURNING 1
"""

RECORD_COLUMNS = """source_event_id, complaint_id, tracking_no, kind, channel, recipient,
    recipient_name, language, title, body, status, attempts, next_attempt_at, locked_until,
    last_error, created_at, sent_at, provider_message_id"""


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
    ns = notifications
    inserted = await conn.fetch(
        _INSERT,
        [n.id for n in ns],
        [n.source_event_id for n in ns],
        [n.complaint_id for n in ns],
        [n.tracking_no for n in ns],
        [n.kind.value for n in ns],
        [n.channel.value for n in ns],
        [n.recipient for n in ns],
        [n.recipient_name for n in ns],
        [n.language for n in ns],
        [n.title for n in ns],
        [n.body for n in ns],
    )
    if inserted and notify:
        await wake(conn)
    return len(inserted)


async def wake(conn: Connection | asyncpg.Pool) -> None:
    """Wake the dispatchers (at commit, when inside a transaction)."""
    await conn.execute("SELECT pg_notify($1, '')", OUTBOX_CHANNEL)


_RECORD_FIELDS = [c.strip() for c in RECORD_COLUMNS.split(",")]


def record(row: asyncpg.Record) -> NotificationRecord:
    """A row that has :data:`RECORD_COLUMNS` (and maybe more) as a record."""
    return NotificationRecord(**{k: row[k] for k in _RECORD_FIELDS})


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
    return [record(r) for r in rows]


async def get_notification(
    conn: Connection | asyncpg.Pool, notification_id: uuid.UUID
) -> NotificationRecord | None:
    row = await conn.fetchrow(
        f"SELECT {RECORD_COLUMNS} FROM notifications WHERE id = $1", notification_id
    )
    return record(row) if row is not None else None

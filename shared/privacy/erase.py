"""Erasing a complainant: their data key is destroyed.

Every sealed copy of their personal fields (the event store, JetStream,
backups, the outbox's sealed contacts) becomes unreadable at once, and the
events stay: statuses, deadlines and KPIs do not change. What is not sealed
is cleared here: the contact digests, and their notices' contacts in the
outbox, sealed or (from before sealing) plain (a notice not yet sent is
given up: there is no one left to send it to).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from tousu.shared.intake.duplicates import normalize_email, normalize_phone
from tousu.shared.intake.identifiers import normalize_tracking_no
from tousu.shared.intake.tracking_numbers import complaint_of
from tousu.shared.privacy.keys import Queryable, contact_digests

ERASED_RECIPIENT = "[已删除 erased]"


@dataclass(frozen=True)
class Complaint:
    complaint_id: uuid.UUID
    tracking_no: str | None
    received_at: datetime


@dataclass(frozen=True)
class Found:
    complainant_id: uuid.UUID
    erased_at: datetime | None
    complaints: list[Complaint] = field(default_factory=list)


async def find(conn: Queryable, ref: str) -> list[Found]:
    """The complainants ``ref`` names: a tracking number, a complaint or
    complainant id, a phone number or an e-mail address."""
    ref = ref.strip()
    owners: list[uuid.UUID] = []
    try:
        as_id = uuid.UUID(ref)
    except ValueError:
        as_id = None
    if as_id is not None:
        owners = [as_id, *await _owners_of_complaints(conn, [as_id])]
    elif "@" in ref:
        _, email_digest = contact_digests(None, normalize_email(ref))
        owners = await _owners_by(conn, "email_digest", email_digest)
    else:
        tracking_no = normalize_tracking_no(ref)
        tracked = await complaint_of(conn, tracking_no) if tracking_no else None
        if tracked is not None:
            owners = await _owners_of_complaints(conn, [tracked])
        elif phone := normalize_phone(ref):
            phone_digest, _ = contact_digests(phone, None)
            owners = await _owners_by(conn, "phone_digest", phone_digest)
    rows = await conn.fetch(
        "SELECT complainant_id, erased_at FROM complainant_keys "
        "WHERE complainant_id = any($1::uuid[]) ORDER BY created_at",
        list(dict.fromkeys(owners)),
    )
    return [
        Found(r["complainant_id"], r["erased_at"], await complaints_of(conn, r["complainant_id"]))
        for r in rows
    ]


async def _owners_by(conn: Queryable, column: str, value: bytes | None) -> list[uuid.UUID]:
    if value is None:
        return []
    rows = await conn.fetch(
        f"SELECT complainant_id FROM complainant_keys WHERE {column} = $1", value
    )
    return [r["complainant_id"] for r in rows]


async def _owners_of_complaints(conn: Queryable, ids: list[uuid.UUID]) -> list[uuid.UUID]:
    # The complainant's key, and the keys the complaint's files are sealed
    # with (the same, unless the complainant gave no phone or e-mail:
    # shared/attachments/owners.py), so that erasure reaches the files too.
    rows = await conn.fetch(
        "SELECT (data -> 'complainant' ->> 'key')::uuid AS owner FROM events "
        "WHERE stream_id = any($1::text[]) AND type = 'ComplaintReceived' "
        "AND data -> 'complainant' ? 'key' "
        "UNION SELECT (f ->> 'owner')::uuid FROM events, "
        "  jsonb_array_elements(data -> 'attachments') f "
        "WHERE stream_id = any($1::text[]) AND data ? 'attachments' AND f ->> 'owner' IS NOT NULL",
        [f"complaint-{i}" for i in ids],
    )
    return [r["owner"] for r in rows]


async def complaints_of(conn: Queryable, owner: uuid.UUID) -> list[Complaint]:
    rows = await conn.fetch(
        "SELECT substr(e.stream_id, 11)::uuid AS complaint_id, t.tracking_no, e.occurred_at "
        "FROM events e LEFT JOIN tracking_numbers t "
        "  ON t.complaint_id = substr(e.stream_id, 11)::uuid "
        "WHERE e.type = 'ComplaintReceived' AND e.data -> 'complainant' ->> 'key' = $1 "
        "ORDER BY e.occurred_at",
        str(owner),
    )
    return [Complaint(r["complaint_id"], r["tracking_no"], r["occurred_at"]) for r in rows]


async def erase(conn: asyncpg.Connection | PoolConnectionProxy, found: list[Found], by: str) -> int:
    """Destroy the keys of ``found`` in one transaction; how many were erased now."""
    owners = [f.complainant_id for f in found]
    complaints = [c.complaint_id for f in found for c in f.complaints]
    async with conn.transaction():
        erased = await conn.fetch(
            "UPDATE complainant_keys SET data_key = NULL, phone_digest = NULL, "
            "email_digest = NULL, wechat_digest = NULL, erased_at = now(), erased_by = $2 "
            "WHERE complainant_id = any($1::uuid[]) AND erased_at IS NULL RETURNING 1",
            owners,
            by,
        )
        await conn.execute(
            "UPDATE notifications SET "
            "recipient = CASE WHEN channel = 'web' THEN NULL ELSE $2 END, "
            "recipient_name = NULL, sealed_contact = NULL, "
            "status = CASE WHEN status = 'sent' THEN status ELSE 'dead' END, "
            "last_error = CASE WHEN status = 'sent' THEN last_error "
            "  ELSE 'personal data erased' END, "
            "locked_until = NULL "
            "WHERE complaint_id = any($1::uuid[]) OR complainant_id = any($3::uuid[])",
            complaints,
            ERASED_RECIPIENT,
            owners,
        )
    return len(erased)

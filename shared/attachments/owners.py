"""Whose key a file is sealed with, chosen before it is stored.

A case's files are sealed with its complainant's key, so that one erasure
reaches the complaint's personal fields and its files alike. For a new
complaint the key is found (or made) from the contact details the complaint
will be sealed with (the same phone number or e-mail is the same person:
shared/privacy/keys.py). A complaint with neither gets a key of its own for
its files, which `tousu privacy erase` finds through the files' references.
"""

from __future__ import annotations

import uuid

import asyncpg

from tousu.shared.events import complaint_stream
from tousu.shared.intake.duplicates import normalize_email, normalize_phone
from tousu.shared.privacy.keys import key_for


async def owner_for_contact(
    pool: asyncpg.Pool, phone: str | None, email: str | None, wechat_openid: str | None = None
) -> uuid.UUID:
    """The complainant key a new complaint's files are sealed with: the one
    its personal fields will be sealed with (normalised phone, e-mail, as
    intake records them: 138-0013-8000 and 13800138000 are one person; the
    WeChat OpenID without either)."""
    phone = normalize_phone(phone) if phone else None
    email = normalize_email(email) if email else None
    async with pool.acquire() as conn, conn.transaction():
        owner, _ = await key_for(conn, phone, email, wechat_openid)
    return owner


async def owner_of_case(pool: asyncpg.Pool, complaint_id: uuid.UUID) -> uuid.UUID:
    """The key a file added to an existing case is sealed with: its
    complainant's, else the one its earlier files have, else a new one."""
    stream = complaint_stream(complaint_id)
    row = await pool.fetchval(
        "SELECT coalesce("
        "  (SELECT data -> 'complainant' ->> 'key' FROM events "
        "   WHERE stream_id = $1 AND type = 'ComplaintReceived'),"
        "  (SELECT f ->> 'owner' FROM events, jsonb_array_elements(data -> 'attachments') f "
        "   WHERE stream_id = $1 AND data ? 'attachments' AND f ->> 'owner' IS NOT NULL "
        "   ORDER BY version LIMIT 1))",
        stream,
    )
    if row is not None:
        return uuid.UUID(row)
    return await owner_for_contact(pool, None, None)

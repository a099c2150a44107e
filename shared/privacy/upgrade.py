"""Bringing data stored by earlier versions up to today's protection.

Before keys were wrapped by default, a complainant's data key was stored as
it is unless ``TOUSU_PRIVACY_KEY`` was set; before the outbox sealed
contacts, notices kept the recipient and name in plain text. Both are fixed
here, idempotently: `tousu migrate` and `tousu up` run it after the SQL
migrations (see tousu/database.py), and `tousu privacy upgrade` runs it on
its own. Each step is one transaction, so a crash leaves nothing half done.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from tousu.shared.privacy.crypto import master_key, open_box, seal, wrap
from tousu.shared.privacy.erase import ERASED_RECIPIENT
from tousu.shared.privacy.keys import contact_digests, data_keys, key_for

Conn = asyncpg.Connection | PoolConnectionProxy


@dataclass(frozen=True)
class Upgraded:
    keys_wrapped: int
    notices_sealed: int

    def as_list(self) -> list[str]:
        done = []
        if self.keys_wrapped:
            done.append(f"wrapped {self.keys_wrapped} complainant keys")
        if self.notices_sealed:
            done.append(f"sealed the contacts of {self.notices_sealed} notices")
        return done


async def upgrade(conn: Conn) -> Upgraded:
    return Upgraded(await wrap_plain_keys(conn), await seal_plain_contacts(conn))


async def wrap_plain_keys(conn: Conn) -> int:
    """Wrap every data key stored unwrapped; how many were.

    Their contact digests were keyed with the published legacy key (they were
    made without a master key): they are made again from the sealed contact
    details, with today's digest key, in the same transaction.
    """
    master = master_key()
    async with conn.transaction():
        rows = await conn.fetch(
            "SELECT complainant_id, data_key, phone_digest, email_digest FROM complainant_keys "
            "WHERE NOT wrapped AND data_key IS NOT NULL FOR UPDATE"
        )
        for r in rows:
            await _digest_again(conn, r)
        if rows:
            await conn.execute(
                "UPDATE complainant_keys k SET data_key = w.key, wrapped = true "
                "FROM unnest($1::uuid[], $2::bytea[]) AS w(id, key) "
                "WHERE k.complainant_id = w.id",
                [r["complainant_id"] for r in rows],
                [wrap(r["data_key"], r["complainant_id"], master) for r in rows],
            )
    return len(rows)


async def _digest_again(conn: Conn, row: asyncpg.Record) -> None:
    owner: uuid.UUID = row["complainant_id"]
    boxes = await conn.fetch(
        "SELECT data -> 'complainant' ->> 'sealed' AS sealed FROM events "
        "WHERE type = 'ComplaintReceived' AND data -> 'complainant' ->> 'key' = $1 "
        "AND data -> 'complainant' ? 'sealed' ORDER BY global_position",
        str(owner),
    )
    phone = email = None
    for b in boxes:
        fields = open_box(row["data_key"], owner, b["sealed"])
        phone, email = phone or fields.get("phone"), email or fields.get("email")
    # A digest that was not there stays absent; one whose contact cannot be
    # found any more is dropped rather than left guessable.
    new_phone, new_email = contact_digests(phone, email)
    await conn.execute(
        "UPDATE complainant_keys SET phone_digest = $2, email_digest = $3 "
        "WHERE complainant_id = $1",
        owner,
        new_phone if row["phone_digest"] is not None else None,
        new_email if row["email_digest"] is not None else None,
    )


async def seal_plain_contacts(conn: Conn) -> int:
    """Seal the contacts the outbox holds in plain text; how many notices had some.

    Each is sealed with the key of its complaint's complainant (or, for a
    complaint stored before sealing, the key found or made from the contact).
    An erased complainant's notice loses its contact instead.
    """
    async with conn.transaction():
        rows = await conn.fetch(
            "SELECT n.id, n.channel, n.recipient, n.recipient_name, "
            "  (e.data -> 'complainant' ->> 'key')::uuid AS owner "
            "FROM notifications n "
            "LEFT JOIN events e ON e.stream_id = 'complaint-' || n.complaint_id::text "
            "  AND e.type = 'ComplaintReceived' "
            "WHERE n.sealed_contact IS NULL AND (n.recipient_name IS NOT NULL "
            "  OR (n.recipient IS NOT NULL AND n.recipient <> $1)) "
            "FOR UPDATE OF n",
            ERASED_RECIPIENT,
        )
        keys = await data_keys(conn, [r["owner"] for r in rows if r["owner"] is not None])
        for r in rows:
            owner: uuid.UUID | None = r["owner"]
            key = keys.get(owner) if owner is not None else None
            if owner is not None and key is None:  # erased: no one to send it to
                await conn.execute(
                    "UPDATE notifications SET recipient = CASE WHEN channel = 'web' "
                    "  THEN NULL ELSE $2 END, recipient_name = NULL, "
                    "status = CASE WHEN status = 'sent' THEN status ELSE 'dead' END "
                    "WHERE id = $1",
                    r["id"],
                    ERASED_RECIPIENT,
                )
                continue
            if owner is None or key is None:
                phone = r["recipient"] if r["channel"] == "sms" else None
                email = r["recipient"] if r["channel"] == "email" else None
                owner, key = await key_for(conn, phone, email)
            box = seal(
                key, owner, {"recipient": r["recipient"], "recipient_name": r["recipient_name"]}
            )
            await conn.execute(
                "UPDATE notifications SET recipient = NULL, recipient_name = NULL, "
                "complainant_id = $2, sealed_contact = $3 WHERE id = $1",
                r["id"],
                owner,
                box,
            )
    return len(rows)

"""The ``complainant_keys`` table: a data key per complainant.

Who is one complainant: the same normalised phone number, or without one the
same e-mail address, or without either the same WeChat OpenID, is the same
person, so their complaints share a key and one erasure reaches all of them.
A complainant with none of them (anonymous, or a name and address only) gets
a key of their own for that complaint.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from tousu.shared.privacy.crypto import digest, digest_key, master_key, new_data_key, unwrap, wrap

Queryable = asyncpg.Connection | PoolConnectionProxy | asyncpg.Pool


def contact_digests(phone: str | None, email: str | None) -> tuple[bytes | None, bytes | None]:
    key = digest_key()
    return (
        digest(phone, key) if phone else None,
        digest(email.strip().lower(), key) if email else None,
    )


def wechat_digest(openid: str | None) -> bytes | None:
    """The keyed digest of a WeChat OpenID (prefixed: never equal to a phone's)."""
    return digest(f"wechat:{openid.strip()}", digest_key()) if openid else None


async def key_for(
    conn: asyncpg.Connection | PoolConnectionProxy,
    phone: str | None,
    email: str | None,
    wechat_openid: str | None = None,
) -> tuple[uuid.UUID, bytes]:
    """The complainant and data key for these contact details, made if new.

    Run in the transaction that stores the event, so that a key exists if and
    only if something was sealed with it. The OpenID counts only without a
    phone number and an e-mail address.
    """
    phone_digest, email_digest = contact_digests(phone, email)
    master = master_key()
    if phone_digest is None and email_digest is None and wechat_openid:
        return await _key_for_wechat(conn, wechat_digest(wechat_openid), master)
    for _ in range(2):
        row = await _existing(conn, phone_digest, email_digest)
        if row is not None:
            if phone_digest and email_digest:
                await conn.execute(
                    "UPDATE complainant_keys SET email_digest = $2 "
                    "WHERE complainant_id = $1 AND email_digest IS NULL",
                    row["complainant_id"],
                    email_digest,
                )
            owner = row["complainant_id"]
            return owner, unwrap(row["data_key"], owner, row["wrapped"], master)
        owner, key = uuid.uuid4(), new_data_key()
        # A concurrent first complaint from the same phone number: the unique
        # index makes one of the two wait and insert nothing, then find the other.
        inserted = await conn.fetchval(
            "INSERT INTO complainant_keys "
            "(complainant_id, phone_digest, email_digest, data_key, wrapped) "
            "VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (phone_digest) WHERE erased_at IS NULL DO NOTHING RETURNING 1",
            owner,
            phone_digest,
            email_digest,
            wrap(key, owner, master),
            True,  # never stored unwrapped
        )
        if inserted:
            return owner, key
    raise RuntimeError("could not find or make a complainant key")


async def _key_for_wechat(
    conn: asyncpg.Connection | PoolConnectionProxy, found_by: bytes | None, master: bytes
) -> tuple[uuid.UUID, bytes]:
    for _ in range(2):
        row = await conn.fetchrow(
            "SELECT complainant_id, data_key, wrapped FROM complainant_keys "
            "WHERE wechat_digest = $1 AND erased_at IS NULL",
            found_by,
        )
        if row is not None:
            owner = row["complainant_id"]
            return owner, unwrap(row["data_key"], owner, row["wrapped"], master)
        owner, key = uuid.uuid4(), new_data_key()
        # As by phone: of two first complaints at once, one inserts, the other finds it.
        inserted = await conn.fetchval(
            "INSERT INTO complainant_keys (complainant_id, wechat_digest, data_key, wrapped) "
            "VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (wechat_digest) WHERE erased_at IS NULL DO NOTHING RETURNING 1",
            owner,
            found_by,
            wrap(key, owner, master),
            True,
        )
        if inserted:
            return owner, key
    raise RuntimeError("could not find or make a complainant key")


async def _existing(
    conn: Queryable, phone_digest: bytes | None, email_digest: bytes | None
) -> asyncpg.Record | None:
    if phone_digest is not None:
        return await conn.fetchrow(
            "SELECT complainant_id, data_key, wrapped FROM complainant_keys "
            "WHERE phone_digest = $1 AND erased_at IS NULL",
            phone_digest,
        )
    if email_digest is not None:
        return await conn.fetchrow(
            "SELECT complainant_id, data_key, wrapped FROM complainant_keys "
            "WHERE email_digest = $1 AND erased_at IS NULL ORDER BY created_at LIMIT 1",
            email_digest,
        )
    return None


async def data_keys(conn: Queryable, owners: Iterable[uuid.UUID]) -> dict[uuid.UUID, bytes | None]:
    """Each complainant's data key; None for an erased one (or one never stored).

    Not cached: an erasure must take effect in every process at once.
    """
    wanted = list(set(owners))
    if not wanted:
        return {}
    rows = await conn.fetch(
        "SELECT complainant_id, data_key, wrapped FROM complainant_keys "
        "WHERE complainant_id = any($1::uuid[]) AND data_key IS NOT NULL",
        wanted,
    )
    master = master_key()
    found: dict[uuid.UUID, bytes | None] = dict.fromkeys(wanted)
    for r in rows:
        found[r["complainant_id"]] = unwrap(
            r["data_key"], r["complainant_id"], r["wrapped"], master
        )
    return found


async def keys_by_contact(conn: Queryable, phone: str | None, email: str | None) -> list[str]:
    """The complainants (as stored in events' ``complainant.key``) with this
    normalised phone number or e-mail address: how duplicates are looked up
    now that events hold no plain contact details."""
    phone_digest, email_digest = contact_digests(phone, email)
    if phone_digest is None and email_digest is None:
        return []
    rows = await conn.fetch(
        "SELECT complainant_id FROM complainant_keys "
        "WHERE erased_at IS NULL AND (phone_digest = $1 OR email_digest = $2)",
        phone_digest,
        email_digest,
    )
    return [str(r["complainant_id"]) for r in rows]

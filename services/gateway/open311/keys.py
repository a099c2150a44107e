"""API keys of Open311 client applications (table ``open311_keys``).

A key is shown once, when made; only its SHA-256 is stored, like the staff
tokens. Posting a request needs a key; reading does not (as in the spec).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from tousu.services.gateway.auth.tokens import new_token, token_digest

Db = asyncpg.Pool | asyncpg.Connection

KEY_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class KeyNameTaken(Exception):
    pass


class InvalidKeyName(ValueError):
    pass


@dataclass(frozen=True)
class IssuedKey:
    """A new key; ``key`` is the only copy of the secret there will ever be."""

    id: uuid.UUID
    name: str
    key: str
    created_at: datetime


@dataclass(frozen=True)
class KeyInfo:
    id: uuid.UUID
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class Client:
    """Whoever presented a valid key."""

    key_id: uuid.UUID
    name: str


def check_name(name: str) -> str:
    name = name.strip().lower()
    if not KEY_NAME.match(name):
        raise InvalidKeyName(
            f"name {name!r} is not valid: 1-64 characters, lower-case letters, digits, "
            "'.', '_' or '-', starting with a letter or digit"
        )
    return name


async def add_key(db: Db, name: str) -> IssuedKey:
    name = check_name(name)
    key = new_token()
    try:
        row = await db.fetchrow(
            "INSERT INTO open311_keys (name, key_hash) VALUES ($1, $2) RETURNING id, created_at",
            name,
            token_digest(key),
        )
    except asyncpg.UniqueViolationError:
        raise KeyNameTaken(f"an Open311 key named {name!r} exists already") from None
    assert row is not None
    return IssuedKey(row["id"], name, key, row["created_at"])


async def list_keys(db: Db) -> list[KeyInfo]:
    rows = await db.fetch(
        "SELECT id, name, created_at, last_used_at, revoked_at FROM open311_keys ORDER BY name"
    )
    return [KeyInfo(**dict(r)) for r in rows]


async def revoke_key(db: Db, name: str) -> KeyInfo | None:
    """Revoke the key named ``name`` (revoking twice keeps the first instant); None if unknown."""
    row = await db.fetchrow(
        """UPDATE open311_keys SET revoked_at = coalesce(revoked_at, now())
           WHERE name = $1
           RETURNING id, name, created_at, last_used_at, revoked_at""",
        name.strip().lower(),
    )
    return KeyInfo(**dict(row)) if row is not None else None


async def authenticate(db: Db, key: str) -> Client | None:
    """The client holding ``key``, if it is a key not revoked; marks it used."""
    row = await db.fetchrow(
        """UPDATE open311_keys SET last_used_at = now()
           WHERE key_hash = $1 AND revoked_at IS NULL
           RETURNING id, name""",
        token_digest(key),
    )
    return Client(row["id"], row["name"]) if row is not None else None

"""Each department's webhook: its URL and secret (table ``department_webhooks``).

tousu needs the secret in plain to sign, so it cannot keep a hash of it; it
keeps it sealed (AES-GCM) with a key derived from the key-encryption key of
personal data (``TOUSU_PRIVACY_KEY`` or ``<data_dir>/privacy-key``, which the
followup service has anyway to open the outbox's contacts): a copy of the
database alone does not let anyone sign as tousu.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import asyncpg

from tousu.services.followup.webhooks.signing import new_secret
from tousu.shared.privacy.crypto import master_key, open_box, seal
from tousu.shared.store.postgres import Connection

# NOTIFY'd after a webhook is added or removed.
CHANGED = "tousu_webhooks_changed"

_DEPARTMENT = re.compile(r"^[A-Za-z0-9_-]+$")


class InvalidWebhook(ValueError):
    """A department or URL that cannot be configured; the message says why."""


@dataclass(frozen=True)
class Endpoint:
    department: str
    id: uuid.UUID
    url: str
    active: bool
    created_at: datetime


def _sealing_key() -> bytes:
    # Derived, never the key-encryption key itself: one key, one purpose.
    return hmac.new(master_key(), b"tousu webhook secrets", hashlib.sha256).digest()


def seal_secret(webhook_id: uuid.UUID, secret: str) -> str:
    return seal(_sealing_key(), webhook_id, {"secret": secret})


def open_secret(webhook_id: uuid.UUID, sealed: str) -> str:
    return str(open_box(_sealing_key(), webhook_id, sealed)["secret"])


def check(department: str, url: str, known: frozenset[str] | None) -> None:
    """Refuse a department the register does not have, or a URL that is not http(s)."""
    if not _DEPARTMENT.match(department) or department == "_":
        raise InvalidWebhook(f"department {department!r} is not a valid code")
    if known is not None and department not in known:
        raise InvalidWebhook(
            f"unknown department {department!r}: one of the commitment register's "
            f"({', '.join(sorted(known))})"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidWebhook(f"{url!r} is not an http(s) URL")


async def add(
    conn: Connection | asyncpg.Pool,
    department: str,
    url: str,
    *,
    known: frozenset[str] | None = None,
    replace: bool = False,
) -> str:
    """Configure ``department``'s webhook; return its new secret (shown once).

    Checked first (:func:`check`; ``known``: the register's departments), so
    whoever calls it stores nothing refused. A department has one endpoint;
    ``replace`` gives it a new URL and secret (a removed one is configured
    again either way).
    """
    check(department, url, known)
    webhook_id = uuid.uuid4()
    secret = new_secret()
    row = await conn.fetchrow(
        """INSERT INTO department_webhooks (department, id, url, sealed_secret)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (department) DO UPDATE
           SET id = excluded.id, url = excluded.url, sealed_secret = excluded.sealed_secret,
               active = true, created_at = now()
           WHERE $5 OR NOT department_webhooks.active
           RETURNING department""",
        department,
        webhook_id,
        url,
        seal_secret(webhook_id, secret),
        replace,
    )
    if row is None:
        raise InvalidWebhook(
            f"{department} has a webhook already: `tousu webhooks add {department} URL "
            "--replace` gives it a new URL and secret"
        )
    await announce(conn)
    return secret


async def remove(conn: Connection | asyncpg.Pool, department: str) -> bool:
    """Stop delivering to ``department`` (its log stays); False if it had no active webhook.

    Deliveries not yet made wait, unsent, until a webhook is configured again.
    """
    status = await conn.execute(
        "UPDATE department_webhooks SET active = false WHERE department = $1 AND active",
        department,
    )
    removed = status.rsplit(" ", 1)[-1] != "0"
    if removed:
        await announce(conn)
    return removed


async def list_endpoints(conn: Connection | asyncpg.Pool) -> list[Endpoint]:
    rows = await conn.fetch(
        "SELECT department, id, url, active, created_at FROM department_webhooks "
        "ORDER BY department"
    )
    return [Endpoint(**dict(r)) for r in rows]


async def active_departments(conn: Connection | asyncpg.Pool) -> frozenset[str]:
    rows = await conn.fetch("SELECT department FROM department_webhooks WHERE active")
    return frozenset(r["department"] for r in rows)


async def announce(conn: Connection | asyncpg.Pool) -> None:
    """Tell every followup process that the active webhooks changed
    (services/followup/webhooks/active.py)."""
    await conn.execute("SELECT pg_notify($1, '')", CHANGED)


async def is_active(conn: Connection | asyncpg.Pool, department: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT active FROM department_webhooks WHERE department = $1", department
        )
    )

"""Sealing a complainant's personal fields before an event is stored.

The event store calls :func:`sealed_data` on every append, so whichever
service writes a ``ComplaintReceived`` the stored row, what the relay
publishes to JetStream and every backup hold only ciphertext. The domain
never sees a sealed value being made: it decides on plain data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from tousu.shared.events import NewEvent
from tousu.shared.privacy.crypto import seal
from tousu.shared.privacy.keys import key_for

PERSONAL_FIELDS = ("name", "phone", "email", "address", "id_number", "wechat_openid")
# Set by sealing only: a client's copy of them is dropped, never trusted.
_SEAL_FIELDS = ("key", "sealed", "erased")
_CARRIERS = frozenset({"ComplaintReceived"})


async def sealed_data(
    conn: asyncpg.Connection | PoolConnectionProxy, events: Sequence[NewEvent]
) -> list[dict[str, Any]]:
    """Each event's data as it is to be stored."""
    return [await _sealed(conn, e.data) if e.type in _CARRIERS else e.data for e in events]


async def _sealed(
    conn: asyncpg.Connection | PoolConnectionProxy, data: dict[str, Any]
) -> dict[str, Any]:
    who = data.get("complainant")
    if not isinstance(who, dict):
        return data
    personal = {f: who[f] for f in PERSONAL_FIELDS if who.get(f) is not None}
    kept = {k: v for k, v in who.items() if k not in PERSONAL_FIELDS and k not in _SEAL_FIELDS}
    if personal:
        owner, key = await key_for(
            conn, personal.get("phone"), personal.get("email"), personal.get("wechat_openid")
        )
        kept["key"] = str(owner)
        kept["sealed"] = seal(key, owner, personal)
    return {**data, "complainant": kept}

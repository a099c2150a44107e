"""The relay's quarantine: events it could not publish, set aside with their reason.

The one owner of the ``relay_quarantine`` table (migration 0016): the relay
writes and reads it while publishing, ``tousu relay quarantine`` lists,
shows and releases, ``/metrics`` and ``/readyz`` count it.

A row means "handled in commit order": the relay skips the event whenever it
reads it again (after a resume, say), so the events after it keep flowing and
the stream never holds it out of place by accident. Releasing a row asks the
relay to publish the event once more, at the stream's end (see
:mod:`tousu.services.relay.publisher`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from tousu.shared.store.postgres import NOTIFY_CHANNEL

Db = asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy
Status = Literal["held", "released", "published"]

# Why an event was set aside; the detail says more.
INVALID_SUBJECT = "invalid_subject"  # no valid subject can be made from it
TOO_LARGE = "too_large"  # larger than the NATS server's max_payload
REJECTED = "rejected"  # JetStream refused the message itself (e.g. the stream's max_msg_size)
UNREADABLE = "unreadable"  # the stored row is no valid event envelope

_COLUMNS = """event_id, global_position, stream_id, version, type, department, reason,
    detail, status, attempts, quarantined_at, released_at, released_by, published_at"""

# A second failure (after a release) puts the row back on hold, counted.
_SET_ASIDE = """
INSERT INTO relay_quarantine (event_id, global_position, stream_id, version, type,
                              department, reason, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (event_id) DO UPDATE
SET reason = excluded.reason, detail = excluded.detail, status = 'held',
    attempts = relay_quarantine.attempts + 1, quarantined_at = now()
"""


class StoredEvent(Protocol):
    """What the quarantine keeps of an event (an envelope or an unreadable row)."""

    @property
    def event_id(self) -> uuid.UUID: ...
    @property
    def global_position(self) -> int: ...
    @property
    def stream_id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def department(self) -> str | None: ...


@dataclass(frozen=True)
class Entry:
    event_id: uuid.UUID
    global_position: int
    stream_id: str
    version: int
    type: str
    department: str | None
    reason: str
    detail: str
    status: Status
    attempts: int
    quarantined_at: datetime
    released_at: datetime | None
    released_by: str | None
    published_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "global_position": self.global_position,
            "stream_id": self.stream_id,
            "version": self.version,
            "type": self.type,
            "department": self.department,
            "reason": self.reason,
            "detail": self.detail,
            "status": self.status,
            "attempts": self.attempts,
            "quarantined_at": self.quarantined_at.isoformat(),
            "released_at": self.released_at.isoformat() if self.released_at else None,
            "released_by": self.released_by,
            "published_at": self.published_at.isoformat() if self.published_at else None,
        }


def _entry(row: asyncpg.Record) -> Entry:
    return Entry(**dict(row))


async def set_aside(db: Db, envelope: StoredEvent, reason: str, detail: str) -> None:
    await db.execute(
        _SET_ASIDE,
        envelope.event_id,
        envelope.global_position,
        envelope.stream_id,
        envelope.version,
        envelope.type,
        envelope.department,
        reason,
        detail,
    )


async def handled_among(db: Db, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Those of ``event_ids`` that are in the quarantine, whatever their status."""
    if not event_ids:
        return set()
    rows = await db.fetch(
        "SELECT event_id FROM relay_quarantine WHERE event_id = ANY($1::uuid[])", list(event_ids)
    )
    return {row["event_id"] for row in rows}


async def in_use(db: Db) -> bool:
    """Whether the quarantine holds any entry at all, whatever its status."""
    return bool(await db.fetchval("SELECT EXISTS (SELECT 1 FROM relay_quarantine)"))


async def open_count(db: Db) -> int:
    """Events set aside and not (yet) published: what ``/readyz`` and ``/metrics`` show."""
    return int(
        await db.fetchval("SELECT count(*) FROM relay_quarantine WHERE status <> 'published'")
    )


async def readiness_check(db: Db) -> str:
    """``/readyz``'s answer: "ok", or "degraded" with the number of events held."""
    count = await open_count(db)
    if not count:
        return "ok"
    return f"degraded: {count} event(s) in the relay quarantine (tousu relay quarantine list)"


async def entries(db: Db, *, everything: bool = False) -> list[Entry]:
    """Open entries in commit-position order; ``everything`` adds the published ones."""
    where = "" if everything else "WHERE status <> 'published'"
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM relay_quarantine {where} ORDER BY global_position"
    )
    return [_entry(row) for row in rows]


async def entry(db: Db, event_id: uuid.UUID) -> Entry | None:
    row = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM relay_quarantine WHERE event_id = $1", event_id
    )
    return _entry(row) if row is not None else None


async def release(db: Db, event_ids: Sequence[uuid.UUID] | None, by: str) -> list[uuid.UUID]:
    """Ask the relay to publish these held events again (None: every held one)."""
    rows = await db.fetch(
        "UPDATE relay_quarantine SET status = 'released', released_at = now(), released_by = $2 "
        "WHERE status = 'held' AND ($1::uuid[] IS NULL OR event_id = ANY($1::uuid[])) "
        "RETURNING event_id",
        None if event_ids is None else list(event_ids),
        by,
    )
    if rows:
        # Wakes the relay as an append does, rather than at its next idle check.
        await db.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
    return sorted(row["event_id"] for row in rows)


async def released(db: Db, limit: int) -> list[Entry]:
    """Released entries the relay has still to publish, oldest first."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM relay_quarantine WHERE status = 'released' "
        "ORDER BY global_position LIMIT $1",
        limit,
    )
    return [_entry(row) for row in rows]


async def mark_published(db: Db, event_id: uuid.UUID) -> None:
    await db.execute(
        "UPDATE relay_quarantine SET status = 'published', published_at = now() "
        "WHERE event_id = $1",
        event_id,
    )

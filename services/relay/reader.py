"""The relay's reading of the store: a row that is no valid envelope does not stop it.

The store validates every row it reads as an :class:`Envelope`; a row written
around tousu (by hand, by a faulty migration) that fails would make every
read of its batch fail, and the relay would halt on it. Here such a row is
found and handed on as :class:`Unreadable`, in its place in commit order,
for the relay to set aside.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg
from pydantic import ValidationError

from tousu.shared.events import Envelope
from tousu.shared.store.postgres import PostgresEventStore

_COLUMNS = """global_position, event_id, stream_id, version, type, schema_version,
    occurred_at, recorded_at, correlation_id, causation_id, actor, department, data"""
# The next row after a read_all position, in read_all's order (commit order,
# readable transactions only).
_NEXT_ROW = f"""
SELECT {_COLUMNS} FROM events
WHERE (tx_id, global_position) >
      (coalesce((SELECT tx_id FROM events WHERE global_position = $1), '0'::xid8), $1::bigint)
  AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY tx_id, global_position
LIMIT 1
"""


@dataclass(frozen=True)
class Unreadable:
    """A stored row that is not a valid event envelope."""

    global_position: int
    event_id: uuid.UUID
    stream_id: str
    version: int
    type: str
    department: str | None
    error: str


Item = Envelope | Unreadable


async def read_items(store: PostgresEventStore, after: int, limit: int) -> list[Item]:
    """Up to ``limit`` rows after ``after`` in commit order, unreadable ones included."""
    items: list[Item] = []
    position = after
    while len(items) < limit:
        try:
            items.extend(await store.read_all(after=position, limit=limit - len(items)))
            return items
        except ValidationError:
            pass
        # Some row of that page is bad: take the rows one by one up to it.
        while True:
            try:
                page = await store.read_all(after=position, limit=1)
            except ValidationError:
                row = await _next_row(store.pool, position)
                if row is None:  # cannot be: the next round reads again
                    return items
                items.append(row)
                position = row.global_position
                break
            if not page:
                return items
            items.extend(page)
            position = page[-1].global_position
            if len(items) >= limit:
                return items
    return items


async def read_event(pool: asyncpg.Pool, event_id: uuid.UUID) -> Item | None:
    """One stored event by id, readable or not; None when there is none."""
    row = await pool.fetchrow(f"SELECT {_COLUMNS} FROM events WHERE event_id = $1", event_id)
    return _item(row)


async def _next_row(pool: asyncpg.Pool, after: int) -> Item | None:
    return _item(await pool.fetchrow(_NEXT_ROW, after))


def _item(row: asyncpg.Record | None) -> Item | None:
    if row is None:
        return None
    try:
        return Envelope.model_validate(dict(row))
    except ValidationError as exc:
        return Unreadable(
            global_position=row["global_position"],
            event_id=row["event_id"],
            stream_id=row["stream_id"],
            version=row["version"],
            type=row["type"],
            department=row["department"],
            error=_summary(exc),
        )


def _summary(exc: ValidationError) -> str:
    """Which fields are wrong and why, without the values (they may be personal data)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
    )

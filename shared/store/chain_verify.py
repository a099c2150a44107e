"""Walking the hash chain (:mod:`tousu.shared.store.chain`) to find the first tampered event."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import asyncpg

from tousu.shared.store.chain import DIGEST, GENESIS, link
from tousu.shared.store.postgres import Connection

Kind = Literal["edited", "deleted", "reordered", "inserted"]


@dataclass(frozen=True)
class Problem:
    """The first event where the chain breaks, and why.

    ``other_*`` is the event the chain expected instead: for ``deleted``
    the missing one (just before the event named), for ``reordered`` the
    one sealed at this place.
    """

    kind: Kind
    seq: int | None
    position: int | None
    event_id: uuid.UUID | None
    stream_id: str | None
    type: str | None
    other_position: int | None = None
    other_event_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ChainReport:
    verified: int  # seals checked before the first problem (all of them when intact)
    sealed: int
    unsealed: int  # the newest events, committed after the last seal
    # The last seal's hash when intact: recorded elsewhere, it exposes a chain
    # rewritten from some event on.
    head: bytes | None
    problem: Problem | None

    @property
    def intact(self) -> bool:
        return self.problem is None


_WALK = f"""
SELECT s.seq, s.global_position AS sealed_position, s.tx_id AS sealed_tx,
       s.event_id AS sealed_id, s.hash, e.global_position, e.event_id, e.tx_id,
       e.stream_id, e.type, {DIGEST} AS digest
FROM event_seals s LEFT JOIN events e ON e.global_position = s.global_position
ORDER BY s.seq
"""

_NEXT = """
SELECT global_position, event_id, stream_id, type FROM events
WHERE (tx_id, global_position) > ($1::xid8, $2::bigint)
ORDER BY tx_id, global_position LIMIT 1
"""

_INSERTED = """
SELECT e.global_position, e.event_id, e.stream_id, e.type FROM events e
WHERE (e.tx_id, e.global_position) <= ($1::xid8, $2::bigint)
  AND NOT EXISTS (SELECT 1 FROM event_seals s WHERE s.global_position = e.global_position)
ORDER BY e.tx_id, e.global_position LIMIT 1
"""


async def count_seals(conn: Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM event_seals"))


async def verify_chain(
    conn: Connection, progress: Callable[[int], None] = lambda _: None
) -> ChainReport:
    """Recompute the chain in seal order and stop at the first break.

    Run it in a REPEATABLE READ transaction so that the seals and the events
    are read as of one instant. ``progress`` gets the number of seals
    checked every 5,000.
    """
    sealed = await count_seals(conn)
    previous = GENESIS
    expected = 1
    last: tuple[int, int] = (0, 0)  # (tx_id, position) of the last sealed event
    async for row in conn.cursor(_WALK, prefetch=5000):
        problem = await _check(conn, row, expected, last)
        if problem is None and link(previous, row["seq"], row["digest"]) != row["hash"]:
            problem = _named("edited", row)
        if problem is not None:
            return ChainReport(expected - 1, sealed, 0, None, problem)
        previous = row["hash"]
        last = (row["sealed_tx"], row["sealed_position"])
        expected += 1
        if expected % 5000 == 1:
            progress(expected - 1)
    verified = expected - 1
    progress(verified)
    if verified and (inserted := await conn.fetchrow(_INSERTED, *last)) is not None:
        problem = Problem("inserted", None, *_event(inserted))
        return ChainReport(verified, sealed, 0, None, problem)
    unsealed = await conn.fetchval(
        "SELECT count(*) FROM events WHERE (tx_id, global_position) > ($1::xid8, $2::bigint)",
        *last,
    )
    return ChainReport(verified, sealed, int(unsealed), previous if verified else None, None)


async def _check(
    conn: Connection, row: asyncpg.Record, expected: int, last: tuple[int, int]
) -> Problem | None:
    """What is wrong with this seal's place in the chain, hash aside."""
    if row["seq"] != expected:  # seals (with their events) were removed
        return _named("deleted", row)
    if row["event_id"] is None:  # the event row is gone; name the one after the gap
        after = await conn.fetchrow(_NEXT, row["sealed_tx"], row["sealed_position"])
        position, event_id, stream_id, type_ = _event(after) if after else (None,) * 4
        return Problem(
            "deleted",
            row["seq"] + 1 if after else row["seq"],
            position,
            event_id,
            stream_id,
            type_,
            other_position=row["sealed_position"],
            other_event_id=row["sealed_id"],
        )
    moved = row["event_id"] != row["sealed_id"] or row["tx_id"] != row["sealed_tx"]
    if moved or (row["sealed_tx"], row["sealed_position"]) <= last:
        return replace(
            _named("reordered", row),
            other_position=row["sealed_position"],
            other_event_id=row["sealed_id"],
        )
    return None


def _named(kind: Kind, row: asyncpg.Record) -> Problem:
    return Problem(kind, row["seq"], *_event(row))


def _event(row: asyncpg.Record) -> tuple[int, uuid.UUID, str, str]:
    return row["global_position"], row["event_id"], row["stream_id"], row["type"]

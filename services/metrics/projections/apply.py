"""Bring projections' tables forward over the next events in ``read_all`` order."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tousu.services.metrics.projections.base import Projection, Row
from tousu.services.metrics.projections.state import Place
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.events import Envelope
from tousu.shared.events.envelope import STREAM_PREFIX
from tousu.shared.store import EventStore
from tousu.shared.store.errors import UnknownPosition
from tousu.shared.store.postgres import Connection, read_positions, read_streams

CalendarSource = Callable[[], WorkdayCalendar]


@dataclass(frozen=True)
class Step:
    position: int  # the last event taken, or the position started from
    events: int


# Whether anything is readable past the one of the named projections (those
# at the schema version given) that is furthest behind: one statement, a few
# index lookups. (Not EXISTS: its plan expects many rows to match and scans
# the table, which finds none when there is nothing new.) Positions compare
# in ``read_all`` order, (tx_id, position), not by number: a later
# transaction can hold a smaller position. An unknown position compares as
# the start (a step then reports it).
_PENDING = """
WITH slowest AS (
    SELECT s.position, coalesce(e.tx_id, '0'::xid8) AS tx_id
    FROM projection_state s
    JOIN unnest($1::text[], $2::int[]) AS o(name, schema_version) USING (name, schema_version)
    LEFT JOIN events e ON e.global_position = s.position
    ORDER BY 2, 1
    LIMIT 1
)
SELECT (
    SELECT global_position FROM events
    WHERE (tx_id, global_position) > ((SELECT tx_id FROM slowest), (SELECT position FROM slowest))
      AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY tx_id, global_position
    LIMIT 1
) IS NOT NULL
"""


async def pending(conn: Connection, projections: Sequence[Projection]) -> bool:
    """Whether the store has events past the furthest behind of
    ``projections`` (of those whose table has their schema version)."""
    return bool(
        await conn.fetchval(
            _PENDING,
            [p.name for p in projections],
            [p.schema_version for p in projections],
        )
    )


async def next_events(conn: Connection, after: Place, limit: int) -> list[tuple[str, int]]:
    """(stream, position) of the next events after ``after`` in ``read_all``
    order, at most ``limit``: what ``read_all`` returns, without the events.

    Run it before the transaction writes anything: a transaction holding an
    id keeps every reader, itself too, below it (the horizon is the oldest
    open one).
    """
    if after.position and after.tx_id is None:
        raise UnknownPosition(f"no event at global position {after.position}")
    return await read_positions(conn, after.tx_id or 0, after.position, limit)


@dataclass(frozen=True)
class Share:
    """What one projection takes of a batch."""

    projection: Projection
    streams: list[str]  # touched by the events it takes, first touch first


def shares(
    batch: Sequence[tuple[str, int]], start: int, positions: dict[Projection, int]
) -> list[Share]:
    """Split a batch, read after ``start`` (the position furthest behind in
    ``read_all`` order), among projections at ``positions``.

    ``read_all`` order is one sequence and the batch a stretch of it, so a
    projection at ``start`` takes the whole batch, one at an event of the
    batch takes the rest of it (what reading after its own position would
    have returned, up to the batch's end), and one past the batch's end
    takes nothing this time: the others catch up to it first.
    """
    index = {position: i for i, (_, position) in enumerate(batch)}
    out = []
    for projection, position in positions.items():
        if position == start:
            taken = batch
        elif position in index:
            taken = batch[index[position] + 1 :]
        else:
            continue
        if taken:
            out.append(Share(projection, list(dict.fromkeys(s for s, _ in taken))))
    return out


async def replace_rows(
    conn: Connection,
    projection: Projection,
    table: str,
    histories: Sequence[Sequence[Envelope]],
    calendar: WorkdayCalendar,
) -> int:
    """Write these complaints' rows afresh from their whole histories."""
    ids = [
        uuid.UUID(h[0].stream_id.removeprefix(STREAM_PREFIX))
        for h in histories
        if h and h[0].stream_id.startswith(STREAM_PREFIX)
    ]
    if ids:
        await projection.rows_leaving(conn, table, ids)
        await conn.execute(f"DELETE FROM {table} WHERE {projection.key} = any($1::uuid[])", ids)
    written = await write_rows(conn, projection, table, histories, calendar)
    if ids:
        await projection.rows_written(conn, table, ids)
    return written


async def write_rows(
    conn: Connection,
    projection: Projection,
    table: str,
    histories: Sequence[Sequence[Envelope]],
    calendar: WorkdayCalendar,
) -> int:
    """Add these complaints' rows, computed from their whole histories, to a
    table that has none of them yet."""
    rows: list[Row] = [r for h in histories for r in projection.rows(h, calendar)]
    if rows:
        await conn.copy_records_to_table(table, records=rows, columns=projection.columns)
    return len(rows)


async def catch_up(
    conn: Connection,
    store: EventStore,
    projection: Projection,
    table: str,
    after: int,
    calendar: WorkdayCalendar,
    limit: int = 1000,
) -> Step:
    """Project the events after ``after`` (at most ``limit``) into ``table``.

    Each touched complaint's rows are recomputed from its whole stream, read
    on ``conn``: a complaint's rows never depend on which batch its events
    arrived in.
    """
    events = await store.read_all(after, limit)
    if not events:
        return Step(after, 0)
    streams = list(dict.fromkeys(e.stream_id for e in events))
    histories = await read_streams(conn, streams)
    await replace_rows(conn, projection, table, [histories[s] for s in streams], calendar)
    return Step(events[-1].global_position, len(events))

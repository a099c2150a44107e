"""Bring a projection's table forward over the next events in ``read_all`` order."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tousu.services.metrics.projections.base import Projection, Row
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.events import Envelope
from tousu.shared.events.envelope import STREAM_PREFIX
from tousu.shared.store import EventStore
from tousu.shared.store.postgres import Connection, read_streams

CalendarSource = Callable[[], WorkdayCalendar]


@dataclass(frozen=True)
class Step:
    position: int  # the last event taken, or the position started from
    events: int


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

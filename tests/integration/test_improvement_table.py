"""The improvement_items table's overdue query (what the appraisal counts),
against real PostgreSQL: due window, as-of horizon, closings on time or late."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from tousu.services.metrics.improvements import table
from tousu.services.metrics.improvements.views import overdue_items
from tousu.shared.events import Envelope
from tousu.shared.events.envelope import Actor
from tousu.shared.events.quality import (
    IMPROVEMENT_PREFIX,
    ImprovementItemClosed,
    ImprovementItemOpened,
)

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _envelope(item: uuid.UUID, type_: str, data: dict[str, object], at: datetime) -> Envelope:
    return Envelope(
        event_id=uuid.uuid4(),
        type=type_,
        stream_id=f"{IMPROVEMENT_PREFIX}{item}",
        version=1 if type_ == "ImprovementItemOpened" else 2,
        global_position=1,
        occurred_at=at,
        recorded_at=at,
        correlation_id=uuid.uuid4(),
        causation_id=None,
        actor=Actor(id="h1", role="handler", department="water"),
        schema_version=1,
        data=data,
        department="water",
    )


async def _open(conn: table.Writer, due: datetime, index: int) -> uuid.UUID:
    item = uuid.uuid4()
    data = ImprovementItemOpened(
        complaint_id=str(uuid.uuid4()),
        tracking_no=f"T{index}",
        round=1,
        index=index,
        department="water",
        owner="h1",
        text=f"item {index}",
        due_at=due,
        working_days=5,
    )
    await table.record_opened(
        conn, _envelope(item, "ImprovementItemOpened", data.model_dump(mode="json"), T0)
    )
    return item


async def _close(conn: table.Writer, item: uuid.UUID, at: datetime) -> None:
    data = ImprovementItemClosed(evidence="done")
    await table.record_closed(
        conn, _envelope(item, "ImprovementItemClosed", data.model_dump(mode="json"), at)
    )


async def test_overdue_items_window_horizon_and_closings(pool: asyncpg.Pool) -> None:
    due = T0 + 10 * DAY
    async with pool.acquire() as conn:
        never_closed = await _open(conn, due, 1)
        on_time = await _open(conn, due, 2)
        late = await _open(conn, due, 3)
        outside = await _open(conn, T0 + 40 * DAY, 4)
        await _close(conn, on_time, due)  # at the due instant: on time
        await _close(conn, late, due + DAY)
    frm, to = T0, T0 + 30 * DAY

    # Before the due instant nothing is overdue yet.
    assert await overdue_items(pool, frm, to, due) == []

    # After it, before the late closing was recorded: the late one is open as known then.
    found = {i.item_id: i for i in await overdue_items(pool, frm, to, due + DAY / 2)}
    assert set(found) == {str(never_closed), str(late)}
    assert found[str(late)].closed_at is None

    # Long after: the late closing is known, the item stays overdue, with its closing.
    found = {i.item_id: i for i in await overdue_items(pool, frm, to, T0 + 60 * DAY)}
    assert set(found) == {str(never_closed), str(late)}
    assert found[str(late)].closed_at == due + DAY
    assert found[str(never_closed)].department == "water"
    assert found[str(never_closed)].owner == "h1"
    assert str(outside) not in found and str(on_time) not in found

    # The window is the due instant's: [frm, to).
    assert await overdue_items(pool, due + DAY, to, T0 + 60 * DAY) == []
    assert {i.item_id for i in await overdue_items(pool, frm, to + 30 * DAY, T0 + 60 * DAY)} == {
        str(never_closed),
        str(late),
        str(outside),
    }


async def test_lists_by_department_and_status(pool: asyncpg.Pool) -> None:
    due = T0 + 10 * DAY
    async with pool.acquire() as conn:
        late_open = await _open(conn, due, 1)
        on_time = await _open(conn, due, 2)
        late_closed = await _open(conn, due, 3)
        not_yet = await _open(conn, T0 + 40 * DAY, 4)
        await _close(conn, on_time, due - DAY)
        await _close(conn, late_closed, due + DAY)
    now = T0 + 20 * DAY

    async def ids(**kw: object) -> list[uuid.UUID]:
        return [i.item_id for i in await table.list_items(pool, now=now, **kw)]  # type: ignore[arg-type]

    assert await ids() == [late_open, on_time, late_closed, not_yet]
    assert await ids(status="open") == [late_open, not_yet]
    assert await ids(status="closed") == [on_time, late_closed]
    assert await ids(status="overdue") == [late_open, late_closed]
    assert await ids(department="water", status="overdue") == [late_open, late_closed]
    assert await ids(department="transport") == []
    assert [i.item_id for i in await table.open_overdue(pool, now=now)] == [late_open]

"""The ``improvement_items`` table's one owner: its writes (in the transaction
that appends the item's event) and every query over it.

The streams ``improvement-<id>`` are the record; a row mirrors one stream so
that lists and the appraisal need no replay. Readers outside metrics use
``tousu.services.metrics.improvements.views``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from tousu.shared.events import Envelope
from tousu.shared.events.quality import (
    IMPROVEMENT_PREFIX,
    ImprovementItemClosed,
    ImprovementItemOpened,
)

Reader = asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy
Writer = asyncpg.Connection | PoolConnectionProxy
ItemStatus = Literal["open", "overdue", "closed"]
STATUSES: tuple[ItemStatus, ...] = ("open", "overdue", "closed")


def item_id_of(stream_id: str) -> uuid.UUID:
    return uuid.UUID(stream_id.removeprefix(IMPROVEMENT_PREFIX))


@dataclass(frozen=True)
class Item:
    item_id: uuid.UUID
    complaint_id: uuid.UUID
    tracking_no: str | None
    round: int
    index: int
    department: str
    owner: str | None
    text: str
    opened_at: datetime
    due_at: datetime
    working_days: int
    status: Literal["open", "closed"]
    closed_at: datetime | None
    evidence: str | None
    closed_by: str | None

    def late_at(self, now: datetime) -> bool:
        """Past due and not done by then: still open past its due instant, or
        closed after it (a deadline is met by anything at or before it)."""
        if self.closed_at is not None:
            return self.closed_at > self.due_at
        return self.due_at < now


@dataclass(frozen=True)
class OverdueItem:
    item_id: str
    complaint_id: str
    department: str
    owner: str | None
    due_at: datetime
    closed_at: datetime | None


# -- writes ----------------------------------------------------------------------
async def record_opened(conn: Writer, envelope: Envelope) -> None:
    """The row of a stored ImprovementItemOpened; a second write of it is a no-op."""
    data = ImprovementItemOpened.model_validate(envelope.data)
    await conn.execute(
        """
        INSERT INTO improvement_items (item_id, complaint_id, tracking_no, round, idx,
            department, owner, text, opened_at, due_at, working_days, opened_recorded_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
        ON CONFLICT (item_id) DO NOTHING
        """,
        item_id_of(envelope.stream_id),
        uuid.UUID(data.complaint_id),
        data.tracking_no,
        data.round,
        data.index,
        data.department,
        data.owner,
        data.text,
        envelope.occurred_at,
        data.due_at,
        data.working_days,
        envelope.recorded_at,
    )


async def record_closed(conn: Writer, envelope: Envelope) -> None:
    """The row's closing, from a stored ImprovementItemClosed."""
    data = ImprovementItemClosed.model_validate(envelope.data)
    await conn.execute(
        """
        UPDATE improvement_items
        SET status = 'closed', closed_at = $2, evidence = $3, closed_by = $4,
            closed_recorded_at = $5
        WHERE item_id = $1
        """,
        item_id_of(envelope.stream_id),
        envelope.occurred_at,
        data.evidence,
        envelope.actor.id,
        envelope.recorded_at,
    )


# -- reads -----------------------------------------------------------------------
_ITEM = """item_id, complaint_id, tracking_no, round, idx, department, owner, text,
    opened_at, due_at, working_days, status, closed_at, evidence, closed_by"""


def _item(row: asyncpg.Record) -> Item:
    return Item(
        item_id=row["item_id"],
        complaint_id=row["complaint_id"],
        tracking_no=row["tracking_no"],
        round=row["round"],
        index=row["idx"],
        department=row["department"],
        owner=row["owner"],
        text=row["text"],
        opened_at=row["opened_at"],
        due_at=row["due_at"],
        working_days=row["working_days"],
        status=row["status"],
        closed_at=row["closed_at"],
        evidence=row["evidence"],
        closed_by=row["closed_by"],
    )


async def list_items(
    conn: Reader,
    *,
    now: datetime,
    department: str | None = None,
    status: ItemStatus | None = None,
    limit: int = 200,
) -> list[Item]:
    """Items, soonest due first; ``department`` None: every department's.

    ``overdue``: open and past due at ``now``, or closed after their due instant.
    """
    chosen = {
        None: "true",
        "open": "status = 'open'",
        "closed": "status = 'closed'",
        "overdue": "((status = 'open' AND due_at < $3::timestamptz) OR closed_at > due_at)",
    }[status]
    args: list[object] = [department, limit] + ([now] if status == "overdue" else [])
    rows = await conn.fetch(
        f"""SELECT {_ITEM} FROM improvement_items
            WHERE ($1::text IS NULL OR department = $1) AND {chosen}
            ORDER BY due_at, tracking_no, round, idx LIMIT $2""",
        *args,
    )
    return [_item(r) for r in rows]


async def item(conn: Reader, item_id: uuid.UUID) -> Item | None:
    row = await conn.fetchrow(f"SELECT {_ITEM} FROM improvement_items WHERE item_id = $1", item_id)
    return None if row is None else _item(row)


async def items_of_case(conn: Reader, complaint_id: uuid.UUID) -> list[Item]:
    rows = await conn.fetch(
        f"SELECT {_ITEM} FROM improvement_items WHERE complaint_id = $1 ORDER BY round, idx",
        complaint_id,
    )
    return [_item(r) for r in rows]


async def open_overdue(
    conn: Reader, *, now: datetime, department: str | None = None, limit: int = 200
) -> list[Item]:
    """Open items past due at ``now`` (the supervision worklist's)."""
    rows = await conn.fetch(
        f"""SELECT {_ITEM} FROM improvement_items
            WHERE status = 'open' AND due_at < $1 AND ($2::text IS NULL OR department = $2)
            ORDER BY due_at LIMIT $3""",
        now,
        department,
        limit,
    )
    return [_item(r) for r in rows]


async def overdue_items(
    conn: Reader, frm: datetime, to: datetime, as_of: datetime
) -> list[OverdueItem]:
    """Items due in ``[frm, to)`` whose due instant had passed by ``as_of`` and
    that were not closed by it, as on record at ``as_of``: an item recorded
    after ``as_of`` is not counted, and a closing recorded after ``as_of`` is
    not known yet (its ``closed_at`` comes back None)."""
    rows = await conn.fetch(
        """
        SELECT item_id, complaint_id, department, owner, due_at,
               CASE WHEN closed_recorded_at <= $3 THEN closed_at END AS closed_at
        FROM improvement_items
        WHERE due_at >= $1 AND due_at < $2 AND due_at < $3
          AND opened_recorded_at <= $3
          AND NOT (closed_recorded_at IS NOT NULL AND closed_recorded_at <= $3
                   AND closed_at <= due_at)
        ORDER BY department, due_at, item_id
        """,
        frm,
        to,
        as_of,
    )
    return [
        OverdueItem(
            item_id=str(r["item_id"]),
            complaint_id=str(r["complaint_id"]),
            department=r["department"],
            owner=r["owner"],
            due_at=r["due_at"],
            closed_at=r["closed_at"],
        )
        for r in rows
    ]

"""The ``tracking_numbers`` table: which complaint a tracking number (投诉编号)
belongs to. Intake reserves a number in the transaction that stores the
complaint, so a number is found the moment its complaint exists; this is the
one place that looks one up."""

from __future__ import annotations

import uuid

from tousu.shared.privacy.keys import Queryable


async def complaint_of(conn: Queryable, tracking_no: str) -> uuid.UUID | None:
    """The complaint ``tracking_no`` (in its printed form: see
    :func:`.identifiers.normalize_tracking_no`) belongs to, if any."""
    found: uuid.UUID | None = await conn.fetchval(
        "SELECT complaint_id FROM tracking_numbers WHERE tracking_no = $1", tracking_no
    )
    return found


async def taken(conn: Queryable, numbers: list[str]) -> set[str]:
    """Which of ``numbers`` belong to a complaint already (a batch drawing
    numbers, `tousu import`, draws those again)."""
    rows = await conn.fetch(
        "SELECT tracking_no FROM tracking_numbers WHERE tracking_no = any($1::text[])", numbers
    )
    return {r["tracking_no"] for r in rows}


async def reserve(conn: Queryable, pairs: list[tuple[str, uuid.UUID]]) -> None:
    """Reserve each (tracking number, complaint) in the transaction that stores
    the complaints; a number taken meanwhile fails the whole transaction."""
    if pairs:
        numbers, complaints = zip(*pairs, strict=True)
        await conn.execute(
            "INSERT INTO tracking_numbers (tracking_no, complaint_id) "
            "SELECT * FROM unnest($1::text[], $2::uuid[])",
            list(numbers),
            list(complaints),
        )

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

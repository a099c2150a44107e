"""``personal_data_views``: who saw whose full personal data, when, where.

A table of its own, not events: a view must not change a case's version
nor reach JetStream. The table refuses UPDATE and DELETE (a trigger).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from tousu.shared.privacy.keys import Queryable


@dataclass(frozen=True)
class View:
    viewed_at: datetime
    viewer: str
    role: str
    complaint_id: uuid.UUID
    view: str


async def record_view(
    conn: Queryable, viewer: str, role: str, complaint_id: uuid.UUID, view: str
) -> None:
    await conn.execute(
        "INSERT INTO personal_data_views (viewer, role, complaint_id, view) "
        "VALUES ($1, $2, $3, $4)",
        viewer,
        role,
        complaint_id,
        view,
    )


async def list_views(
    conn: Queryable, complaint_id: uuid.UUID | None = None, limit: int = 200
) -> list[View]:
    """The latest views first, of one case when given."""
    rows = await conn.fetch(
        "SELECT viewed_at, viewer, role, complaint_id, view FROM personal_data_views "
        "WHERE $1::uuid IS NULL OR complaint_id = $1 ORDER BY id DESC LIMIT $2",
        complaint_id,
        limit,
    )
    return [View(**dict(r)) for r in rows]

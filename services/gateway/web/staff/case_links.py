"""What the case page shows of the complaints a 监督举报 links: the earlier
complaint it names, and the reports that name this one — a link where the
viewer's role may open that case, its tracking number alone where not."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from tousu.services.gateway.auth import DEPARTMENT_ROLES, Principal
from tousu.services.gateway.complaints.reader import Case
from tousu.services.metrics import views as read_side
from tousu.shared.domain.status import Status
from tousu.shared.events import types as ev


@dataclass(frozen=True)
class LinkedCase:
    complaint_id: str
    tracking_no: str | None
    status: str
    # False when the viewer's role may not open that case (another department's).
    openable: bool


def _linked(principal: Principal, record: asyncpg.Record, lang: str) -> LinkedCase:
    scoped = principal.role in DEPARTMENT_ROLES
    return LinkedCase(
        complaint_id=str(record["complaint_id"]),
        tracking_no=record["tracking_no"],
        status=Status(record["status"]).label(lang),
        openable=not scoped or record["department"] == principal.department,
    )


async def linked_cases(
    pool: asyncpg.Pool, principal: Principal, case: Case, complaint_id: uuid.UUID, lang: str
) -> dict[str, Any]:
    """The earlier complaint this one reports on (监督举报), and the reports
    that name this one, as the case page links them."""
    about = None
    received = next((e for e in case.history if e.type == "ComplaintReceived"), None)
    related = (
        ev.ComplaintReceived.model_validate(received.data).related_complaint_id
        if received is not None
        else None
    )
    if related:
        record = await read_side.case_brief(pool, uuid.UUID(related))
        if record is not None:
            about = _linked(principal, record, lang)
    reports = [
        _linked(principal, r, lang) for r in await read_side.reports_about(pool, complaint_id)
    ]
    return {"about": about, "reports": reports}

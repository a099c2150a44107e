"""The department workbench (``/staff/queue``): the cases a department holds,
by where they stand, each with the next deadline it owes coloured
green / yellow / red, read from the ``case_view`` projection.

Handlers and department heads see their own department's; supervision and
administrators choose one (``?department=``) or see every department's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import asyncpg
from fastapi import APIRouter, Request
from starlette.responses import Response

from tousu.services.gateway.auth import DEPARTMENT_ROLES
from tousu.services.gateway.auth.dependencies import get_pool
from tousu.services.gateway.web.context import Web
from tousu.services.gateway.web.i18n import N_
from tousu.services.gateway.web.staff.cases import (
    COLOUR_NAMES,
    Colour,
    calendar_of,
    deadline_colour,
    flash_message,
)
from tousu.services.gateway.web.staff.people import display_names, person, routing_requirements
from tousu.services.gateway.web.staff.session import require_staff, staff_page
from tousu.shared.domain.labels import deadline_label
from tousu.shared.domain.status import Status
from tousu.shared.events import utcnow
from tousu.shared.settings import Settings

# The sections of the queue, in the order work goes through them.
SECTIONS: Final[tuple[tuple[str, str, tuple[Status, ...]], ...]] = (
    ("routed", N_("Routed to the department: to claim"), (Status.ROUTED,)),
    ("handling", N_("Being handled"), (Status.CLAIMED, Status.IN_HANDLING)),
    ("extension", N_("Extension awaiting decision"), (Status.EXTENSION_PENDING,)),
    ("resolved", N_("Resolved: result to send"), (Status.RESOLVED,)),
    ("reopened", N_("Reopened: to handle again"), (Status.REOPENED,)),
)
QUEUE_STATUSES: Final = tuple(s for _, _, statuses in SECTIONS for s in statuses)
# A department's open cases fit; more than this is a backlog for the dashboard.
LIMIT: Final = 500
DUE_COLUMNS: Final = ("acceptance", "claim", "feedback", "follow_up")


@dataclass(frozen=True)
class Row:
    complaint_id: str
    tracking_no: str | None
    subject: str | None
    status: Status
    department: str | None
    handler: str | None
    received_at: datetime | None
    next_kind: str | None
    next_due: datetime | None
    colour: Colour | None
    requirements: str | None = None  # 处理要求 of the latest routing


async def queue_rows(pool: asyncpg.Pool, department: str | None) -> list[asyncpg.Record]:
    """The open cases of ``department`` (None: every department's)."""
    return await pool.fetch(
        """SELECT complaint_id, tracking_no, subject, status, department, handler, received_at,
                  acceptance_due_at, claim_due_at, feedback_due_at, follow_up_due_at, pending
             FROM case_view
            WHERE status = any($1::text[]) AND ($2::text IS NULL OR department = $2)
            ORDER BY received_at NULLS LAST, complaint_id
            LIMIT $3""",
        [s.value for s in QUEUE_STATUSES],
        department,
        LIMIT,
    )


def next_owed(record: asyncpg.Record) -> tuple[str | None, datetime | None]:
    """The earliest deadline the case still owes, and its kind."""
    owed = [
        (record[f"{kind}_due_at"], kind)
        for kind in DUE_COLUMNS
        if kind in (record["pending"] or ()) and record[f"{kind}_due_at"] is not None
    ]
    if not owed:
        return None, None
    due, kind = min(owed)
    return kind, due


def router(settings: Settings) -> APIRouter:
    web = Web.create(settings)
    routes = APIRouter()

    @routes.get("/queue")
    async def queue(request: Request) -> Response:
        principal = await require_staff(request, "handler", "dept_head", "supervisor", "admin")
        lang = web.lang(request)
        pool = get_pool(request)
        scoped = principal.role in DEPARTMENT_ROLES
        chosen = (request.query_params.get("department") or "").strip()[:64] or None
        if scoped:
            # A department role without a department sees nothing ("" matches no case).
            department: str | None = principal.department or ""
        else:
            department = chosen
        records = await queue_rows(pool, department)
        now = utcnow()
        calendar = await calendar_of(request)
        names = await display_names(pool)
        required = await routing_requirements(pool, (r["complaint_id"] for r in records))
        sections: dict[str, list[Row]] = {key: [] for key, _, _ in SECTIONS}
        section_of = {s: key for key, _, statuses in SECTIONS for s in statuses}
        for r in records:
            kind, due = next_owed(r)
            status = Status(r["status"])
            sections[section_of[status]].append(
                Row(
                    complaint_id=str(r["complaint_id"]),
                    tracking_no=r["tracking_no"],
                    subject=r["subject"],
                    status=status,
                    department=r["department"],
                    handler=person(names, r["handler"]),
                    received_at=r["received_at"],
                    next_kind=deadline_label(kind, lang) if kind else None,
                    next_due=due,
                    colour=deadline_colour(due, now, calendar) if due else None,
                    requirements=required.get(r["complaint_id"]),
                )
            )
        for rows in sections.values():
            rows.sort(key=lambda row: (row.next_due is None, row.next_due or now))
        departments: list[str] = []
        if not scoped:
            found = await pool.fetch(
                "SELECT DISTINCT department FROM case_view WHERE department IS NOT NULL "
                "ORDER BY department"
            )
            departments = [d["department"] for d in found]
        context: dict[str, Any] = {
            "sections": [(key, title, sections[key]) for key, title, _ in SECTIONS],
            "status_labels": {s: s.label(lang) for s in QUEUE_STATUSES},
            "colour_names": COLOUR_NAMES,
            "scoped": scoped,
            "department": department,
            "departments": departments,
            "total": sum(len(rows) for rows in sections.values()),
            "truncated": len(records) >= LIMIT,
            "flash": flash_message(web, request),
            # One per page view: a double click claims once, a later claim is new.
            "new_key": str(uuid.uuid4()),
        }
        response = staff_page(web, request, principal, "staff/queue.html", context)
        if context["flash"]:
            response.delete_cookie("tousu_flash", path="/staff")
        return response

    return routes

"""The department workbench (``/staff/queue``): the cases a department holds,
by where they stand, each with the next deadline it owes coloured
green / yellow / red, read from the ``case_view`` projection (the metrics
service's views).

Handlers and department heads see their own department's; supervision and
administrators choose one (``?department=``) or see every department's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from tousu.services.gateway.auth import DEPARTMENT_ROLES
from tousu.services.gateway.auth.dependencies import get_pool
from tousu.services.gateway.web.context import Web
from tousu.services.gateway.web.i18n import N_
from tousu.services.gateway.web.staff import actions
from tousu.services.gateway.web.staff.cases import (
    COLOUR_NAMES,
    Colour,
    calendar_of,
    deadline_colour,
    flash_message,
)
from tousu.services.gateway.web.staff.people import display_names, person
from tousu.services.gateway.web.staff.session import require_staff, staff_page
from tousu.services.metrics.views import (
    case_departments,
    department_queue,
    next_owed,
    routing_requirements,
)
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
        records = await department_queue(pool, QUEUE_STATUSES, department, limit=LIMIT)
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
            departments = await case_departments(pool)
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
            # The claim button only for whom the domain lets claim (a supervisor
            # sees the routed cases but may not claim them: it was a 403).
            "can_claim": principal.role in actions.BY_NAME["claim"].action.roles,
        }
        response = staff_page(web, request, principal, "staff/queue.html", context)
        if context["flash"]:
            response.delete_cookie("tousu_flash", path="/staff")
        return response

    return routes

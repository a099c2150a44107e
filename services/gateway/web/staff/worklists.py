"""The worklists (docs/supervision-web.md), read from the metrics service's
projections through its views:

- ``/staff/follow-ups``: the cases awaiting follow-up (回访) — fed back, the
  follow-up still owed — with its due date and the attempts so far that did
  not reach the complainant; for the staff who record follow-ups.
- ``/staff/supervision``: the supervision office's open 督办 items, the
  improvement items past due and the open hotspot alerts (热点预警).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from tousu.services.gateway.auth.dependencies import get_pool
from tousu.services.gateway.problems import Lang
from tousu.services.gateway.web.context import Web
from tousu.services.gateway.web.i18n import N_, gettext
from tousu.services.gateway.web.staff.cases import (
    COLOUR_NAMES,
    SUPERVISION_KINDS,
    Colour,
    calendar_of,
    deadline_colour,
)
from tousu.services.gateway.web.staff.hotspot_panel import HotspotPanel
from tousu.services.gateway.web.staff.improvements import overdue_rows
from tousu.services.gateway.web.staff.people import display_names, person
from tousu.services.gateway.web.staff.session import require_staff, staff_page
from tousu.services.metrics import views as read_side
from tousu.services.metrics.hotspots.views import HotspotRule
from tousu.shared.domain.labels import deadline_label
from tousu.shared.domain.status import Status
from tousu.shared.events import utcnow
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.settings import Settings

FOLLOW_UP_PATH: Final = "/staff/follow-ups"
SUPERVISION_PATH: Final = "/staff/supervision"
# Who records follow-ups (the domain's RecordFollowUp roles among staff).
FOLLOW_UP_ROLES: Final = ("operator", "supervisor", "admin")
SUPERVISION_ROLES: Final = ("supervisor", "admin")
REPEATED_DISSATISFACTION = N_("Dissatisfied after repeated handling")


@dataclass(frozen=True)
class FollowUpRow:
    complaint_id: str
    tracking_no: str | None
    subject: str | None
    department: str | None
    handler: str | None
    round: int
    due_at: datetime | None
    colour: Colour | None
    attempts: int
    last_attempt_at: datetime | None


@dataclass(frozen=True)
class SupervisionRow:
    complaint_id: str
    tracking_no: str | None
    subject: str | None
    status: str
    department: str | None
    handler: str | None
    kind: str
    deadline: str | None
    deadline_due_at: datetime | None
    note: str | None
    respond_by: datetime | None
    colour: Colour | None
    raised_at: datetime
    raised_by: str
    related_complaint_id: str | None
    related_tracking_no: str | None


def kind_label(kind: str, lang: Lang) -> str:
    known = {
        **SUPERVISION_KINDS,
        "repeated_dissatisfaction": REPEATED_DISSATISFACTION,
    }
    return gettext(lang, known[kind]) if kind in known else kind


def router(settings: Settings) -> APIRouter:
    web = Web.create(settings)
    routes = APIRouter()
    hotspot_panel = HotspotPanel(CommitmentRegister.load(), HotspotRule.of(settings.quality))

    @routes.get("/follow-ups")
    async def follow_ups(request: Request) -> Response:
        principal = await require_staff(request, *FOLLOW_UP_ROLES)
        pool = get_pool(request)
        now = utcnow()
        calendar = await calendar_of(request)
        names = await display_names(pool)
        records = await read_side.follow_up_worklist(pool, limit=read_side.WORKLIST_LIMIT)
        rows = [
            FollowUpRow(
                complaint_id=str(r["complaint_id"]),
                tracking_no=r["tracking_no"],
                subject=r["subject"],
                department=r["department"],
                handler=person(names, r["handler"]),
                round=r["round"],
                due_at=r["follow_up_due_at"],
                colour=deadline_colour(r["follow_up_due_at"], now, calendar)
                if r["follow_up_due_at"]
                else None,
                attempts=r["follow_up_attempts"],
                last_attempt_at=r["last_follow_up_at"],
            )
            for r in records
        ]
        context = {
            "rows": rows,
            "colour_names": COLOUR_NAMES,
            "truncated": len(records) >= read_side.WORKLIST_LIMIT,
        }
        return staff_page(web, request, principal, "staff/follow_ups.html", context)

    @routes.get("/supervision")
    async def supervision(request: Request) -> Response:
        principal = await require_staff(request, *SUPERVISION_ROLES)
        lang = web.lang(request)
        pool = get_pool(request)
        now = utcnow()
        calendar = await calendar_of(request)
        names = await display_names(pool)
        records = await read_side.open_supervision(pool, limit=read_side.WORKLIST_LIMIT)
        rows = []
        for r in records:
            due = r["respond_by"] or r["deadline_due_at"]
            rows.append(
                SupervisionRow(
                    complaint_id=str(r["complaint_id"]),
                    tracking_no=r["tracking_no"],
                    subject=r["subject"],
                    status=Status(r["status"]).label(lang),
                    department=r["department"],
                    handler=person(names, r["handler"]),
                    kind=kind_label(r["kind"], lang),
                    deadline=deadline_label(r["deadline"], lang) if r["deadline"] else None,
                    deadline_due_at=r["deadline_due_at"],
                    note=r["note"],
                    respond_by=r["respond_by"],
                    colour=deadline_colour(due, now, calendar) if due else None,
                    raised_at=r["raised_at"],
                    raised_by=person(names, r["raised_by"]) or r["raised_by"],
                    related_complaint_id=r["related_complaint_id"],
                    related_tracking_no=r["related_tracking_no"],
                )
            )
        context = {
            "rows": rows,
            "colour_names": COLOUR_NAMES,
            "truncated": len(records) >= read_side.WORKLIST_LIMIT,
        }
        # Improvement items (整改跟踪) still open past their due date.
        context["overdue_improvements"] = await overdue_rows(pool)
        # Rises in recurring problems (热点预警) the watcher raised for the office.
        context |= await hotspot_panel.alerts(pool, now, web.lang(request))
        return staff_page(web, request, principal, "staff/supervision.html", context)

    return routes

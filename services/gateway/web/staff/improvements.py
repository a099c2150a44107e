"""``/staff/improvements``: improvement items (整改跟踪), the 改进措施 each
result feedback promised, followed to the end (docs/quality-improvements.md).

A department's handlers and head see their own department's items and close
them with evidence (``/staff/improvements/{id}``); supervisors and
administrators see every department's. Overdue items are marked with how many
working days late they are. Also here: what the case page and the supervision
list show of them (``case_items``, ``overdue_rows``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import asyncpg
from fastapi import APIRouter, Request
from starlette.responses import Response

from tousu.services.gateway.auth import DEPARTMENT_ROLES, Principal
from tousu.services.gateway.auth.dependencies import get_pool
from tousu.services.gateway.problems import (
    Conflict,
    DomainProblem,
    Forbidden,
    Lang,
    NotFound,
    Unprocessable,
)
from tousu.services.gateway.quality.improvements import (
    calendar,
    lateness,
    scope,
    send_close,
    visible_item,
)
from tousu.services.gateway.web.context import Web, form_data, see_other
from tousu.services.gateway.web.i18n import N_, gettext
from tousu.services.gateway.web.staff.people import display_names, person
from tousu.services.gateway.web.staff.session import (
    NeedsLogin,
    NotPermitted,
    current_staff,
    require_staff,
    staff_page,
)
from tousu.services.metrics.improvements.views import (
    STATUSES,
    Item,
    ItemStatus,
    items_of_case,
    list_items,
    open_overdue,
)
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.domain.improvements import EVIDENCE
from tousu.shared.events import utcnow
from tousu.shared.settings import Settings

PATH: Final = "/staff/improvements"
ROLES: Final = ("handler", "dept_head", "supervisor", "admin")
CLOSERS: Final = DEPARTMENT_ROLES
LIMIT: Final = 200
FIELD: Final = "evidence"
KEY_FIELD: Final = "key"

STATUS_NAMES: Final[dict[str, str]] = {
    "open": N_("Improvement under way"),
    "overdue": N_("Improvement overdue"),
    "closed": N_("Improvement done"),
}
NO_SUCH_ITEM = N_("No such improvement item.")
EVIDENCE_MISSING = N_("Say what was done and where it can be seen.")
EVIDENCE_TOO_LONG = N_("At most %(max)s characters.")
ALREADY_CLOSED = N_("This item was closed already.")
FORM_EXPIRED = N_("The form has expired: please send it again.")
NOT_NOW = N_("The item could not be closed just now: please try again.")
CLOSED_NOW = N_("The item is closed.")
ONLY_DEPARTMENT = N_("Only the department that owns an item closes it.")


@dataclass(frozen=True)
class Row:
    item_id: str
    complaint_id: str
    tracking_no: str | None
    round: int
    index: int
    department: str
    owner: str | None
    text: str
    opened_at: datetime
    due_at: datetime
    status: str
    overdue: bool
    working_days_late: int
    closed_at: datetime | None
    evidence: str | None
    closed_by: str | None


def row(found: Item, now: datetime, days: WorkdayCalendar, names: dict[str, str]) -> Row:
    late = lateness(found, now, days)
    return Row(
        item_id=str(found.item_id),
        complaint_id=str(found.complaint_id),
        tracking_no=found.tracking_no,
        round=found.round,
        index=found.index,
        department=found.department,
        owner=person(names, found.owner),
        text=found.text,
        opened_at=found.opened_at,
        due_at=found.due_at,
        status=found.status,
        overdue=late.overdue,
        working_days_late=late.working_days_late,
        closed_at=found.closed_at,
        evidence=found.evidence,
        closed_by=person(names, found.closed_by) or found.closed_by,
    )


async def case_items(pool: asyncpg.Pool, complaint_id: uuid.UUID) -> list[Row]:
    """The case page's list: the case's items (whoever sees the case sees them)."""
    found = await items_of_case(pool, complaint_id)
    if not found:
        return []
    now = utcnow()
    days = await calendar(pool)
    names = await display_names(pool)
    return [row(i, now, days, names) for i in found]


async def overdue_rows(pool: asyncpg.Pool) -> list[Row]:
    """The supervision list's: open items past their due date, the longest late first."""
    now = utcnow()
    found = await open_overdue(pool, now=now, limit=LIMIT)
    if not found:
        return []
    days = await calendar(pool)
    names = await display_names(pool)
    return [row(i, now, days, names) for i in found]


def _status(value: str | None) -> ItemStatus | None:
    for status in STATUSES:
        if value == status:
            return status
    return None


def router(settings: Settings) -> APIRouter:
    web = Web.create(settings)
    routes = APIRouter()

    @routes.get("/improvements")
    async def improvements(request: Request) -> Response:
        principal = await require_staff(request, *ROLES)
        pool = get_pool(request)
        chosen = _status(request.query_params.get("status"))
        own = scope(principal)
        asked = (request.query_params.get("department") or "").strip()[:64] or None
        department = own if own is not None else asked
        now = utcnow()
        found = await list_items(pool, now=now, department=department, status=chosen, limit=LIMIT)
        days = await calendar(pool)
        names = await display_names(pool)
        context: dict[str, Any] = {
            "rows": [row(i, now, days, names) for i in found],
            "chosen": chosen,
            "statuses": STATUSES,
            "status_names": STATUS_NAMES,
            "department": department,
            "scoped": own is not None,
            "truncated": len(found) >= LIMIT,
        }
        return staff_page(web, request, principal, "staff/improvements.html", context)

    async def item_page(
        request: Request,
        principal: Principal,
        item_id: uuid.UUID,
        *,
        status: int = 200,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        alert: str | None = None,
        alert_ok: bool = False,
    ) -> Response:
        pool = get_pool(request)
        lang = web.lang(request)
        try:
            found = await visible_item(pool, principal, item_id)
        except NotFound:
            return _message(request, principal, lang, NO_SUCH_ITEM, 404)
        days = await calendar(pool)
        names = await display_names(pool)
        context = {
            "item": row(found, utcnow(), days, names),
            "status_names": STATUS_NAMES,
            "may_close": principal.role in CLOSERS and found.status == "open",
            "values": values or {},
            "errors": errors or {},
            "notice": alert,
            "notice_ok": alert_ok,
            "field": FIELD,
            "key_field": KEY_FIELD,
            "key": uuid.uuid4().hex,
            "max_evidence": EVIDENCE,
        }
        return staff_page(web, request, principal, "staff/improvement.html", context, status=status)

    def _message(
        request: Request, principal: Principal, lang: Lang, message: str, status: int
    ) -> Response:
        context = {"message": gettext(lang, message), "home": PATH}
        return staff_page(
            web, request, principal, "staff/_core_message.html", context, status=status
        )

    @routes.get("/improvements/{item_id}")
    async def improvement(item_id: uuid.UUID, request: Request) -> Response:
        principal = await require_staff(request, *ROLES)
        closed = request.query_params.get("closed") == "1"
        lang = web.lang(request)
        return await item_page(
            request,
            principal,
            item_id,
            alert=gettext(lang, CLOSED_NOW) if closed else None,
            alert_ok=closed,
        )

    @routes.post("/improvements/{item_id}/close")
    async def close(item_id: uuid.UUID, request: Request) -> Response:
        back = f"{PATH}/{item_id}"
        principal = await current_staff(request)
        if principal is None:
            raise NeedsLogin(back)
        if principal.role not in ROLES:
            raise NotPermitted(principal)
        lang = web.lang(request)
        raw = await form_data(request)
        evidence = str(raw.get(FIELD, ""))
        values = {FIELD: evidence}

        def again(
            status: int, errors: dict[str, str], alert: str | None = None
        ) -> Awaitable[Response]:
            return item_page(
                request,
                principal,
                item_id,
                status=status,
                values=values,
                errors=errors,
                alert=gettext(lang, alert) if alert else None,
            )

        if not web.csrf.verify(request, raw):
            return await again(403, {}, FORM_EXPIRED)
        if principal.role not in CLOSERS:
            return await again(403, {}, ONLY_DEPARTMENT)
        if not evidence.strip():
            return await again(422, {FIELD: gettext(lang, EVIDENCE_MISSING)})
        if len(evidence) > EVIDENCE:
            return await again(422, {FIELD: gettext(lang, EVIDENCE_TOO_LONG, max=EVIDENCE)})
        key = str(raw.get(KEY_FIELD, ""))[:100]
        command_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{principal.username}:{item_id}:{key}")
        try:
            await visible_item(get_pool(request), principal, item_id)
            await send_close(request, principal, item_id, evidence, command_id if key else None)
        except NotFound:
            return _message(request, principal, lang, NO_SUCH_ITEM, 404)
        except Conflict:
            return await again(409, {}, ALREADY_CLOSED)
        except Unprocessable:
            # The domain checks the evidence as this form does; anything else
            # it refuses is the evidence too (the only field sent).
            return await again(422, {FIELD: gettext(lang, EVIDENCE_MISSING)})
        except Forbidden:
            return await again(403, {}, ONLY_DEPARTMENT)
        except DomainProblem:
            return await again(503, {}, NOT_NOW)
        return see_other(f"{back}?closed=1")

    return routes

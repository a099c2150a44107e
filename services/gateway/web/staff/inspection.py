"""The reviewer's pages of the quality inspection (质量检查/抽查,
docs/quality-inspection.md), for the supervision office:

- ``/staff/inspection?month=YYYY-MM``: choose a month, draw its sample
  (share, minimum, an optional seed), and see the sample per department with
  why each case is in it and its review, if any;
- ``/staff/inspection/{period}/{complaint_id}``: one sampled case's key facts
  and timeline beside the checklist form; a refusal is shown at its field.

The draw and the review are the metrics service's requests, as over the API
(services/gateway/quality/inspection.py).
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from tousu.services.gateway.auth import Principal
from tousu.services.gateway.auth.dependencies import get_pool
from tousu.services.gateway.complaints.client import call
from tousu.services.gateway.complaints.reader import visible_case
from tousu.services.gateway.complaints.routes import get_store
from tousu.services.gateway.complaints.views import case_out
from tousu.services.gateway.problems import Lang
from tousu.services.gateway.problems import NotFound as NotFoundProblem
from tousu.services.gateway.web.context import Web, form_data, see_other
from tousu.services.gateway.web.i18n import N_, gettext
from tousu.services.gateway.web.staff.cases import FORM_EXPIRED, timeline
from tousu.services.gateway.web.staff.people import display_names, person
from tousu.services.gateway.web.staff.session import require_staff, staff_page
from tousu.services.gateway.web.tracking import own_words
from tousu.services.metrics.inspection.views import (
    GROUPS,
    Checklist,
    SampleRow,
    checklist,
    drawn,
    reviews_of,
    sample,
)
from tousu.shared.calendar import TZ
from tousu.shared.events import utcnow
from tousu.shared.naming import Naming
from tousu.shared.settings import Settings

PATH: Final = "/staff/inspection"
ROLES: Final = ("supervisor", "admin")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

REASONS: Final[dict[str, str]] = {
    "random": N_("Drawn at random"),
    "reopened": N_("Reopened"),
    "late_entry": N_("Has a late entry"),
}
ACTIONS: Final[dict[str, str]] = {
    "none": N_("No action"),
    "supervise": N_("Raise a supervision notice (督办)"),
    "reopen": N_("Reopen the case"),
}
REQUIRED = N_("Please fill in this field.")
POINTS_RANGE = N_("Enter points from 0 to %(max)s.")
SHARE_RANGE = N_("Enter a share above 0 and at most 1, e.g. 0.1.")
MINIMUM_RANGE = N_("Enter a whole number from 0 to 1000.")
SEED_RANGE = N_("Enter a whole number of 0 or more, or leave it empty.")
REASON_NEEDED = N_("Give the reason the department is told.")
PASSED_NO_ACTION = N_("This review passes: it cannot ask for an action.")
DRAWN_ALREADY = N_("This month's sample was drawn already: a month is drawn once.")
NOT_ENDED = N_("This month has not ended yet.")
REVIEWED_ALREADY = N_("This case was reviewed already: one review per case.")
NOT_SAMPLED = N_("This case is not in the month's sample.")
FAILED = N_("The service refused: %(reason)s")
DRAWN = N_("Sample drawn.")
REVIEWED = N_("Review saved.")


def last_month(now: datetime) -> str:
    first = now.astimezone(TZ).replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


@dataclass(frozen=True)
class DepartmentSample:
    department: str
    population: int
    rows: list[SampleRow]

    @property
    def reviewed(self) -> int:
        return sum(r.reviewed for r in self.rows)


def by_department(rows: list[SampleRow], population: dict[str, int]) -> list[DepartmentSample]:
    departments = sorted(set(population) | {r.department for r in rows})
    return [
        DepartmentSample(d, population.get(d, 0), [r for r in rows if r.department == d])
        for d in departments
    ]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_draw(raw: dict[str, Any], lang: Lang) -> tuple[dict[str, Any], dict[str, str]]:
    """The draw form's fields as the request wants them, and the errors by field."""
    body: dict[str, Any] = {}
    errors: dict[str, str] = {}
    share = str(raw.get("share", "")).strip()
    if share:
        value = _number(share)
        if value is None or not 0 < value <= 1:
            errors["share"] = gettext(lang, SHARE_RANGE)
        else:
            body["share"] = value
    for name, message, top in (("minimum", MINIMUM_RANGE, 1000), ("seed", SEED_RANGE, 2**63 - 1)):
        text = str(raw.get(name, "")).strip()
        if not text:
            continue
        if not text.isdigit() or int(text) > top:
            errors[name] = gettext(lang, message)
        else:
            body[name] = int(text)
    return body, errors


def read_review(
    raw: dict[str, Any], sheet: Checklist, lang: Lang
) -> tuple[dict[str, Any], dict[str, str]]:
    """The checklist form as the review request wants it, and the errors by field
    (``points-<code>``, ``reason``): the same rules the domain applies again."""
    errors: dict[str, str] = {}
    scores = []
    for item in sheet.items:
        field = f"points-{item.code}"
        text = str(raw.get(field, "")).strip()
        value = _number(text) if text else None
        if not text:
            errors[field] = gettext(lang, REQUIRED)
        elif value is None or not 0 <= value <= item.max_points:
            top = f"{item.max_points:g}"
            errors[field] = gettext(lang, POINTS_RANGE, max=top)
        note = str(raw.get(f"note-{item.code}", "")).strip()
        scores.append({"item": item.code, "points": value or 0, **({"note": note} if note else {})})
    action = str(raw.get("action", "none"))
    if action not in ACTIONS:
        action = "none"
    reason = str(raw.get("reason", "")).strip()
    notes = str(raw.get("notes", "")).strip()
    if action != "none" and not reason:
        errors["reason"] = gettext(lang, REASON_NEEDED)
    body: dict[str, Any] = {"scores": scores, "action": action}
    if reason:
        body["reason"] = reason
    if notes:
        body["notes"] = notes
    return body, errors


def _refused(error: dict[str, Any]) -> tuple[str, str]:
    """The field a service's refusal names (its first, when several), and its message."""
    details = error.get("details")
    field = ""
    if isinstance(details, dict):
        field = str(details.get("field", ""))
    elif isinstance(details, list) and details and isinstance(details[0], dict):
        field = str(details[0].get("field", ""))
    return field, str(error.get("message", ""))


def refusal_field(error: dict[str, Any], sheet: Checklist, lang: Lang) -> tuple[str, str]:
    """Where a service's refusal goes on the form, and what it says there."""
    field, message = _refused(error)
    match = re.match(r"^scores\.(\d+)\.(points|item|note)$", field)
    if match and int(match[1]) < len(sheet.items):
        item = sheet.items[int(match[1])]
        name = "points" if match[2] != "note" else "note"
        if name == "points":
            top = f"{item.max_points:g}"
            return f"points-{item.code}", gettext(lang, POINTS_RANGE, max=top)
        return f"note-{item.code}", gettext(lang, FAILED, reason=message)
    if field == "action":
        return "action", gettext(lang, PASSED_NO_ACTION)
    if field == "reason":
        return "reason", gettext(lang, REASON_NEEDED)
    if field == "complaint_id":
        known = REVIEWED_ALREADY if "reviewed already" in message else NOT_SAMPLED
        return "", gettext(lang, known)
    return "", gettext(lang, FAILED, reason=message)


def router(settings: Settings) -> APIRouter:
    web = Web.create(settings)
    routes = APIRouter()

    async def send(request: Request, name: str, body: dict[str, Any]) -> tuple[bool, Any]:
        naming: Naming = request.app.state.naming
        return await call(request.app.state.connections.nats, naming.command("metrics", name), body)

    async def month_page(
        request: Request,
        principal: Principal,
        period: str,
        *,
        status: int = 200,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        alert: str | None = None,
    ) -> Response:
        store = get_store(request)
        draw = await drawn(store, period)
        rows = await sample(get_pool(request), period)
        names = await display_names(get_pool(request))
        context = {
            "period": period,
            "draw": draw,
            "departments": by_department(rows, draw.data.population if draw else {}),
            "names": names,
            "reasons": REASONS,
            "actions": ACTIONS,
            "defaults": settings.quality,
            "values": values or {},
            "errors": errors or {},
            "staff_alert": alert,
            "flash": gettext(web.lang(request), DRAWN)
            if request.query_params.get("drawn")
            else None,
            "person": lambda who: person(names, who),
        }
        return staff_page(web, request, principal, "staff/inspection.html", context, status=status)

    @routes.get("/inspection")
    async def show(request: Request) -> Response:
        principal = await require_staff(request, *ROLES)
        month = request.query_params.get("month", "")
        period = month if MONTH.match(month) else last_month(utcnow())
        return await month_page(request, principal, period)

    @routes.post("/inspection/{period}/draw")
    async def draw(period: str, request: Request) -> Response:
        principal = await require_staff(request, *ROLES)
        lang = web.lang(request)
        if not MONTH.match(period):
            return see_other(PATH)
        raw = await form_data(request)
        values = {k: str(raw.get(k, "")) for k in ("share", "minimum", "seed")}
        if not web.csrf.verify(request, raw):
            return await month_page(
                request,
                principal,
                period,
                status=403,
                values=values,
                alert=gettext(lang, FORM_EXPIRED),
            )
        body, errors = read_draw(raw, lang)
        if errors:
            return await month_page(
                request, principal, period, status=422, values=values, errors=errors
            )
        command = {"actor": principal.actor().model_dump(mode="json"), "period": period, **body}
        ok, answer = await send(request, "inspection-draw", command)
        if ok:
            return see_other(f"{PATH}?month={period}&drawn=1")
        field, message = _draw_refusal(answer, lang)
        if field:
            return await month_page(
                request, principal, period, status=422, values=values, errors={field: message}
            )
        return await month_page(
            request, principal, period, status=409, values=values, alert=message
        )

    async def review_page(
        request: Request,
        principal: Principal,
        period: str,
        complaint_id: uuid.UUID,
        *,
        status: int = 200,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        alert: str | None = None,
    ) -> Response:
        lang = web.lang(request)
        store = get_store(request)
        draw = await drawn(store, period)
        rows = {r.complaint_id: r for r in await sample(get_pool(request), period)}
        row = rows.get(str(complaint_id))
        if draw is None or row is None:
            raise NotFoundProblem()
        case = await visible_case(store, complaint_id, principal)
        names = await display_names(get_pool(request))
        sheet = checklist(draw.data.checklist_version)
        review = (await reviews_of(store, period)).get(str(complaint_id))
        given = {s.item: s for s in review.scores} if review else {}
        context = {
            "period": period,
            "row": row,
            "case": case_out(complaint_id, case, lang),
            "complaint": own_words(case),
            "handler_name": person(names, case.state.handler),
            "timeline": timeline(case, lang, names, complaint_id),
            "sheet": sheet,
            "groups": [
                (GROUPS[g][1] if lang == "en" else GROUPS[g][0], items)
                for g, items in sheet.grouped()
            ],
            "lang": lang,
            "review": review,
            "given": given,
            "reasons": REASONS,
            "actions": ACTIONS,
            "values": values or {},
            "errors": errors or {},
            "staff_alert": alert,
            "flash": gettext(lang, REVIEWED) if request.query_params.get("saved") else None,
            "reviewer": person(names, row.reviewer),
        }
        return staff_page(
            web, request, principal, "staff/inspection_review.html", context, status=status
        )

    @routes.get("/inspection/{period}/{complaint_id}")
    async def show_case(period: str, complaint_id: uuid.UUID, request: Request) -> Response:
        principal = await require_staff(request, *ROLES)
        if not MONTH.match(period):
            return see_other(PATH)
        return await review_page(request, principal, period, complaint_id)

    @routes.post("/inspection/{period}/{complaint_id}")
    async def review(period: str, complaint_id: uuid.UUID, request: Request) -> Response:
        principal = await require_staff(request, *ROLES)
        lang = web.lang(request)
        if not MONTH.match(period):
            return see_other(PATH)
        raw = await form_data(request)
        values = {k: str(v) for k, v in raw.items()}
        draw = await drawn(get_store(request), period)
        if draw is None:
            raise NotFoundProblem()
        sheet = checklist(draw.data.checklist_version)

        def again(
            status: int, errors: dict[str, str], alert: str | None = None
        ) -> Awaitable[Response]:
            return review_page(
                request,
                principal,
                period,
                complaint_id,
                status=status,
                values=values,
                errors=errors,
                alert=alert,
            )

        if not web.csrf.verify(request, raw):
            return await again(403, {}, gettext(lang, FORM_EXPIRED))
        body, errors = read_review(raw, sheet, lang)
        if errors:
            return await again(422, errors)
        command = {
            "actor": principal.actor().model_dump(mode="json"),
            "period": period,
            "complaint_id": str(complaint_id),
            **body,
        }
        ok, answer = await send(request, "inspection-review", command)
        if ok:
            return see_other(f"{PATH}/{period}/{complaint_id}?saved=1")
        field, message = refusal_field(answer, sheet, lang)
        if field:
            return await again(422, {field: message})
        return await again(409, {}, message)

    return routes


def _draw_refusal(error: dict[str, Any], lang: Lang) -> tuple[str, str]:
    field, message = _refused(error)
    if field == "period":
        return "", gettext(lang, DRAWN_ALREADY if "drawn already" in message else NOT_ENDED)
    if field in ("share", "minimum", "seed"):
        texts = {"share": SHARE_RANGE, "minimum": MINIMUM_RANGE, "seed": SEED_RANGE}
        return field, gettext(lang, texts[field])
    return "", gettext(lang, FAILED, reason=message)

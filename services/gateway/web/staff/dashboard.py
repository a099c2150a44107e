"""The supervisor dashboard (督办台): this month's KPI cards, bar charts by
department and by month (laid out in charts.py, drawn as inline SVG), the
overdue list, cases waiting for arbitration, extension requests to decide,
and the monthly report."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import asyncpg
from fastapi import APIRouter, Request
from starlette.responses import Response

from tousu.services.gateway.auth import Principal
from tousu.services.gateway.complaints.reader import load_case
from tousu.services.gateway.problems import DomainProblem, Lang
from tousu.services.gateway.web.context import Web, form_data, see_other
from tousu.services.gateway.web.i18n import LANGS, N_, gettext
from tousu.services.gateway.web.staff.actions import send_action
from tousu.services.gateway.web.staff.appraisal import Appraiser
from tousu.services.gateway.web.staff.charts import Bar, bar_chart
from tousu.services.gateway.web.staff.hotspot_panel import HotspotPanel
from tousu.services.gateway.web.staff.intake import (
    CSRF_REFUSED,
    actions_by_name,
    calendar_of,
    problem_text,
)
from tousu.services.gateway.web.staff.people import departments as staff_departments
from tousu.services.gateway.web.staff.people import display_names, person
from tousu.services.gateway.web.staff.session import require_staff, staff_page
from tousu.services.gateway.web.templating import department_namer
from tousu.services.metrics.hotspots.views import HotspotRule
from tousu.services.metrics.views import (
    CaseFilter,
    KpiRow,
    Language,
    Overdue,
    PgKpiSource,
    Rate,
    label,
    list_cases,
    month_start,
    monthly_report,
    overdue,
    parse_month,
    percent,
    shift_month,
)
from tousu.shared.calendar import FIRST_YEAR, TZ
from tousu.shared.domain.labels import deadline_label
from tousu.shared.domain.status import Status
from tousu.shared.events import utcnow
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.settings import Settings

SUPERVISOR_ROLES: Final = ("supervisor", "admin")
TREND_MONTHS: Final = 6
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REASON_LIMIT: Final = 2000

BAD_MONTH = N_("There is no report for this month.")
NO_DEPARTMENT = N_("Choose a department.")
NO_DECISION = N_("Choose to approve or to refuse.")
DONE = N_("Done.")
RECEIVED_BY_DEPARTMENT = N_("Complaints received this month, by department")
TIMELY_BY_DEPARTMENT = N_("Feedback timeliness this month, by department")
RECEIVED_BY_MONTH = N_("Complaints received, by month")
NOT_ROUTED = N_("Not routed yet")
NOT_CLAIMED = N_("No handler")
PEOPLE_RATES: Final = ("feedback_timeliness", "closure_rate", "satisfaction_rate")
OVERDUE_CARD = N_("overdue now (every open case)")
# What a figure counts, said under its name where two read as one: 办结率 counts
# a result fed back and not reopened, 已办结 only a case the follow-up closed
# (docs/metrics.md), so 办结率 may be 100% while 已办结 is still 0.
COUNTS: Final[dict[str, str]] = {
    "closure_rate": N_("fed back, not reopened (follow-up not awaited)"),
    "closed": N_("closed after the follow-up"),
}
OVERDUE_THIS_MONTH = N_("%(count)s of them received this month")


def rate_value(rate: Rate) -> float:
    return rate.value if rate.value is not None else 0.0


def month_name(month: str, lang: str) -> str:
    year, number = parse_month(month)
    return f"{year}年{number}月" if lang == "zh" else f"{year}-{number:02d}"


def people_rows(
    rows: Sequence[KpiRow],
    names: dict[str, str],
    lang: Lang,
    department_of: Callable[[str], str] | None = None,
) -> list[dict[str, Any]]:
    """The per-person KPI table: one row per handler (by display name, with
    their department's name when ``department_of`` is given), the cases
    nobody holds last."""
    out = []
    for row in rows:
        out.append(
            {
                "name": person(names, row.group) or gettext(lang, NOT_CLAIMED),
                "claimed": row.group is not None,
                "department": (
                    department_of(row.group) if department_of and row.group is not None else ""
                ),
                "received": row.received,
                "fed_back": row.fed_back,
                "closed": row.closed,
                "overdue_now": row.overdue_now,
                "rates": [percent(getattr(row, name)) for name in PEOPLE_RATES],
                "avg_days": (
                    f"{row.avg_handling_working_days:.1f}"
                    if row.avg_handling_working_days is not None
                    else "—"
                ),
            }
        )
    return sorted(out, key=lambda r: (not r["claimed"], r["name"]))


def counts(name: str, lang: Lang) -> str:
    """What the figure ``name`` counts, where its name alone could mislead; else ""."""
    return gettext(lang, COUNTS[name]) if name in COUNTS else ""


def people_columns(lang: Lang) -> dict[str, Any]:
    """The per-person table's rate columns (name and what each counts) and what
    its closed count counts."""
    return {
        "rate_columns": [{"label": label(n, lang), "note": counts(n, lang)} for n in PEOPLE_RATES],
        "closed_note": counts("closed", lang),
    }


def overdue_card(card: dict[str, str], cases: int, lang: Lang) -> dict[str, str]:
    """The 当前超期 card counts what the overdue list lists: every open case
    late now, whenever received (the month's KPI counts only this month's
    complaints, shown under it), so the card and the list agree."""
    return {
        **card,
        "label": gettext(lang, OVERDUE_CARD),
        "detail": gettext(lang, OVERDUE_THIS_MONTH, count=card["value"]),
        "value": str(cases),
    }


def router(settings: Settings) -> APIRouter:
    r = APIRouter()
    web = Web.create(settings)
    register = CommitmentRegister.load()
    # Recurring problems (热点诉求): this week's and month's, and the open alerts.
    hotspot_panel = HotspotPanel(register, HotspotRule.of(settings.quality))
    # Last month's appraisal (考核): the best and weakest departments.
    appraiser = Appraiser(settings)
    actions = actions_by_name()

    def pool(request: Request) -> asyncpg.Pool:
        found: asyncpg.Pool = request.app.state.connections.pool
        return found

    namers = {lang: department_namer(register, lang) for lang in LANGS}

    def department_name(code: str | None, lang: Lang) -> str:
        return namers[lang](code) if code is not None else gettext(lang, NOT_ROUTED)

    async def kpi_cards(
        source: PgKpiSource, start: datetime, end: datetime, now: datetime, lang: Lang
    ) -> tuple[KpiRow, list[dict[str, str]]]:
        return cards_of(
            (await source.kpis(start=start, end=end, as_of=now, group_by=None))[0], lang
        )

    def cards_of(total: KpiRow, lang: Lang) -> tuple[KpiRow, list[dict[str, str]]]:
        cards = [
            {
                "name": name,
                "label": label(name, lang),
                "value": percent(getattr(total, name)).split(" ")[0],
                "detail": (
                    f"{getattr(total, name).numerator}/{getattr(total, name).denominator}"
                    if getattr(total, name).denominator
                    else ""
                ),
                "note": counts(name, lang),
            }
            for name in (
                "acceptance_timeliness",
                "feedback_timeliness",
                "closure_rate",
                "satisfaction_rate",
            )
        ]
        cards += [
            {
                "name": name,
                "label": label(name, lang),
                "value": str(getattr(total, name)),
                "detail": "",
                "note": counts(name, lang),
            }
            for name in ("received", "overdue_now")
        ]
        return total, cards

    def late_rows(found: Sequence[Overdue], lang: Lang) -> list[dict[str, Any]]:
        return [
            {
                "complaint_id": str(o.deadline.complaint_id),
                "tracking_no": o.deadline.tracking_no,
                "subject": o.deadline.subject,
                "department": department_name(o.deadline.department, lang),
                "deadline": deadline_label(o.deadline.kind.value, lang),
                "due_at": o.deadline.due_at,
                "working_days_late": o.working_days_late,
                "supervised": o.deadline.overdue_raised,
            }
            for o in found
        ]

    async def render_department(request: Request, principal: Principal) -> Response:
        """A department head's own dashboard: this month's figures of the
        department's complaints, each person's, and what is late now."""
        lang = web.lang(request)
        department = principal.department or ""
        now = utcnow()
        local = now.astimezone(TZ)
        this_month = f"{local.year:04d}-{local.month:02d}"
        start = month_start(local.year, local.month)
        end = month_start(*shift_month(local.year, local.month, 1))
        source = PgKpiSource(pool(request))
        cohort = await source.kpis(
            start=start, end=end, as_of=now, group_by=None, department=department
        )
        _, cards = cards_of(cohort[0], lang)
        calendar = await calendar_of(request)
        late = late_rows(await overdue(pool(request), now, calendar, department=department), lang)
        late_cases = len({o["complaint_id"] for o in late})
        cards = [
            overdue_card(c, late_cases, lang) if c["name"] == "overdue_now" else c for c in cards
        ]
        by_person = await source.kpis(
            start=start, end=end, as_of=now, group_by="handler", department=department
        )
        names = await display_names(pool(request))
        context = {
            "department": department,
            "department_label": department_name(department, lang),
            "month_label": month_name(this_month, lang),
            "cards": cards,
            "people": people_rows(by_person, names, lang),
            **people_columns(lang),
            "people_departments": False,  # one department: said in the heading
            "late": late,
            "late_cases": late_cases,
            # The recurring problems among the department's own complaints.
            **await hotspot_panel.context(pool(request), now, lang, department=department),
        }
        return staff_page(web, request, principal, "staff/department_dashboard.html", context)

    async def render(
        request: Request, principal: Principal, *, alert: str | None = None, status: int = 200
    ) -> Response:
        lang = web.lang(request)
        now = utcnow()
        local = now.astimezone(TZ)
        this_month = f"{local.year:04d}-{local.month:02d}"
        start = month_start(local.year, local.month)
        end = month_start(*shift_month(local.year, local.month, 1))
        source = PgKpiSource(pool(request))
        total, cards = await kpi_cards(source, start, end, now, lang)
        by_person = await source.kpis(start=start, end=end, as_of=now, group_by="handler")
        names = await display_names(pool(request))
        held = await staff_departments(pool(request))

        def department_of(username: str) -> str:
            code = held.get(username)
            return department_name(code, lang) if code else ""

        by_department = await source.kpis(start=start, end=end, as_of=now, group_by="department")
        received_chart = bar_chart(
            gettext(lang, RECEIVED_BY_DEPARTMENT),
            [
                Bar(department_name(row.group, lang), row.received, str(row.received))
                for row in by_department
            ],
        )
        timely_chart = bar_chart(
            gettext(lang, TIMELY_BY_DEPARTMENT),
            [
                Bar(
                    department_name(row.group, lang),
                    rate_value(row.feedback_timeliness),
                    percent(row.feedback_timeliness).split(" ")[0],
                )
                for row in by_department
            ],
            scale=1.0,
        )
        trend_start = month_start(*shift_month(local.year, local.month, 1 - TREND_MONTHS))
        by_month = {
            row.group: row
            for row in await source.kpis(start=trend_start, end=end, as_of=now, group_by="month")
        }
        months = [
            "{:04d}-{:02d}".format(*shift_month(local.year, local.month, -i))
            for i in reversed(range(TREND_MONTHS))
        ]
        month_chart = bar_chart(
            gettext(lang, RECEIVED_BY_MONTH),
            [
                Bar(
                    month_name(m, lang),
                    by_month[m].received if m in by_month else 0,
                    str(by_month[m].received if m in by_month else 0),
                )
                for m in months
            ],
        )

        calendar = await calendar_of(request)
        late = late_rows(await overdue(pool(request), now, calendar), lang)
        late_cases = len({o["complaint_id"] for o in late})
        cards = [
            overdue_card(c, late_cases, lang) if c["name"] == "overdue_now" else c for c in cards
        ]

        _, returned = await list_cases(
            pool(request), CaseFilter(statuses=(Status.RETURNED,)), limit=100, offset=0
        )
        arbitration = []
        store = request.app.state.connections.store
        for row in returned:
            state = (await load_case(store, row["complaint_id"])).state
            arbitration.append(
                {
                    **dict(row),
                    "needs_arbitration": state.needs_arbitration,
                    "returned_by": ("、" if lang == "zh" else ", ").join(
                        department_name(d, lang) for d in state.returned_by
                    ),
                    "return_count": state.return_count,
                }
            )
        _, pending = await list_cases(
            pool(request), CaseFilter(statuses=(Status.EXTENSION_PENDING,)), limit=100, offset=0
        )
        extensions = []
        for row in pending:
            state = (await load_case(store, row["complaint_id"])).state
            extensions.append(
                {
                    **dict(row),
                    "department_name": department_name(row["department"], lang),
                    "days": state.pending_extension_days,
                    "used": state.extension_days,
                    "reason": state.pending_extension_reason,  # the department's, to decide on
                }
            )
        departments = [(d.code, d.name.get(lang)) for d in register.departments]
        context = {
            "alert": alert,
            "month": this_month,
            "month_label": month_name(this_month, lang),
            "cards": cards,
            "total": total,
            "charts": [received_chart, timely_chart, month_chart],
            "late": late,
            "late_cases": late_cases,
            "people": people_rows(by_person, names, lang, department_of),
            **people_columns(lang),
            "people_departments": True,
            "arbitration": arbitration,
            "extensions": extensions,
            "departments": departments,
            "report_months": months[::-1],
            **await hotspot_panel.context(pool(request), now, lang),
            **await appraiser.panel(pool(request), now, lang),
            "month_name": lambda m: month_name(m, lang),
        }
        return staff_page(web, request, principal, "staff/dashboard.html", context, status=status)

    @r.get("/dashboard")
    async def dashboard(request: Request) -> Response:
        principal = await require_staff(request, "dept_head", *SUPERVISOR_ROLES)
        if principal.role == "dept_head":
            return await render_department(request, principal)
        done = request.query_params.get("done") == "1"
        return await render(
            request, principal, alert=gettext(web.lang(request), DONE) if done else None
        )

    async def act(request: Request, complaint_id: uuid.UUID, name: str) -> Response:
        principal = await require_staff(request, *SUPERVISOR_ROLES)
        lang = web.lang(request)
        raw = await form_data(request)
        if not web.csrf.verify(request, raw):
            return await render(request, principal, alert=gettext(lang, CSRF_REFUSED), status=403)
        fields: dict[str, Any]
        if name == "route":
            codes = {d.code for d in register.departments}
            department = raw.get("department", "")
            if department not in codes:
                return await render(
                    request, principal, alert=gettext(lang, NO_DEPARTMENT), status=422
                )
            fields = {"department": department}
            requirements = raw.get("requirements", "").strip()[:REASON_LIMIT]
            if requirements:
                fields["requirements"] = requirements
        else:
            decision = raw.get("approved")
            if decision not in ("yes", "no"):
                return await render(
                    request, principal, alert=gettext(lang, NO_DECISION), status=422
                )
            fields = {"approved": decision == "yes"}
            reason = raw.get("reason", "").strip()[:REASON_LIMIT]
            if reason:
                fields["reason"] = reason
        try:
            await send_action(
                request,
                settings.naming,
                actions[name],
                complaint_id,
                principal,
                fields,
                raw.get("form_id") or None,
            )
        except DomainProblem as problem:
            return await render(
                request, principal, alert=problem_text(problem, lang), status=problem.status
            )
        return see_other("/staff/dashboard?done=1")

    @r.post("/dashboard/{complaint_id}/route")
    async def route(request: Request, complaint_id: uuid.UUID) -> Response:
        return await act(request, complaint_id, "route")

    @r.post("/dashboard/{complaint_id}/extension-decision")
    async def extension_decision(request: Request, complaint_id: uuid.UUID) -> Response:
        return await act(request, complaint_id, "extension-decision")

    @r.get("/reports/monthly/{month}.xlsx")
    async def monthly(request: Request, month: str) -> Response:
        principal = await require_staff(request, *SUPERVISOR_ROLES)
        lang = web.lang(request)
        try:
            year, number = parse_month(month)
            # Nothing before the calendar's first year was ever received
            # (and year 1 has no month before it to compare with).
            if year < FIRST_YEAR or month_start(year, number) > utcnow():
                raise ValueError(month)
        except ValueError:
            context = {"message": gettext(lang, BAD_MONTH)}
            return staff_page(
                web, request, principal, "staff/dashboard_missing.html", context, status=404
            )
        name = f"{year:04d}-{number:02d}"
        with tempfile.TemporaryDirectory(prefix="tousu-report-") as folder:
            # monthly_report renders off the event loop itself; reading the file is quick.
            language: Language = "en" if lang == "en" else "zh-CN"
            files = await monthly_report(
                name,
                pool(request),
                Path(folder),
                language=language,
                appraisal_scheme=settings.quality.appraisal_scheme,
                hotspot_rule=HotspotRule.of(settings.quality),
            )
            content = await asyncio.to_thread(files.workbook.read_bytes)
        return Response(
            content,
            media_type=XLSX,
            headers={
                "Content-Disposition": f'attachment; filename="tousu-{name}.xlsx"',
                "Cache-Control": "no-store",
            },
        )

    return r

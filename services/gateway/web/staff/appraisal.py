"""``/staff/appraisal``: the appraisal (考核) of a month, quarter or year —
the ranking with each unit's score, the 表彰 and 批评和问责 lists, every unit's
calculation line by line and the scheme version it used; and the small panel
of the supervisor's dashboard (templates/staff/_appraisal.html). A department
head sees their own department, or its people, ranked among everyone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import asyncpg
from fastapi import APIRouter, Request
from starlette.responses import Response

from tousu.services.gateway.auth.dependencies import get_pool
from tousu.services.gateway.problems import Lang
from tousu.services.gateway.web.context import Web
from tousu.services.gateway.web.i18n import N_, gettext
from tousu.services.gateway.web.staff.people import display_names, person
from tousu.services.gateway.web.staff.session import require_staff, staff_page
from tousu.services.gateway.web.templating import department_namer
from tousu.services.metrics.appraisal.views import (
    Appraisal,
    DataFileError,
    NoVersion,
    Period,
    PeriodError,
    Scheme,
    Unit,
    UnitScore,
    appraisal,
    current_month,
    line_ratio,
    line_value,
    money,
    parse_period,
)
from tousu.shared.calendar import TZ
from tousu.shared.events import utcnow
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.settings import Settings

PATH: Final = "/staff/appraisal"
ROLES: Final = ("dept_head", "supervisor", "admin")
# Units shown at each end of the dashboard's panel.
PANEL_SHOWN: Final = 3

FIGURES: Final[dict[str, str]] = {
    "acceptance_timeliness": N_("Acceptance timeliness (受理及时率)"),
    "feedback_timeliness": N_("Feedback timeliness (及时率)"),
    "closure_rate": N_("Closure rate (办结率)"),
    "satisfaction_rate": N_("Satisfaction rate (满意率)"),
    "inspection_score": N_("Inspection score (质量检查得分)"),
}
DEDUCTIONS: Final[dict[str, str]] = {
    "late_entry": N_("Late entries (补录)"),
    "return": N_("Returns (退单)"),
    "supervision": N_("Supervision notices (督办)"),
    "overdue_improvement": N_("Overdue improvement items"),
}
BAD_PERIOD = N_("Write the period as 2026-10 (a month), 2026-Q4 (a quarter) or 2026 (a year).")
NO_SCHEME = N_("No appraisal scheme was in force on the period's first day.")
BAD_SCHEME = N_("The appraisal scheme file is not valid: %(problem)s")
MEAN_OF = N_("mean %(mean)s of %(count)s reviewed")


@dataclass(frozen=True)
class LineRow:
    label: str
    ratio: str
    value: str
    weight: str
    points: str
    counted: bool


@dataclass(frozen=True)
class DeductionRow:
    label: str
    count: int
    per_unit: str
    cap: str | None
    capped: bool
    points: str


@dataclass(frozen=True)
class UnitRow:
    key: str
    name: str  # the department's name, or the person's display name
    department: str  # a person's department's name; "" for a department
    rank: int | None
    score: str
    base: str
    earned: str
    deducted: str
    received: int
    rescaled: bool
    weight_with_values: str
    total_weight: str
    floored: bool
    lines: list[LineRow]
    deductions: list[DeductionRow]
    commended: bool
    accountable: bool


def _weight(value: Any) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _ratio(unit: UnitScore, index: int, lang: Lang) -> str:
    line = unit.lines[index]
    if line.figure == "inspection_score" and unit.reviews:
        mean = (line.ratio.numerator / unit.reviews).quantize(Decimal("0.01"))
        return gettext(lang, MEAN_OF, mean=_weight(mean), count=unit.reviews)
    return line_ratio(line, unit.reviews, lang)


def unit_rows(
    result: Appraisal, lang: Lang, department_name: Any, names: dict[str, str]
) -> list[UnitRow]:
    commend, account = set(result.result.commend), set(result.result.account)
    rows: list[UnitRow] = []
    for unit in result.units:
        if result.by == "department":
            name, dept = department_name(unit.key) or unit.key, ""
        else:
            handler = unit.key.split("@")[0]
            name, dept = person(names, handler) or handler, department_name(unit.department)
        rows.append(
            UnitRow(
                key=unit.key,
                name=name,
                department=dept,
                rank=unit.rank,
                score=money(unit.score),
                base=money(unit.base),
                earned=money(unit.earned),
                deducted=money(unit.deducted),
                received=unit.received,
                rescaled=unit.rescaled,
                weight_with_values=_weight(unit.weight_with_values),
                total_weight=_weight(unit.total_weight),
                floored=unit.base is not None and unit.base - unit.deducted < 0,
                lines=[
                    LineRow(
                        label=gettext(lang, FIGURES[line.figure]),
                        ratio=_ratio(unit, i, lang),
                        value=line_value(line),
                        weight=_weight(line.weight),
                        points=money(line.points),
                        counted=line.points is not None,
                    )
                    for i, line in enumerate(unit.lines)
                ],
                deductions=[
                    DeductionRow(
                        label=gettext(lang, DEDUCTIONS[d.name]),
                        count=d.count,
                        per_unit=money(d.per_unit),
                        cap=None if d.cap is None else money(d.cap),
                        capped=d.capped,
                        points=money(d.points),
                    )
                    for d in unit.deductions
                ],
                commended=unit.key in commend,
                accountable=unit.key in account,
            )
        )
    return rows


def _previous(period: Period) -> str:
    local = period.start.astimezone(TZ)
    year, month = (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)
    return f"{year:04d}-{month:02d}"


def period_links(now: datetime) -> list[str]:
    """The periods offered one click away: the last three months, this and
    last quarter, this and last year."""
    this = current_month(now)
    months = [this.name]
    for _ in range(2):
        months.append(_previous(parse_period(months[-1])))
    local = now.astimezone(TZ)
    quarter = (local.month - 1) // 3 + 1
    last_q = f"{local.year - 1}-Q4" if quarter == 1 else f"{local.year}-Q{quarter - 1}"
    return [*months, f"{local.year}-Q{quarter}", last_q, str(local.year), str(local.year - 1)]


class Appraiser:
    """Reads the appraisal for a page with the configured scheme and names."""

    def __init__(self, settings: Settings) -> None:
        self._scheme_file = settings.quality.appraisal_scheme
        register = CommitmentRegister.load()
        self._namers = {lang: department_namer(register, lang) for lang in ("zh", "en")}

    def department_name(self, lang: Lang) -> Any:
        return self._namers[lang]

    async def __call__(
        self, pool: asyncpg.Pool, period: Period, as_of: datetime, by: Unit
    ) -> Appraisal:
        scheme = Scheme.configured(self._scheme_file)
        return await appraisal(pool, period, as_of, by=by, scheme=scheme)

    async def panel(self, pool: asyncpg.Pool, now: datetime, lang: Lang) -> dict[str, Any]:
        """The dashboard panel's context: last month's best and worst departments."""
        period = parse_period(_previous(current_month(now)))
        try:
            result = await self(pool, period, now, "department")
        except (DataFileError, NoVersion):
            return {"appraisal_panel": None}
        rows = unit_rows(result, lang, self._namers[lang], {})
        ranked = [r for r in rows if r.rank is not None]
        top = ranked[:PANEL_SHOWN]
        bottom = ranked[PANEL_SHOWN:][-PANEL_SHOWN:]
        return {
            "appraisal_panel": {
                "period": period.name,
                "top": top,
                "bottom": bottom,
                "version": result.version.version,
                "href": f"{PATH}?period={period.name}",
            }
        }


def router(settings: Settings) -> APIRouter:
    web = Web.create(settings)
    appraiser = Appraiser(settings)
    routes = APIRouter()

    @routes.get("/appraisal")
    async def page(request: Request) -> Response:
        principal = await require_staff(request, *ROLES)
        lang = web.lang(request)
        pool = get_pool(request)
        now = utcnow()
        query = request.query_params
        by: Unit = "person" if query.get("by") == "person" else "department"
        asked = (query.get("period") or "").strip()[:10]
        problem: str | None = None
        try:
            period = parse_period(asked) if asked else current_month(now)
        except PeriodError:
            problem, period = gettext(lang, BAD_PERIOD), current_month(now)
        result: Appraisal | None = None
        try:
            result = await appraiser(pool, period, now, by)
        except NoVersion:
            problem = gettext(lang, NO_SCHEME)
        except DataFileError as exc:
            problem = gettext(lang, BAD_SCHEME, problem=str(exc))
        confined = None
        if result is not None and principal.role == "dept_head":
            confined = principal.department or ""
            result = result.confined_to(confined)
        names = await display_names(pool)
        rows = unit_rows(result, lang, appraiser.department_name(lang), names) if result else []
        ranked = sum(1 for r in rows if r.rank is not None)
        by_key = {r.key: r for r in rows}
        context = {
            "period": period.name,
            "asked": asked or period.name,
            "by": by,
            "problem": problem,
            "rows": rows,
            "ranked": ranked,
            "commend": [by_key[k] for k in result.result.commend] if result else [],
            "account": [by_key[k] for k in result.result.account] if result else [],
            "version": result.version if result else None,
            "scheme_source": result.source if result else None,
            "as_of": now,
            "confined": appraiser.department_name(lang)(confined) if confined else None,
            "period_links": period_links(now),
        }
        status = 422 if problem and asked else 200
        return staff_page(web, request, principal, "staff/appraisal.html", context, status=status)

    return routes

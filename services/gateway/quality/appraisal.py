"""``GET /api/v1/appraisal``: the appraisal (考核) of a period by department or
by person (docs/quality-appraisal.md). Supervisors and administrators see
every unit; a department head sees their department's row, or its people,
ranked among everyone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from tousu.services.gateway.auth.dependencies import get_pool, require_roles
from tousu.services.gateway.auth.roles import DEPARTMENT_ROLES, Principal
from tousu.services.gateway.problems import ServiceUnavailable, Text, Unprocessable
from tousu.services.metrics.appraisal.views import (
    DataFileError,
    NoVersion,
    PeriodError,
    Scheme,
    appraisal,
    appraisal_dict,
    current_month,
    parse_period,
)
from tousu.services.metrics.views import PeriodError as InstantError
from tousu.services.metrics.views import parse_instant
from tousu.shared.domain.inputs import INSTANT_OUT_OF_RANGE, instant_problem
from tousu.shared.events import utcnow

# A client's clock a little ahead of ours is still asking for "now".
AS_OF_SKEW = timedelta(minutes=5)

Reader = Annotated[Principal, Depends(require_roles("dept_head", "supervisor", "admin"))]


class LineOut(BaseModel):
    figure: str = Field(description="acceptance_timeliness, feedback_timeliness, closure_rate, "
                        "satisfaction_rate or inspection_score")  # fmt: skip
    label: str
    numerator: float
    denominator: float = Field(description="0: the figure has no value")
    value: float | None = Field(description="numerator ÷ denominator, 4 places")
    weight: float
    points: float | None = Field(description="weight × value, 2 places half up; null: no value")
    reviews: int | None = Field(default=None, description="inspection reviews (inspection_score)")


class DeductionOut(BaseModel):
    name: str = Field(description="late_entry, return, supervision or overdue_improvement")
    label: str
    count: int
    per_unit: float
    cap: float | None
    capped: bool
    points: float


class UnitOut(BaseModel):
    unit: str = Field(description="A department's code, or a handler's id")
    department: str | None
    rank: int | None = Field(description="1 = best; null: nothing to score")
    score: float | None
    received: int
    lines: list[LineOut]
    earned: float = Field(description="The lines' points added up")
    weight_with_values: float
    total_weight: float
    base: float | None = Field(description="earned, rescaled to the total weight if the "
                               "scheme says so")  # fmt: skip
    rescaled: bool
    deductions: list[DeductionOut]
    deducted: float


class SchemeOut(BaseModel):
    version: int
    effective_from: str
    source: str
    missing: Literal["rescale", "zero"]
    supervision_kinds: list[str]


class AppraisalOut(BaseModel):
    period: str
    from_: str = Field(alias="from", serialization_alias="from")
    to: str
    as_of: str
    by: Literal["department", "person"]
    department: str | None = Field(default=None, description="Set when confined to one department")
    scheme: SchemeOut
    units: list[UnitOut]
    commend: list[str] = Field(description="表彰, best first")
    account: list[str] = Field(description="批评和问责, best first")

    model_config = {"populate_by_name": True}


def _problem(field: str, zh: str, message: str, kind: str = "value_error") -> Unprocessable:
    return Unprocessable(
        Text(zh, message), errors=[{"field": f"query.{field}", "message": message, "type": kind}]
    )


def _as_of(text: str | None, now: datetime) -> datetime:
    if text is None:
        return now
    try:
        when = parse_instant(text)
    except InstantError as exc:
        raise _problem("as_of", "as_of 格式有误", str(exc)) from exc
    if (problem := instant_problem(when)) is not None:
        raise _problem("as_of", "as_of 超出日历范围", problem, INSTANT_OUT_OF_RANGE)
    if when > now + AS_OF_SKEW:
        message = "is in the future; an appraisal is only given as things stood up to now"
        raise _problem("as_of", "as_of 不能晚于当前时间", message, "as_of_in_future")
    return min(when, now)


def router() -> APIRouter:
    api = APIRouter()

    @api.get("/appraisal", response_model=AppraisalOut, operation_id="get_appraisal")
    async def get_appraisal(
        request: Request,
        principal: Reader,
        period: Annotated[
            str | None,
            Query(max_length=10, description="2026-10, 2026-Q4 or 2026; default this month"),
        ] = None,
        by: Literal["department", "person"] = "department",
        as_of: Annotated[
            str | None, Query(max_length=40, description="As things stood then; default now")
        ] = None,
        lang: Annotated[Literal["zh", "en"], Query(description="Labels' language")] = "zh",
    ) -> AppraisalOut:
        """考核: each unit's score, rank and lines, and the 表彰 and 批评和问责
        lists, under the scheme version in force on the period's first day."""
        now = utcnow()
        when = _as_of(as_of, now)
        try:
            bounds = parse_period(period) if period is not None else current_month(now)
        except PeriodError as exc:
            raise _problem("period", "考核期间格式有误", str(exc)) from exc
        try:
            scheme = Scheme.configured(request.app.state.quality.appraisal_scheme)
        except DataFileError as exc:
            raise ServiceUnavailable(Text("考核方案文件有误", str(exc))) from exc
        try:
            result = await appraisal(get_pool(request), bounds, when, by=by, scheme=scheme)
        except NoVersion as exc:
            raise _problem("period", "该期间没有施行的考核方案", str(exc), "no_scheme") from exc
        department = None
        if principal.role in DEPARTMENT_ROLES:
            department = principal.department or ""
            result = result.confined_to(department)
        body = appraisal_dict(result, lang)
        body["department"] = department
        return AppraisalOut.model_validate(body)

    return api

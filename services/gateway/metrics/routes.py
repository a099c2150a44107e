"""``GET /api/v1/kpis`` and ``GET /api/v1/supervision/overdue``.

Supervisors and administrators see everything; a department head sees the
figures and the overdue cases of their own department, a handler the overdue
cases of theirs. Both read projections that follow the event store by a moment.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from tousu.services.gateway.auth.dependencies import get_pool, require_roles
from tousu.services.gateway.auth.roles import DEPARTMENT_ROLES, Principal
from tousu.services.gateway.problems import Text, Unprocessable, request_language
from tousu.services.metrics.views import (
    KpiRow,
    PeriodError,
    PgKpiSource,
    cohort,
    overdue,
    parse_instant,
    row_dict,
)
from tousu.shared.calendar import TZ, WorkdayCalendar
from tousu.shared.calendar.repository import load_years
from tousu.shared.domain.inputs import INSTANT_OUT_OF_RANGE, instant_problem
from tousu.shared.domain.labels import deadline_label
from tousu.shared.domain.status import Status
from tousu.shared.events import utcnow
from tousu.shared.events.types import DeadlineKind

GroupByParam = Literal["department", "handler", "channel", "category", "month"]


class RateOut(BaseModel):
    numerator: int
    denominator: int
    value: float | None = Field(description="numerator ÷ denominator; null when nothing counts")


class KpiRowOut(BaseModel):
    group: str | None = Field(description="The group's key; null for the total or 'none'")
    received: int
    accepted: int
    rejected: int
    fed_back: int
    closed: int
    reopened: int
    overdue_now: int
    acceptance_timeliness: RateOut
    feedback_timeliness: RateOut = Field(description="及时率")
    closure_rate: RateOut = Field(description="办结率")
    satisfaction_rate: RateOut = Field(description="满意率")
    avg_handling_working_days: float | None
    late_entries: int = Field(
        description="Late entries (补录) in these complaints' histories: facts recorded "
        "later than they happened, the figures resting on them"
    )
    imported: int = Field(
        default=0,
        description="Complaints brought in from an earlier system by `tousu import` "
        "(docs/import.md), counted like any other",
    )

    @classmethod
    def of(cls, row: KpiRow) -> KpiRowOut:
        return cls.model_validate(row_dict(row))


class KpiReport(BaseModel):
    from_: datetime = Field(alias="from", serialization_alias="from")
    to: datetime
    as_of: datetime
    group_by: GroupByParam | None
    department: str | None = Field(description="Set when the figures are one department's")
    total: KpiRowOut
    rows: list[KpiRowOut]

    model_config = {"populate_by_name": True}


class OverdueItem(BaseModel):
    complaint_id: uuid.UUID
    tracking_no: str | None
    status: Status
    department: str | None
    handler: str | None
    subject: str | None
    deadline: DeadlineKind
    deadline_label: str
    due_at: datetime
    working_days_late: int
    hours_late: float
    provisional: bool = Field(description="The deadline rests on a provisional calendar")
    supervised: bool = Field(description="The overdue notice (督办) has been raised")


class OverdueList(BaseModel):
    as_of: datetime
    total: int
    items: list[OverdueItem]


def _instant(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        at = parse_instant(text)
    except PeriodError as exc:
        raise Unprocessable(
            Text(f"{name} 格式有误", f"{name} is not a month, day or timestamp"),
            errors=[{"field": f"query.{name}", "message": str(exc), "type": "value_error"}],
        ) from exc
    problem = instant_problem(at)
    if problem is not None:
        raise Unprocessable(
            Text(f"{name} 超出日历范围", f"{name} {problem}"),
            errors=[{"field": f"query.{name}", "message": problem, "type": INSTANT_OUT_OF_RANGE}],
        )
    return at


def _as_of(text: str | None, now: datetime) -> datetime:
    """The instant the figures are for: now by default, never later. Figures
    "as of" a future instant would be a projection presented as fact."""
    when = _instant(text, "as_of")
    if when is None:
        return now
    if when > now + AS_OF_SKEW:
        message = "is in the future; figures are only given as they stood up to now"
        raise Unprocessable(
            Text("as_of 不能晚于当前时间", f"as_of {message}"),
            errors=[{"field": "query.as_of", "message": message, "type": "as_of_in_future"}],
        )
    return min(when, now)


def _scope(principal: Principal) -> str | None:
    # A department role without a department sees nothing: "" matches no case.
    return (principal.department or "") if principal.role in DEPARTMENT_ROLES else None


async def _calendar(request: Request) -> WorkdayCalendar:
    return WorkdayCalendar(await load_years(get_pool(request)))


# A client's clock a little ahead of ours is still asking for "now".
AS_OF_SKEW = timedelta(minutes=5)

KpiReader = Annotated[Principal, Depends(require_roles("dept_head", "supervisor", "admin"))]
OverdueReader = Annotated[
    Principal, Depends(require_roles("handler", "dept_head", "supervisor", "admin"))
]


def metrics_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["metrics"])

    @router.get("/kpis", response_model=KpiReport, operation_id="get_kpis")
    async def get_kpis(
        request: Request,
        principal: KpiReader,
        from_: Annotated[
            str | None,
            Query(
                alias="from",
                max_length=40,
                description="Cohort start: YYYY-MM, YYYY-MM-DD or a timestamp "
                "(Beijing time without a zone); default this month",
            ),
        ] = None,
        to: Annotated[
            str | None,
            Query(max_length=40, description="Cohort end, exclusive; default a month on"),
        ] = None,
        as_of: Annotated[
            str | None, Query(max_length=40, description="Figures as they stood then; default now")
        ] = None,
        group_by: GroupByParam | None = None,
    ) -> KpiReport:
        """The KPIs of docs/design.md, "Metrics", for complaints received in
        [from, to), as of an instant."""
        now = utcnow()
        when = _as_of(as_of, now)
        _instant(from_, "from")
        _instant(to, "to")
        try:
            start, end = cohort(from_, to, now)
        except PeriodError as exc:
            raise Unprocessable(
                Text("统计区间有误", "The cohort is empty"),
                errors=[{"field": "query.to", "message": str(exc), "type": "value_error"}],
            ) from exc
        source = PgKpiSource(get_pool(request))
        department = _scope(principal)

        async def figures(by: GroupByParam | None) -> list[KpiRow]:
            return await source.kpis(
                start=start, end=end, as_of=when, group_by=by, department=department
            )

        total = (await figures(None))[0]
        rows = await figures(group_by) if group_by else []
        return KpiReport(
            from_=start,
            to=end,
            as_of=when.astimezone(TZ),
            group_by=group_by,
            department=department,
            total=KpiRowOut.of(total),
            rows=[KpiRowOut.of(r) for r in rows],
        )

    @router.get("/supervision/overdue", response_model=OverdueList, operation_id="list_overdue")
    async def list_overdue(
        request: Request,
        principal: OverdueReader,
        department: Annotated[str | None, Query(max_length=64)] = None,
        deadline: DeadlineKind | None = None,
    ) -> OverdueList:
        """Deadlines owed and passed, the longest late first, with how late in
        working days (督办 list)."""
        now = utcnow()
        scope = _scope(principal)
        if scope is not None:
            department = scope
        lang = request_language(request)
        late = await overdue(
            get_pool(request), now, await _calendar(request), department=department, kind=deadline
        )
        items = [
            OverdueItem(
                complaint_id=o.deadline.complaint_id,
                tracking_no=o.deadline.tracking_no,
                status=Status(o.deadline.status),
                department=o.deadline.department,
                handler=o.deadline.handler,
                subject=o.deadline.subject,
                deadline=o.deadline.kind,
                deadline_label=deadline_label(o.deadline.kind.value, lang),
                due_at=o.deadline.due_at.astimezone(TZ),
                working_days_late=o.working_days_late,
                hours_late=o.hours_late,
                provisional=o.deadline.provisional,
                supervised=o.deadline.overdue_raised,
            )
            for o in late
        ]
        return OverdueList(as_of=now.astimezone(TZ), total=len(items), items=items)

    return router

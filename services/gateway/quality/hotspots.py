"""``GET /api/v1/hotspots``: the recurring problems (热点诉求) of a week or a
month — per service item, place and term, the most complaints first, with
the change against the periods before, the surge flag, whether an alert was
raised and the cases (docs/quality-hotspots.md).

Supervisors and administrators see the whole city; a department head the
complaints their department holds.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from tousu.services.gateway.auth.dependencies import get_pool, require_roles
from tousu.services.gateway.auth.roles import DEPARTMENT_ROLES, Principal
from tousu.services.gateway.problems import Text, Unprocessable
from tousu.services.metrics.hotspots.views import (
    DIMENSIONS,
    Hotspot,
    HotspotRule,
    hotspots,
)
from tousu.services.metrics.views import PeriodError, parse_instant
from tousu.shared.calendar import TZ
from tousu.shared.domain.inputs import INSTANT_OUT_OF_RANGE, instant_problem
from tousu.shared.events import utcnow
from tousu.shared.events.quality import HotspotDimension, HotspotPeriod
from tousu.shared.settings import load_settings

Reader = Annotated[Principal, Depends(require_roles("dept_head", "supervisor", "admin"))]


class CaseOut(BaseModel):
    complaint_id: uuid.UUID
    tracking_no: str | None
    subject: str | None
    received_at: datetime
    url: str = Field(description="The case's staff page")


class HotspotOut(BaseModel):
    dimension: HotspotDimension
    key: str = Field(description="The service item's code, the place (normalised) or the term")
    count: int = Field(description="Complaints received in the period, up to `at`")
    baseline: float = Field(description="Mean count of the `baseline_periods` periods before")
    baseline_counts: list[int] = Field(
        description="The counts of the periods the mean was taken over, oldest first (fewer "
        "than baseline_periods where the store began recording later)"
    )
    ratio: float | None = Field(description="count ÷ baseline; null when the baseline is 0")
    change: Literal["new", "up", "flat", "down"]
    surge: bool = Field(description="Meets the hotspot rule (settings.quality)")
    alerted: bool = Field(description="A HotspotAlertRaised is on record for it")
    cases: list[CaseOut] = Field(description="The latest of its complaints")

    @classmethod
    def of(cls, item: Hotspot) -> HotspotOut:
        return cls(
            dimension=item.dimension,
            key=item.key,
            count=item.count,
            baseline=item.baseline,
            baseline_counts=item.baseline_counts,
            ratio=item.ratio,
            change=item.change,
            surge=item.surge,
            alerted=item.alerted,
            cases=[
                CaseOut(
                    complaint_id=c.complaint_id,
                    tracking_no=c.tracking_no,
                    subject=c.subject,
                    received_at=c.received_at.astimezone(TZ),
                    url=f"/staff/cases/{c.complaint_id}",
                )
                for c in item.cases
            ],
        )


class HotspotReport(BaseModel):
    period: HotspotPeriod
    period_start: date
    period_end: date = Field(description="Excluded")
    label: str = Field(description="2026-W49 or 2026-12")
    complete: bool = Field(description="The period had ended by `at`")
    at: datetime
    department: str | None = Field(description="Set when the counts are one department's")
    threshold: float
    min_count: int
    baseline_periods: int
    items: list[HotspotOut]


def _at(text: str | None) -> datetime:
    now = utcnow()
    if text is None:
        return now
    try:
        at = parse_instant(text)
    except PeriodError as exc:
        raise Unprocessable(
            Text("at 格式有误", "at is not a month, day or timestamp"),
            errors=[{"field": "query.at", "message": str(exc), "type": "value_error"}],
        ) from exc
    problem = instant_problem(at)
    if problem is not None:
        raise Unprocessable(
            Text("at 超出日历范围", f"at {problem}"),
            errors=[{"field": "query.at", "message": problem, "type": INSTANT_OUT_OF_RANGE}],
        )
    return min(at, now)


def router() -> APIRouter:
    r = APIRouter()
    # The gateway reads the same settings (environment) as the metrics service.
    rule = HotspotRule.of(load_settings().quality)

    @r.get(
        "/hotspots",
        response_model=HotspotReport,
        operation_id="get_hotspots",
        tags=["quality"],
    )
    async def get_hotspots(
        request: Request,
        principal: Reader,
        period: HotspotPeriod = "week",
        at: Annotated[
            str | None,
            Query(
                max_length=40,
                description="An instant in the period (a day, or a timestamp; Beijing time "
                "without a zone); default now. Counts stand as of it.",
            ),
        ] = None,
        dimension: Annotated[
            list[HotspotDimension] | None, Query(description="Default: all three")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=50, description="Groups per dimension")] = 10,
    ) -> HotspotReport:
        """The top groups of each dimension in the week (from Monday) or month
        holding `at`, in Asia/Shanghai."""
        when = _at(at)
        department = (principal.department or "") if principal.role in DEPARTMENT_ROLES else None
        found = await hotspots(
            get_pool(request),
            period=period,
            at=when,
            rule=rule,
            dimensions=tuple(dimension) if dimension else DIMENSIONS,
            department=department,
            limit=limit,
        )
        return HotspotReport(
            period=period,
            period_start=found.window.start,
            period_end=found.window.end,
            label=found.window.label(),
            complete=found.complete,
            at=when.astimezone(TZ),
            department=department,
            threshold=rule.threshold,
            min_count=rule.min_count,
            baseline_periods=rule.baseline_periods,
            items=[HotspotOut.of(h) for h in found.items],
        )

    return r

"""The staff API of the quality inspection (质量检查/抽查, docs/quality-inspection.md):
``GET /api/v1/inspection/{period}``, ``POST …/draw`` and ``POST …/reviews``,
for the supervision office (supervisors and administrators).

The draw and the reviews are the metrics service's requests
(``<root>.cmd.metrics.inspection-draw`` / ``inspection-review``), sent over
NATS as the signed-in user, so HTTP and NATS are held to the same rules; a
refusal is a problem naming the field (422), 404 (no draw), 403 or 409.
Reads come from the sample table and the month's stream.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from tousu.services.gateway.auth.dependencies import get_pool, require_roles
from tousu.services.gateway.auth.roles import Principal
from tousu.services.gateway.complaints.client import call
from tousu.services.gateway.complaints.replies import problem_for
from tousu.services.gateway.problems import DomainProblem
from tousu.services.metrics.inspection.views import checklist, drawn, sample
from tousu.shared.application.inspection import DrawResult, ReviewResult
from tousu.shared.domain.commands import TEXT
from tousu.shared.domain.inputs import Text
from tousu.shared.domain.inspection import MAX_SEED, PERIOD, ItemScore
from tousu.shared.events.quality import ReviewAction, SampleReason
from tousu.shared.naming import Naming

Office = Annotated[Principal, Depends(require_roles("supervisor", "admin"))]
Period = Annotated[str, Path(pattern=PERIOD, description="The month, YYYY-MM (Asia/Shanghai)")]


class DrawBody(BaseModel):
    """What a draw may set; each left out takes the recorded default."""

    model_config = {"extra": "forbid"}

    seed: int | None = Field(
        default=None, ge=0, le=MAX_SEED, description="Default: a fresh random one"
    )
    share: float | None = Field(
        default=None, gt=0, le=1, description="Default: settings.quality.inspection_share"
    )
    minimum: int | None = Field(
        default=None, ge=0, le=1000, description="Default: settings.quality.inspection_minimum"
    )


class ReviewBody(BaseModel):
    model_config = {"extra": "forbid"}

    complaint_id: uuid.UUID
    scores: list[ItemScore] = Field(min_length=1, max_length=100)
    notes: Text | None = Field(default=None, max_length=TEXT)
    action: ReviewAction = Field(
        default="none", description="A failed review's: raise a 督办 (supervise) or reopen"
    )
    reason: Text | None = Field(
        default=None, max_length=TEXT, description="The 督办's note or the reopening's reason"
    )


class SampledOut(BaseModel):
    complaint_id: uuid.UUID
    tracking_no: str | None
    department: str
    handler: str | None
    reasons: list[SampleReason]
    reviewed: bool
    score: float | None = Field(description="Percent of the checklist's maximum")
    passed: bool | None
    action: ReviewAction | None
    reviewer: str | None
    reviewed_at: datetime | None
    review_event_id: uuid.UUID | None


class ItemOut(BaseModel):
    code: str
    group: str
    label_zh: str
    label_en: str
    max_points: float
    guidance: str


class ChecklistOut(BaseModel):
    version: int
    pass_mark: float = Field(description="Percent of the maximum a review passes at")
    items: list[ItemOut]


class InspectionOut(BaseModel):
    period: str
    drawn: bool
    seed: int | None
    share: float | None
    minimum: int | None
    population: dict[str, int] = Field(description="Closed cases per department")
    event_id: uuid.UUID | None = Field(description="The InspectionSampleDrawn event")
    drawn_at: datetime | None
    drawn_by: str | None
    checklist: ChecklistOut
    cases: list[SampledOut]


async def send(request: Request, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """``<root>.cmd.metrics.<name>``: its result, or the refusal as a problem
    (422 naming ``body.<field>``, 404, 403, 409)."""
    naming: Naming = request.app.state.naming
    ok, answer = await call(
        request.app.state.connections.nats, naming.command("metrics", name), body
    )
    if ok:
        return dict(answer)
    problem: DomainProblem = problem_for(answer, name)
    raise problem


def draw_command(principal: Principal, period: str, body: DrawBody) -> dict[str, Any]:
    return {
        "actor": principal.actor().model_dump(mode="json"),
        "period": period,
        **body.model_dump(exclude_none=True),
    }


def review_command(principal: Principal, period: str, body: ReviewBody) -> dict[str, Any]:
    return {
        "actor": principal.actor().model_dump(mode="json"),
        "period": period,
        **body.model_dump(mode="json", exclude_none=True),
    }


def router() -> APIRouter:
    api = APIRouter(tags=["quality"])

    @api.get("/inspection/{period}", response_model=InspectionOut)
    async def show(request: Request, period: Period, principal: Office) -> InspectionOut:
        """The month's sample (empty before it is drawn), its seed, and each
        case's review if any; with the checklist it is scored against."""
        draw = await drawn(request.app.state.connections.store, period)
        rows = await sample(get_pool(request), period)
        sheet = checklist(draw.data.checklist_version if draw else None)
        return InspectionOut(
            period=period,
            drawn=draw is not None,
            seed=draw.data.seed if draw else None,
            share=draw.data.share if draw else None,
            minimum=draw.data.minimum if draw else None,
            population=draw.data.population if draw else {},
            event_id=uuid.UUID(draw.event_id) if draw else None,
            drawn_at=draw.recorded_at if draw else None,
            drawn_by=draw.drawn_by if draw else None,
            checklist=ChecklistOut(
                version=sheet.version,
                pass_mark=sheet.pass_mark,
                items=[
                    ItemOut(
                        code=i.code,
                        group=i.group,
                        label_zh=i.zh,
                        label_en=i.en,
                        max_points=i.max_points,
                        guidance=i.guidance,
                    )
                    for i in sheet.items
                ],
            ),
            cases=[
                SampledOut(
                    complaint_id=uuid.UUID(r.complaint_id),
                    tracking_no=r.tracking_no,
                    department=r.department,
                    handler=r.handler,
                    reasons=list(r.reasons),
                    reviewed=r.reviewed,
                    score=r.score,
                    passed=r.passed,
                    action=r.action,
                    reviewer=r.reviewer,
                    reviewed_at=r.reviewed_at,
                    review_event_id=uuid.UUID(r.review_event_id) if r.review_event_id else None,
                )
                for r in rows
            ],
        )

    @api.post("/inspection/{period}/draw", status_code=201, response_model=DrawResult)
    async def draw(
        request: Request, period: Period, principal: Office, body: DrawBody | None = None
    ) -> dict[str, Any]:
        """Draw the month's sample: once a month, after it has ended."""
        command = draw_command(principal, period, body or DrawBody())
        return await send(request, "inspection-draw", command)

    @api.post("/inspection/{period}/reviews", status_code=201, response_model=ReviewResult)
    async def review(
        request: Request, period: Period, principal: Office, body: ReviewBody
    ) -> dict[str, Any]:
        """Score one sampled case against the draw's checklist (once per case).
        A failed review may raise a 督办 on the case or reopen it, stored
        with the review or not at all."""
        return await send(request, "inspection-review", review_command(principal, period, body))

    return api

"""The staff API of improvement items (整改跟踪): ``GET /api/v1/improvements``
and ``POST /api/v1/improvements/{id}/close`` (docs/quality-improvements.md).

A department's handlers and head see and close their own department's items
only; another department's item answers 404, as its cases do. Supervisors
and administrators see every item; closing is the department's (the domain
refuses anyone else, over HTTP as over NATS). Lists read the metrics
service's ``improvement_items`` table, written with the items' events.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from pydantic import BaseModel, Field

from tousu.services.gateway.auth.dependencies import get_pool, require_roles
from tousu.services.gateway.auth.roles import DEPARTMENT_ROLES, Principal
from tousu.services.gateway.complaints.client import call
from tousu.services.gateway.complaints.replies import problem_for
from tousu.services.gateway.problems import DomainProblem, NotFound, Text
from tousu.services.metrics.improvements.views import Item, ItemStatus, item, list_items
from tousu.shared.calendar import TZ, WorkdayCalendar
from tousu.shared.calendar.repository import load_years
from tousu.shared.domain.improvements import EVIDENCE
from tousu.shared.events import utcnow
from tousu.shared.naming import Naming

NO_SUCH_ITEM = Text("整改事项不存在", "No such improvement item")
_IDEMPOTENCY_NAMESPACE = uuid.UUID("0b7d9a52-3c1e-4f55-8f0a-2d6c4e9b1a77")

Reader = Annotated[Principal, Depends(require_roles("handler", "dept_head", "supervisor", "admin"))]
ItemId = Annotated[uuid.UUID, Path(description="The improvement item's id (a UUID)")]


def scope(principal: Principal) -> str | None:
    """The one department ``principal`` sees, or None for every department;
    a department role without a department sees nothing ("" matches none)."""
    return (principal.department or "") if principal.role in DEPARTMENT_ROLES else None


async def calendar(pool: asyncpg.Pool) -> WorkdayCalendar:
    return WorkdayCalendar(await load_years(pool))


@dataclass(frozen=True)
class Lateness:
    """How an item stands against its due date at an instant."""

    overdue: bool
    # Working days past the due date: until now while open, until its
    # closing once closed; 0 when not late.
    working_days_late: int


def lateness(found: Item, now: datetime, days: WorkdayCalendar) -> Lateness:
    if not found.late_at(now):
        return Lateness(False, 0)
    until = found.closed_at or now
    return Lateness(True, max(days.working_days_between(found.due_at, until), 0))


async def visible_item(pool: asyncpg.Pool, principal: Principal, item_id: uuid.UUID) -> Item:
    """The item, if ``principal`` may see it; else 404 (not saying it exists)."""
    found = await item(pool, item_id)
    department = scope(principal)
    if found is None or (department is not None and found.department != department):
        raise NotFound(NO_SUCH_ITEM, code="improvement_not_found")
    return found


async def send_close(
    request: Request,
    principal: Principal,
    item_id: uuid.UUID,
    evidence: str,
    command_id: uuid.UUID | None,
) -> dict[str, Any]:
    """``<root>.cmd.metrics.improvement-close`` for ``principal``: the result, or
    the refusal as a problem (422 naming ``body.evidence``, 404, 403, 409)."""
    naming: Naming = request.app.state.naming
    command: dict[str, Any] = {
        "actor": principal.actor().model_dump(mode="json"),
        "occurred_at": utcnow().isoformat(),
        "evidence": evidence,
    }
    if command_id is not None:
        command["command_id"] = str(command_id)
    ok, answer = await call(
        request.app.state.connections.nats,
        naming.command("metrics", "improvement-close"),
        {"item_id": str(item_id), "command": command},
    )
    if ok:
        return dict(answer)
    if answer.get("code") == "not_found":
        raise NotFound(NO_SUCH_ITEM, code="improvement_not_found")
    problem: DomainProblem = problem_for(answer, "close")
    raise problem


class ItemOut(BaseModel):
    item_id: uuid.UUID
    complaint_id: uuid.UUID
    tracking_no: str | None
    round: int
    index: int = Field(description="Its place among the round's improvements, from 1")
    department: str
    owner: str | None = Field(description="The handler who resolved the case")
    text: str = Field(description="The improvement (改进措施) as the feedback gave it")
    opened_at: datetime = Field(description="When the result feedback was sent")
    due_at: datetime
    working_days: int
    status: Literal["open", "closed"]
    overdue: bool = Field(description="Open past its due date, or closed after it")
    working_days_late: int
    closed_at: datetime | None
    evidence: str | None
    closed_by: str | None

    @classmethod
    def of(cls, found: Item, late: Lateness) -> ItemOut:
        return cls(
            item_id=found.item_id,
            complaint_id=found.complaint_id,
            tracking_no=found.tracking_no,
            round=found.round,
            index=found.index,
            department=found.department,
            owner=found.owner,
            text=found.text,
            opened_at=found.opened_at.astimezone(TZ),
            due_at=found.due_at.astimezone(TZ),
            working_days=found.working_days,
            status=found.status,
            overdue=late.overdue,
            working_days_late=late.working_days_late,
            closed_at=found.closed_at.astimezone(TZ) if found.closed_at else None,
            evidence=found.evidence,
            closed_by=found.closed_by,
        )


class ItemList(BaseModel):
    as_of: datetime
    total: int
    items: list[ItemOut]


class CloseBody(BaseModel):
    evidence: str = Field(
        min_length=1, max_length=EVIDENCE, description="What was done, and where it shows"
    )


class Closed(BaseModel):
    item_id: uuid.UUID
    complaint_id: uuid.UUID
    department: str
    version: int
    repeated: bool = Field(description="Closed before with the same Idempotency-Key")


def router() -> APIRouter:
    api = APIRouter()

    @api.get("/improvements", response_model=ItemList, operation_id="list_improvements")
    async def list_improvement_items(
        request: Request,
        principal: Reader,
        department: Annotated[str | None, Query(max_length=64)] = None,
        status: ItemStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> ItemList:
        """Improvement items, soonest due first; ``overdue``: open past the due
        date, or closed after it."""
        pool = get_pool(request)
        now = utcnow()
        own = scope(principal)
        found = await list_items(
            pool,
            now=now,
            department=own if own is not None else department,
            status=status,
            limit=limit,
        )
        days = await calendar(pool)
        items = [ItemOut.of(i, lateness(i, now, days)) for i in found]
        return ItemList(as_of=now.astimezone(TZ), total=len(items), items=items)

    @api.post(
        "/improvements/{item_id}/close", response_model=Closed, operation_id="close_improvement"
    )
    async def close_improvement_item(
        request: Request,
        principal: Reader,
        item_id: ItemId,
        body: CloseBody,
        idempotency_key: Annotated[
            str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
        ] = None,
    ) -> Closed:
        """The owning department closes the item with its evidence."""
        await visible_item(get_pool(request), principal, item_id)
        command_id = (
            uuid.uuid5(_IDEMPOTENCY_NAMESPACE, f"{principal.username}:{item_id}:{idempotency_key}")
            if idempotency_key
            else None
        )
        result = await send_close(request, principal, item_id, body.evidence, command_id)
        return Closed.model_validate(result)

    return api

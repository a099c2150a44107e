"""Closed cases of a past month, written onto a real store, for the quality
inspection's tests: each recorded as it happened, except one registered two
days late (a late entry, 补录) and one reopened and closed again."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tests.domain_kit import CALENDAR, OPERATOR, SUPERVISOR, ReplayExecutor
from tests.lifecycle import Step, register
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.calendar import TZ
from tousu.shared.domain import commands as c
from tousu.shared.domain.context import DecisionContext
from tousu.shared.events import Actor
from tousu.shared.events.types import PlanMeasure
from tousu.shared.store import EventStore

# Monday 2026-11-02, 09:00 Shanghai: the month drawn is 2026-11.
MONTH = "2026-11"
START = datetime(2026, 11, 2, 9, tzinfo=TZ)


def handler_of(department: str) -> Actor:
    return Actor(id=f"h-{department}", role="handler", department=department)


def _round(at: datetime, handler: Actor) -> list[Step]:
    """A round's handling, result, feedback and a satisfied follow-up (closed)."""
    h = timedelta(hours=1)
    measure = PlanMeasure(measure="补发停水公告并致歉", owner=handler.id)
    return [
        (
            at,
            c.RecordInvestigation,
            handler,
            {"findings": "管网维修未提前公告", "methods": ["现场勘查"]},
        ),
        (at + h, c.ProposePlan, handler, {"measures": [measure], "summary": "公告并致歉"}),
        (at + 2 * h, c.RecordConsultation, handler, {"agrees": True, "opinion": "同意"}),
        (
            at + 3 * h,
            c.ResolveComplaint,
            handler,
            {"result": "已恢复供水并致歉", "basis": "《城市供水条例》", "improvements": "提前公告"},
        ),
        (at + 4 * h, c.SendFeedback, handler, {}),
        (at + 5 * h, c.RecordFollowUp, OPERATOR, {"satisfaction": "satisfied"}),
    ]


def _steps(at: datetime, department: str, reopened: bool) -> list[Step]:
    h = timedelta(hours=1)
    handler = handler_of(department)
    steps: list[Step] = [
        (
            at + h,
            c.AcceptComplaint,
            OPERATOR,
            {"category": "service_quality", "subcategory": "efficiency"},
        ),
        (at + 2 * h, c.RouteComplaint, OPERATOR, {"department": department}),
        (at + 3 * h, c.ClaimCase, handler, {"handler": handler.id}),
        *_round(at + 4 * h, handler),
    ]
    if reopened:
        steps.append((at + 26 * h, c.ReopenComplaint, SUPERVISOR, {"reason": "监督举报：仍未解决"}))
        steps.extend(_round(at + 27 * h, handler))
    return steps


def _typed_in(now: datetime) -> Callable[[], DecisionContext]:
    return lambda: DecisionContext(calendar=CALENDAR, now=now)


@dataclass(frozen=True)
class Closed:
    complaint_id: uuid.UUID
    department: str
    tracking_no: str
    reopened: bool = False
    late: bool = False


async def closed_cases(store: EventStore) -> list[Closed]:
    """Four water cases (one reopened, one registered late) and two of roads,
    all closed in MONTH."""
    replay = ReplayExecutor(store)
    plan = [
        ("water", False, False),
        ("water", True, False),
        ("water", False, True),
        ("water", False, False),
        ("roads", False, False),
        ("roads", False, False),
    ]
    out = []
    for n, (department, reopened, late) in enumerate(plan, start=1):
        at = START + timedelta(days=2 * n)
        steps = _steps(at, department, reopened)
        if late:
            # Registered two days after the call came in: a late entry.
            late_executor = CommandExecutor(store, _typed_in(at + timedelta(days=2)))
            cid = await register(late_executor, at - timedelta(days=2), 900 + n)
            for when, command, actor, fields in steps:
                await replay.execute(cid, command(actor=actor, occurred_at=when, **fields))
        else:
            cid = await register(replay, at, 900 + n, *steps)
        out.append(Closed(cid, department, f"TS-2026-{900 + n:06d}", reopened, late))
    return out

"""A complaint resolved with improvements (改进措施), its history written as
it happened at chosen instants, for the improvement-item tests."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from tests.domain_kit import ReplayExecutor
from tousu.shared.application.context_source import ContextSource
from tousu.shared.calendar import TZ
from tousu.shared.domain import commands as c
from tousu.shared.events import Actor, utcnow
from tousu.shared.events.types import Channel, Complainant
from tousu.shared.settings import Settings
from tousu.shared.store import EventStore

OPERATOR = Actor(id="op-li", role="operator")
HANDLER = Actor(id="h-zhao", role="handler", department="water")
IMPROVEMENTS = "1. 加强抢修人员培训\n2. 停水前48小时在小区公告；3. 建立停水短信通知"


def day_at(days_ago: int, hour: int) -> datetime:
    day = (utcnow() - timedelta(days=days_ago)).astimezone(TZ).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


async def resolved_case(
    store: EventStore,
    settings: Settings,
    received: datetime,
    resolved: datetime,
    *,
    improvements: str | None = IMPROVEMENTS,
    fed_back: datetime | None = None,
) -> tuple[uuid.UUID, str]:
    """(complaint id, tracking no.): a phone complaint for ``water``, resolved
    by h-zhao at ``resolved`` with ``improvements``, and fed back at
    ``fed_back`` if given; each step recorded as it happened."""
    cid = uuid.uuid4()
    tracking_no = f"TS-IMP-{cid.hex[:8]}"
    executor = ReplayExecutor(store, ContextSource.for_settings(settings))
    steps: list[c.Command] = [
        c.SubmitComplaint(
            actor=OPERATOR,
            occurred_at=received,
            tracking_no=tracking_no,
            channel=Channel.PHONE,
            complainant=Complainant(name="张三", phone="13800000000"),
            subject="停水未通知",
            description="小区连续两天停水，供水公司未提前公告。",
        ),
        c.AcceptComplaint(
            actor=OPERATOR, occurred_at=received + timedelta(hours=1), category="service_quality"
        ),
        c.RouteComplaint(
            actor=OPERATOR, occurred_at=received + timedelta(hours=2), department="water"
        ),
        c.ClaimCase(actor=HANDLER, occurred_at=received + timedelta(hours=3)),
        c.RecordInvestigation(actor=HANDLER, occurred_at=resolved, findings="管道破裂"),
        c.ProposePlan(
            actor=HANDLER,
            occurred_at=resolved,
            measures=[c.PlanMeasureFacts(measure="抢修管道", owner="h-zhao")],
        ),
        c.RecordConsultation(actor=HANDLER, occurred_at=resolved, agrees=True),
        c.ResolveComplaint(
            actor=HANDLER,
            occurred_at=resolved,
            result="已恢复供水",
            basis="《城市供水条例》",
            improvements=improvements,
        ),
    ]
    if fed_back is not None:
        steps.append(c.SendFeedback(actor=HANDLER, occurred_at=fed_back))
    for command in steps:
        await executor.execute(cid, command)
    return cid, tracking_no

"""Fixtures for the metrics tests: three September complaints, projected."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from tests.domain_kit import HANDLER, OPERATOR, OTHER_HANDLER, ReplayExecutor
from tests.helpers import project_everything
from tests.lifecycle import register
from tousu.shared.calendar import TZ
from tousu.shared.domain import commands as c
from tousu.shared.events.types import PlanMeasure
from tousu.shared.store.postgres import PostgresEventStore


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=TZ)


@pytest.fixture
async def cases(store: PostgresEventStore) -> dict[str, uuid.UUID]:
    """Three September complaints, projected.

    water: received Mon 09-14, accepted 09-15, fed back 10-09 (feedback due
    end of Mon 10-12: in time). transport: accepted 09-15, routed, claimed,
    never answered (overdue since 10-12). A third never decided (acceptance
    due end of Wed 09-16).
    """
    executor = ReplayExecutor(store)
    accept = (c.AcceptComplaint, OPERATOR, {"category": "service_quality"})
    answered = await register(
        executor,
        at(9, 14),
        1,
        (at(9, 15), *accept),
        (at(9, 15, 10), c.RouteComplaint, OPERATOR, {"department": "water"}),
        (at(9, 15, 11), c.ClaimCase, HANDLER, {}),
        # The policy's steps before the result, at the instant of it.
        (at(10, 9), c.RecordInvestigation, HANDLER, {"findings": "属实"}),
        (
            at(10, 9),
            c.ProposePlan,
            HANDLER,
            {"measures": [PlanMeasure(measure="整改", owner=HANDLER.id)]},
        ),
        (at(10, 9), c.RecordConsultation, HANDLER, {"agrees": True}),
        (at(10, 9), c.ResolveComplaint, HANDLER, {"result": "已整改", "basis": "规定"}),
        (at(10, 9, 10), c.SendFeedback, HANDLER, {}),
    )
    late = await register(
        executor,
        at(9, 14, 10),
        2,
        (at(9, 15), *accept),
        (at(9, 15, 10), c.RouteComplaint, OPERATOR, {"department": "transport"}),
        (at(9, 15, 11), c.ClaimCase, OTHER_HANDLER, {}),
    )
    undecided = await register(executor, at(9, 14, 11), 3)
    await project_everything(store)
    return {"answered": answered, "late": late, "undecided": undecided}

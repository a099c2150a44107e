"""A scripted history for the recurring-problems tests (热点诉求): eight flat
weeks of street-light complaints at one place and bus complaints elsewhere,
then the week holding ``now`` with as many street-light complaints as asked."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from tests.kpi_scenario import decision_context
from tousu.services.metrics.hotspots.surge import HotspotRule, window_of
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.domain import commands as c
from tousu.shared.events import Actor
from tousu.shared.events.types import Channel, Complainant
from tousu.shared.store.postgres import PostgresEventStore

OPERATOR = Actor(id="op-li", role="operator")
HISTORY_WEEKS = 8
RULE = HotspotRule(threshold=2.0, min_count=5, baseline_periods=4)
PLACE = "幸福路32号"


async def submit(store: PostgresEventStore, when: datetime, n: int, **facts: str) -> uuid.UUID:
    complaint_id = uuid.uuid4()
    executor = CommandExecutor(store, lambda: replace(decision_context(), now=when))
    await executor.execute(
        complaint_id,
        c.SubmitComplaint(
            actor=OPERATOR,
            occurred_at=when,
            channel=Channel.PHONE,
            tracking_no=f"HS{n:06d}",
            complainant=Complainant(
                name="市民", phone="13800000000", preferred_channel=Channel.PHONE
            ),
            **facts,
        ),
    )
    return complaint_id


async def seed(store: PostgresEventStore, now: datetime, this_week: int) -> list[uuid.UUID]:
    """Eight weeks of 3 street-light complaints at PLACE and 2 about buses
    elsewhere each week (Mondays and Tuesdays); in the week of ``now``,
    ``this_week`` at PLACE between its Monday and ``now``, some written with
    full-width digits (the same place), and 2 about buses. The ids of this week's at PLACE."""
    week = window_of("week", now)
    n = 0
    ours = []
    for weeks_back in range(HISTORY_WEEKS, 0, -1):
        monday = week.starts_at - timedelta(weeks=weeks_back)
        for i in range(3):
            n += 1
            await _light(store, monday + timedelta(hours=9, minutes=7 * i), n, i)
        for i in range(2):
            n += 1
            await submit(
                store,
                monday + timedelta(days=1, hours=10, minutes=i),
                n,
                subject="公交车司机态度差",
                description="公交车司机服务态度恶劣。",
                location=f"人民广场{i}号站",
            )
    elapsed = now - week.starts_at
    for i in range(this_week):
        n += 1
        when = week.starts_at + elapsed * (i + 1) / (this_week + 1)
        ours.append(await _light(store, when, n, i))
    for i in range(2):
        n += 1
        await submit(
            store,
            week.starts_at + elapsed * (i + 1) / 3,
            n,
            subject="公交车晚点",
            description="公交车经常晚点。",
            location=f"人民广场{i}号站",
        )
    return ours


async def _light(store: PostgresEventStore, when: datetime, n: int, i: int) -> uuid.UUID:
    place = "幸福路３２号 " if i % 3 == 2 else PLACE
    return await submit(
        store,
        when,
        n,
        subject="路灯不亮",
        description=f"{place}门前路灯不亮，晚上很黑，请尽快修好。",
        location=place,
    )

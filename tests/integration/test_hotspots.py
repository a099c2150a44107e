"""Recurring problems (热点诉求) end to end over the store: complaints received
in past weeks go through the complaint_terms projection; one place's
complaints tripling in a week over a flat history raises one alert however
often (and by however many watchers) it is looked for, and tops the list; a
flat history raises nothing."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from tests.helpers import project_everything
from tests.kpi_scenario import decision_context
from tousu.services.metrics.hotspots.alerts import alert_stream
from tousu.services.metrics.hotspots.surge import HotspotRule, window_of
from tousu.services.metrics.hotspots.views import hotspots, open_alerts
from tousu.services.metrics.hotspots.watcher import HotspotWatcher
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.calendar import TZ
from tousu.shared.domain import commands as c
from tousu.shared.events import Actor
from tousu.shared.events.types import Channel, Complainant
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

OPERATOR = Actor(id="op-li", role="operator")
# A Wednesday; the week runs from Monday 11-23.
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=TZ)
WEEK = window_of("week", NOW)
HISTORY_WEEKS = 8
RULE = HotspotRule(threshold=2.0, min_count=5, baseline_periods=4)
PLACE = "幸福路32号"


async def _submit(store: PostgresEventStore, when: datetime, n: int, **facts: str) -> uuid.UUID:
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


async def _history(store: PostgresEventStore, this_week: int) -> list[uuid.UUID]:
    """Eight weeks of 3 street-light complaints at PLACE and 2 about buses
    elsewhere each week; this week ``this_week`` at PLACE, some written with
    full-width digits (the same place). The ids of this week's at PLACE."""
    n = 0
    ours = []
    for weeks_back in range(HISTORY_WEEKS, -1, -1):
        monday = WEEK.starts_at - timedelta(weeks=weeks_back)
        lights = this_week if weeks_back == 0 else 3
        for i in range(lights):
            n += 1
            place = "幸福路３２号 " if i % 3 == 2 else PLACE
            complaint_id = await _submit(
                store,
                monday + timedelta(hours=9, minutes=7 * i),
                n,
                subject="路灯不亮",
                description=f"{place}门前路灯不亮，晚上很黑，请尽快修好。",
                location=place,
            )
            if weeks_back == 0:
                ours.append(complaint_id)
        for i in range(2):
            n += 1
            await _submit(
                store,
                monday + timedelta(days=1, hours=10, minutes=i),
                n,
                subject="公交车司机态度差",
                description="公交车司机服务态度恶劣。",
                location=f"人民广场{i}号站",
            )
    return ours


async def test_a_place_tripling_in_a_week_raises_one_alert_and_tops_the_list(
    settings: Settings, store: PostgresEventStore
) -> None:
    ours = await _history(store, this_week=9)
    await project_everything(store)
    watchers = [HotspotWatcher(store, RULE, clock=lambda: NOW) for _ in range(2)]
    first = await watchers[0].sweep()
    assert first >= 1
    # Swept again, and by a second replica: nothing more.
    assert await watchers[0].sweep() == 0 and await watchers[1].sweep() == 0
    stream = alert_stream("location", PLACE, "week", WEEK.start)
    (alert,) = await store.read_stream(stream)
    assert alert.type == "HotspotAlertRaised" and alert.department == "supervision"
    assert alert.data["count"] == 9 and alert.data["baseline"] == 3.0
    assert sorted(alert.data["complaint_ids"]) == sorted(str(i) for i in ours)

    found = await hotspots(store.pool, period="week", at=NOW, rule=RULE, limit=20)
    top = found.of("location")[0]
    assert (top.key, top.count, top.baseline, top.surge, top.alerted) == (
        PLACE,
        9,
        3.0,
        True,
        True,
    )
    assert top.change == "up" and top.ratio == 3.0
    assert len(top.cases) == 5 and set(top.complaint_ids) <= set(ours)
    assert all(case.tracking_no for case in top.cases)
    # The buses stayed flat: listed, no surge, no alert.
    buses = [h for h in found.of("term") if h.key == "公交车"]
    assert buses and not buses[0].surge and not buses[0].alerted
    assert any(a.stream_id == stream for a in await open_alerts(store.pool, NOW))


async def test_a_flat_history_raises_nothing(settings: Settings, store: PostgresEventStore) -> None:
    await _history(store, this_week=3)
    await project_everything(store)
    assert await HotspotWatcher(store, RULE, clock=lambda: NOW).sweep() == 0
    found = await hotspots(store.pool, period="week", at=NOW, rule=RULE)
    assert found.of("location")[0].count == 3
    assert not any(h.surge or h.alerted for h in found.items)
    assert await open_alerts(store.pool, NOW) == []

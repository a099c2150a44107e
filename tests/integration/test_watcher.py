"""The deadline watcher (督办) against real PostgreSQL: every warning and
overdue notice exactly once, with two watchers sweeping at once and one of
them replaced half-way; and provisional deadlines made firm by a new year's
official calendar."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

import pytest

from tests.domain_kit import HANDLER, OPERATOR, ReplayExecutor, as_it_happens
from tests.helpers import eventually, projections_caught_up
from tests.lifecycle import register
from tousu.services.metrics.deadlines import overdue
from tousu.services.metrics.kpis import PgKpiSource
from tousu.services.metrics.projections import PROJECTIONS
from tousu.services.metrics.projections.live import ProjectionRunner
from tousu.services.metrics.watcher import DeadlineWatcher
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.calendar import TZ, WorkdayCalendar, end_of_day
from tousu.shared.calendar.workdays import YearData
from tousu.shared.domain import commands as c
from tousu.shared.events.types import DeadlineKind
from tousu.shared.store.postgres import PostgresEventStore

CALENDAR = WorkdayCalendar()


def at(month: int, day: int, hour: int = 9, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=TZ)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Calendars:
    """The calendar the services currently use; an import replaces it."""

    def __init__(self) -> None:
        self.current = CALENDAR

    def __call__(self) -> WorkdayCalendar:
        return self.current


@pytest.fixture
def calendars() -> Calendars:
    return Calendars()


@pytest.fixture
def executor(store: PostgresEventStore, calendars: Calendars) -> CommandExecutor:
    return ReplayExecutor(store, as_it_happens(calendars))


@pytest.fixture
async def projected(
    store: PostgresEventStore, calendars: Calendars
) -> AsyncIterator[ProjectionRunner]:
    runner = ProjectionRunner(store, PROJECTIONS, calendars, idle_timeout=0.2)
    task = asyncio.create_task(runner.run())
    yield runner
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def supervision_events(store: PostgresEventStore) -> list[tuple[str, str, str]]:
    rows = await store.pool.fetch(
        "SELECT stream_id, data->>'kind' AS level, data->>'deadline' AS deadline "
        "FROM events WHERE type = 'SupervisionRaised' ORDER BY global_position"
    )
    return [(r["stream_id"], r["level"], r["deadline"]) for r in rows]


async def test_each_notice_exactly_once_with_two_watchers_and_a_restart(
    store: PostgresEventStore, executor: CommandExecutor, projected: ProjectionRunner
) -> None:
    # Mon 2026-09-14: acceptance due end of Wed 09-16 (warning from end of Tue).
    never_decided = await register(executor, at(9, 14), 1)
    # Accepted Tue 09-15, routed, never claimed: claim due end of Wed 09-16;
    # feedback due 15 wd after 09-15 = end of Mon 10-12 (Sun 09-20 and Sat
    # 10-10 are make-up workdays, 09-25..27 and 10-01..07 holidays).
    accepted = (at(9, 15), c.AcceptComplaint, OPERATOR, {"category": "service_quality"})
    routed = (at(9, 15, 10), c.RouteComplaint, OPERATOR, {"department": "water"})
    unclaimed = await register(executor, at(9, 14, 10), 2, accepted, routed)
    # Claimed in time: only its feedback deadline is ever supervised.
    claimed_in_time = (at(9, 15, 11), c.ClaimCase, HANDLER, {})
    claimed = await register(executor, at(9, 14, 11), 3, accepted, routed, claimed_in_time)
    await eventually(lambda: projections_caught_up(store), "the case view")

    clock = Clock(at(9, 14, 12))
    replica_a = DeadlineWatcher(store.pool, executor, lambda: CALENDAR, clock=clock)
    replica_b = DeadlineWatcher(store.pool, executor, lambda: CALENDAR, clock=clock)
    raised = 0
    step = 0
    while clock.now < at(10, 20):
        if step == 40:  # replica B restarts: a new process knows nothing
            replica_b = DeadlineWatcher(store.pool, executor, lambda: CALENDAR, clock=clock)
        counts = await asyncio.gather(replica_a.sweep(), replica_b.sweep(), replica_a.sweep())
        raised += sum(counts)
        await eventually(lambda: projections_caught_up(store), "the case view")
        clock.now += timedelta(hours=7)
        step += 1

    events = Counter(await supervision_events(store))
    s = lambda cid: f"complaint-{cid}"  # noqa: E731
    assert events == {
        (s(never_decided), "warning", "acceptance"): 1,
        (s(never_decided), "overdue", "acceptance"): 1,
        (s(unclaimed), "warning", "claim"): 1,
        (s(unclaimed), "overdue", "claim"): 1,
        (s(unclaimed), "warning", "feedback"): 1,
        (s(unclaimed), "overdue", "feedback"): 1,
        (s(claimed), "warning", "feedback"): 1,
        (s(claimed), "overdue", "feedback"): 1,
    }
    # Replicas racing on one notice may each count it; the store holds it once.
    assert raised >= 8

    # The overdue list as of 10-20 12:00: how late, in working days.
    late = await overdue(store.pool, at(10, 20, 12), CALENDAR)
    by_case = {(o.deadline.complaint_id, o.deadline.kind): o.working_days_late for o in late}
    assert by_case == {
        # due end of 09-16: 09-17,18,20,21,22,23,24,28,29,30,10-08,09,10,12..16,19,20
        (never_decided, DeadlineKind.ACCEPTANCE): 20,
        (unclaimed, DeadlineKind.CLAIM): 20,
        # due end of 10-12: 10-13..16, 10-19, 10-20
        (unclaimed, DeadlineKind.FEEDBACK): 6,
        (claimed, DeadlineKind.FEEDBACK): 6,
    }
    assert all(o.deadline.warned and o.deadline.overdue_raised for o in late)


async def test_a_moved_deadline_is_supervised_afresh_and_a_met_one_not_at_all(
    store: PostgresEventStore, executor: CommandExecutor, projected: ProjectionRunner
) -> None:
    cid = await register(executor, at(9, 14), 1)
    await eventually(lambda: projections_caught_up(store), "the case view")
    clock = Clock(at(9, 16, 12))  # within the acceptance deadline's last day
    watcher = DeadlineWatcher(store.pool, executor, lambda: CALENDAR, clock=clock)
    assert await watcher.sweep() == 1  # the warning
    await executor.execute(
        cid,
        c.AcceptComplaint(actor=OPERATOR, occurred_at=at(9, 16, 13), category="service_quality"),
    )
    await eventually(lambda: projections_caught_up(store), "the case view")
    clock.now = at(9, 18)
    assert await watcher.sweep() == 0  # decided in time: no overdue notice
    # A notice prepared before the decision (a stale case view) records nothing.
    stale = c.RaiseSupervision(
        actor=OPERATOR.model_copy(update={"role": "system"}),
        occurred_at=at(9, 18),
        kind="overdue",
        deadline=DeadlineKind.ACCEPTANCE,
        due_at=at(9, 16, 0) + timedelta(days=1),
    )
    assert (await executor.execute(cid, stale)).events == []
    assert Counter(await supervision_events(store)) == {
        (f"complaint-{cid}", "warning", "acceptance"): 1
    }


async def test_the_watcher_sleeps_until_the_next_notice_falls_due_not_a_polling_tick(
    store: PostgresEventStore, executor: CommandExecutor, projected: ProjectionRunner
) -> None:
    # Mon 2026-09-14: acceptance due at the end of Wed 09-16, its warning from
    # the end of Tue 09-15. An interval far longer than any wait here: each
    # sweep is timed by the next notice alone.
    await register(executor, at(9, 14), 1)
    await eventually(lambda: projections_caught_up(store), "the case view")
    warning = end_of_day(date(2026, 9, 15))
    due = end_of_day(date(2026, 9, 16))
    clock = Clock(at(9, 14, 12))
    day = 24 * 3600.0
    watcher = DeadlineWatcher(store.pool, executor, lambda: CALENDAR, interval=7 * day, clock=clock)
    assert await watcher.sweep() == 0
    assert watcher.pause() == pytest.approx((warning - clock.now).total_seconds() + 0.001)

    clock.now = warning + timedelta(milliseconds=1)  # when the watcher wakes
    assert await watcher.sweep() == 1  # the warning, on time
    await eventually(lambda: projections_caught_up(store), "the case view")
    assert watcher.pause() == pytest.approx((due - clock.now).total_seconds() + 0.001)

    clock.now = due + timedelta(milliseconds=1)
    assert await watcher.sweep() == 1  # the overdue notice, on time
    await eventually(lambda: projections_caught_up(store), "the case view")
    assert await watcher.sweep() == 0
    # Nothing more to raise: back to the interval, for deadlines set meanwhile.
    assert watcher.pause() == 7 * day


def official_2027() -> YearData:
    """An invented official 2027: Spring Festival 02-06..02-13 off, Sun 02-14 worked."""
    holidays = {date(2027, 1, 1): "元旦"}
    holidays |= {date(2027, 2, 6) + timedelta(days=i): "春节" for i in range(8)}
    return YearData(
        year=2027,
        holidays=holidays,
        makeup_workdays={date(2027, 2, 14): "春节调休"},
        source="test",
    )


async def test_importing_2027_makes_provisional_deadlines_firm_and_moves_kpis(
    store: PostgresEventStore,
    executor: CommandExecutor,
    projected: ProjectionRunner,
    calendars: Calendars,
) -> None:
    # Accepted Thu 2027-01-28. Feedback due 15 wd later: provisionally (除夕
    # 02-05 and 初三 02-08 off, no make-up day) the end of Mon 02-22; by the
    # official schedule (02-06..13 off, Sun 02-14 worked) the end of Wed 02-24.
    def on(month: int, day: int, hour: int = 9) -> datetime:
        return at(month, day, hour, year=2027)

    await register(
        executor,
        on(1, 27),
        1,
        (on(1, 28), c.AcceptComplaint, OPERATOR, {"category": "service_quality"}),
        (on(1, 28, 10), c.RouteComplaint, OPERATOR, {"department": "water"}),
        (on(1, 28, 11), c.ClaimCase, HANDLER, {}),
        # The policy's steps before the result, at the instant of it.
        (on(2, 23), c.RecordInvestigation, HANDLER, {"findings": "属实"}),
        (on(2, 23), c.ProposePlan, HANDLER, {"measures": [{"measure": "修复", "owner": "h"}]}),
        (on(2, 23), c.RecordConsultation, HANDLER, {"agrees": True}),
        (on(2, 23), c.ResolveComplaint, HANDLER, {"result": "已修复", "basis": "规定"}),
        (on(2, 23, 10), c.SendFeedback, HANDLER, {}),
    )
    await eventually(lambda: projections_caught_up(store), "the case view")
    row = await store.pool.fetchrow("SELECT provisional, feedback_due_at FROM case_view")
    assert row["provisional"] is True
    assert row["feedback_due_at"].astimezone(TZ).date() == date(2027, 2, 22)
    source = PgKpiSource(store.pool)
    span = {
        "start": at(1, 1, year=2027),
        "end": at(2, 1, year=2027),
        "as_of": at(3, 31, year=2027),
        "group_by": None,
    }
    before = (await source.kpis(**span))[0]
    assert (before.feedback_timeliness.numerator, before.feedback_timeliness.denominator) == (0, 1)

    calendars.current = CALENDAR.with_imported([official_2027()])
    clock = Clock(at(3, 1, year=2027))
    await DeadlineWatcher(store.pool, executor, calendars, clock=clock).sweep()
    await eventually(lambda: projections_caught_up(store), "the case view")
    row = await store.pool.fetchrow(
        "SELECT provisional, feedback_due_at, promised_feedback_at FROM case_view"
    )
    assert row["provisional"] is False
    assert row["feedback_due_at"].astimezone(TZ).date() == date(2027, 2, 24)
    # The acceptance notice's promise stays on record.
    assert row["promised_feedback_at"].astimezone(TZ).date() == date(2027, 2, 22)
    after = (await source.kpis(**span))[0]
    assert (after.feedback_timeliness.numerator, after.feedback_timeliness.denominator) == (1, 1)

    async def recalculated() -> int:
        return int(
            await store.pool.fetchval(
                "SELECT count(*) FROM events WHERE type = 'DeadlineRecalculated'"
            )
        )

    count = await recalculated()
    assert count >= 1
    # Another replica, or a restart, changes nothing more.
    await DeadlineWatcher(store.pool, executor, calendars, clock=clock).sweep()
    assert await recalculated() == count

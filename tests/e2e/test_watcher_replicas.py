"""Two metrics service processes watch the deadlines; one is killed and
restarted in between. Every warning and overdue notice is recorded once."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from datetime import time as clock_time
from pathlib import Path

from nats.aio.client import Client as NatsClient

from tests.domain_kit import ReplayExecutor
from tests.helpers import eventually
from tests.lifecycle import register
from tests.processes import spawn, stop, wait_until_answering
from tousu.shared.calendar import TZ, WorkdayCalendar
from tousu.shared.calendar.workdays import end_of_day
from tousu.shared.domain.complaint import DecisionContext
from tousu.shared.events import utcnow
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

CALENDAR = WorkdayCalendar()


def received_for_a_warning_now(now: datetime) -> datetime:
    """A receipt whose acceptance deadline (2 working days) ends at the end of
    the first working day from today on: its last working day has begun."""
    day = now.astimezone(TZ).date()
    while not CALENDAR.is_workday(day) or end_of_day(day) <= now:
        day = day.fromordinal(day.toordinal() + 1)
    before = CALENDAR.previous_workday(CALENDAR.previous_workday(day))
    return datetime.combine(before, clock_time(10), TZ)


def received_for_overdue(now: datetime) -> datetime:
    day = now.astimezone(TZ).date()
    for _ in range(5):
        day = CALENDAR.previous_workday(day)
    return datetime.combine(day, clock_time(10), TZ)


async def submit(store: PostgresEventStore, received_at: datetime, n: int) -> str:
    # A history set in the past, each step recorded as it happened.
    executor = ReplayExecutor(store, lambda: DecisionContext(calendar=CALENDAR, now=utcnow()))
    return f"complaint-{await register(executor, received_at, n)}"


async def notices(store: PostgresEventStore) -> Counter[tuple[str, str, str]]:
    rows = await store.pool.fetch(
        "SELECT stream_id, data->>'kind' AS level, data->>'deadline' AS deadline "
        "FROM events WHERE type = 'SupervisionRaised'"
    )
    return Counter((r["stream_id"], r["level"], r["deadline"]) for r in rows)


async def test_two_watchers_and_a_restart_raise_each_notice_once(
    settings: Settings,
    child_env: dict[str, str],
    nats_client: NatsClient,
    store: PostgresEventStore,
    tmp_path: Path,
) -> None:
    env = child_env | {"TOUSU_SUPERVISION_INTERVAL": "0.2"}
    now = utcnow()
    warned = await submit(store, received_for_a_warning_now(now), 1)
    late = await submit(store, received_for_overdue(now), 2)

    replicas = [spawn("metrics", env, tmp_path), spawn("metrics", env, tmp_path)]
    try:
        deadline = time.monotonic() + 60
        await wait_until_answering(nats_client, settings.naming, "metrics", deadline)
        expected = Counter(
            {(warned, "warning", "acceptance"): 1, (late, "overdue", "acceptance"): 1}
        )

        async def recorded() -> bool:
            return await notices(store) == expected

        await eventually(recorded, "the first notices", timeout=30)

        # One replica dies without a goodbye and comes back; a new case arrives.
        replicas[0].kill()
        replicas[0].wait()
        replicas[0] = spawn("metrics", env, tmp_path)
        later = await submit(store, received_for_overdue(now), 3)
        expected[(later, "overdue", "acceptance")] = 1
        await eventually(recorded, "the late case's notice", timeout=30)

        # A further case seen by both: by then every replica has swept the
        # earlier ones again, and nothing was recorded twice.
        last = await submit(store, received_for_overdue(now), 4)
        expected[(last, "overdue", "acceptance")] = 1
        await eventually(recorded, "the last case's notice", timeout=30)
        assert await notices(store) == expected
    finally:
        for proc in replicas:
            stop(proc)

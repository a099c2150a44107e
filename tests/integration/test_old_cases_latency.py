"""An old case must not slow the overdue list, the dashboard, or anything else.

The gateway builds a calendar per request; counting the working days a case is
late once rebuilt every year since its due date, lunar arithmetic included, on
the event loop: a case "received" in year 108 made the overdue list and the
dashboard take ~15 s and held /healthz meanwhile. Figures are printed (run
with ``-s``) for the record; the assertions compare with timings taken in the
same test, so a slow machine slows both sides.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.domain_kit import OPERATOR
from tests.helpers import eventually, project_everything
from tests.lifecycle import Headers, staff_tokens
from tests.processes import spawn, stop
from tests.web_kit import add_user, sign_in
from tousu.embedded.ports import free_port
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.calendar import TZ, WorkdayCalendar
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import DecisionContext
from tousu.shared.events import utcnow
from tousu.shared.events.types import Channel
from tousu.shared.store.postgres import PostgresEventStore

OVERDUE = "/api/v1/supervision/overdue"
DASHBOARD = "/staff/dashboard"


@pytest.fixture
async def client(child_env: dict[str, str], tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway as its own process, so that a request it holds up is seen
    waiting from outside, as a monitoring probe would see it."""
    port = free_port()
    env = child_env | {"TOUSU_HTTP_PORT": str(port), "TOUSU_HTTP_HOST": "127.0.0.1"}
    proc = spawn("gateway", env, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:

            async def ready() -> bool:
                try:
                    return (await c.get("/readyz", timeout=1.0)).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, "the gateway to answer", timeout=60)
            yield c
    finally:
        stop(proc)


async def received(store: PostgresEventStore, at: datetime, n: int) -> uuid.UUID:
    """A phone complaint received at ``at`` and never decided (so overdue).

    Built without validation, as a case stored before instants were bounded
    was: the domain decides it with "now" just after ``at``.
    """
    cid = uuid.uuid4()
    executor = CommandExecutor(
        store,
        lambda: DecisionContext(calendar=WorkdayCalendar(), now=at + timedelta(minutes=1)),
    )
    command = c.SubmitComplaint.model_construct(
        actor=OPERATOR,
        occurred_at=at,
        channel=Channel.PHONE,
        tracking_no=f"TS-OLD-{n:06d}",
        complainant=c.ComplainantFacts(name="王五", phone="13700000000"),
        subject="噪音扰民",
        description="工地夜间施工",
        command_id=None,
        correlation_id=None,
        causation_id=None,
        expected_version=None,
        external_ref=None,
        happened_at=None,
        location=None,
        people_involved=None,
        demands=None,
        category=None,
        subcategory=None,
        service_item=None,
        language="zh-CN",
        access_code_hash=None,
    )
    await executor.execute(cid, command)
    return cid


async def timed(client: httpx.AsyncClient, url: str, headers: Headers) -> float:
    started = time.perf_counter()
    response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return time.perf_counter() - started


async def usual(client: httpx.AsyncClient, url: str, headers: Headers) -> float:
    return statistics.median([await timed(client, url, headers) for _ in range(3)])


async def healthz_while(client: httpx.AsyncClient, slow: asyncio.Task[float]) -> list[float]:
    """/healthz asked again and again for as long as ``slow`` runs."""
    latencies: list[float] = []
    while not slow.done() or not latencies:
        started = time.perf_counter()
        assert (await client.get("/healthz")).status_code == 200
        latencies.append(time.perf_counter() - started)
    return latencies


async def test_old_cases_do_not_slow_the_overdue_list_the_dashboard_or_healthz(
    client: httpx.AsyncClient, store: PostgresEventStore, database_url: str
) -> None:
    api = (await staff_tokens(database_url, [("sup-li", "supervisor", None)]))["sup-li"]
    await add_user(store.pool, "sup-wang", "supervisor")
    assert (await sign_in(client, "sup-wang")).status_code == 303
    web: Headers = {}
    health = statistics.median([await timed(client, "/healthz", {}) for _ in range(5)])

    now = utcnow().astimezone(TZ)
    await received(store, now - timedelta(days=365), 1)  # a year ago
    await project_everything(store)
    year_old = {
        url: await usual(client, url, api if url == OVERDUE else web)
        for url in (OVERDUE, DASHBOARD)
    }

    await received(store, datetime(2004, 1, 5, 9, tzinfo=TZ), 2)  # the oldest valid
    await project_everything(store)
    near_bound = {
        url: await usual(client, url, api if url == OVERDUE else web)
        for url in (OVERDUE, DASHBOARD)
    }

    # Stored before instants were bounded: the worst a database can hold.
    await received(store, datetime(108, 3, 1, 9, tzinfo=TZ), 3)
    await project_everything(store)
    ancient: dict[str, float] = {}
    during: dict[str, float] = {}
    for url in (OVERDUE, DASHBOARD):
        slow = asyncio.create_task(timed(client, url, api if url == OVERDUE else web))
        during[url] = max(await healthz_while(client, slow))
        ancient[url] = await slow

    print(
        f"\n/healthz alone {health * 1000:.1f} ms"
        + "".join(
            f"\n{url}: a year-old case {year_old[url] * 1000:.0f} ms, "
            f"with one of 2004 {near_bound[url] * 1000:.0f} ms, "
            f"with one of year 108 {ancient[url] * 1000:.0f} ms "
            f"(/healthz meanwhile at most {during[url] * 1000:.1f} ms)"
            for url in (OVERDUE, DASHBOARD)
        )
    )
    for url in (OVERDUE, DASHBOARD):
        # "Usual" is the year-old case's time; a second of slack for a busy machine.
        assert near_bound[url] < 3 * year_old[url] + 1.0, url
        assert ancient[url] < 3 * year_old[url] + 1.0, url
        # /healthz is never held by another request.
        assert during[url] < 10 * health + 0.25, url

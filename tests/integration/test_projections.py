"""The metrics projections against real PostgreSQL: live updates, and a
rebuild beside the live table that swaps in without stopping it."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import product
from typing import Any

import asyncpg
import pytest
from asyncpg.connection import LoggedQuery

from tests.domain_kit import (
    CALENDAR,
    HANDLER,
    NOW,
    OPERATOR,
    OTHER_HANDLER,
    SUPERVISOR,
    ReplayExecutor,
    as_it_happens,
)
from tests.helpers import eventually, projections_caught_up
from tousu.services.metrics.kpi import KpiRow, complaint_facts, kpis
from tousu.services.metrics.kpi.compute import GROUPINGS
from tousu.services.metrics.kpi_sql import FIGURES
from tousu.services.metrics.kpis import PgKpiSource
from tousu.services.metrics.projections import PROJECTIONS, CaseView, KpiFacts, by_name, kpi_rollup
from tousu.services.metrics.projections.base import Projection
from tousu.services.metrics.projections.live import ProjectionRunner
from tousu.services.metrics.projections.rebuild import rebuild, rebuild_all
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.calendar import TZ
from tousu.shared.domain import commands as c
from tousu.shared.events.types import Channel, Complainant
from tousu.shared.store.postgres import (
    PostgresEventStore,
    _init_connection,
    _keep_session,
    read_streams,
)

START = datetime(2026, 9, 14, 9, 0, tzinfo=TZ)
HANDLERS = {"water": HANDLER, "transport": OTHER_HANDLER}


context = as_it_happens()


async def drive(executor: CommandExecutor, rng: random.Random, n: int) -> list[uuid.UUID]:
    """``n`` complaints, each taken a random way along its lifecycle."""
    return [await one_complaint(executor, rng, i) for i in range(n)]


async def one_complaint(executor: CommandExecutor, rng: random.Random, i: int) -> uuid.UUID:
    cid = uuid.uuid4()
    t = START + timedelta(hours=rng.randrange(0, 24 * 40))
    dept = rng.choice(list(HANDLERS))
    handler = HANDLERS[dept]

    async def do(cmd: type[c.Command], actor: Any, hours: int = 5, **fields: Any) -> None:
        nonlocal t
        t += timedelta(hours=hours)
        await executor.execute(cid, cmd(actor=actor, occurred_at=t, **fields))

    channel = rng.choice([Channel.PHONE, Channel.WEB, Channel.LETTER])
    await do(
        c.SubmitComplaint,
        OPERATOR,
        hours=0,
        channel=channel,
        tracking_no=f"TS-2026-{i:06d}",
        complainant=Complainant(name="张三", phone="13800000000"),
        subject="停水",
        description="小区停水两天",
    )
    steps = rng.randrange(0, 9)
    if steps == 0:
        return cid
    if steps == 1:
        await do(c.RejectComplaint, OPERATOR, reason="不属受理范围", suggestion="法院")
        return cid
    category = rng.choice(["service_quality", "staff_conduct"])
    await do(c.AcceptComplaint, OPERATOR, hours=rng.choice([5, 80]), category=category)
    if steps == 2:
        return cid
    await do(c.RouteComplaint, OPERATOR, department=dept)
    if rng.random() < 0.3:  # a 督办 now and then, for supervision_items
        await do(c.RaiseSupervision, SUPERVISOR, hours=0, kind="manual", note="请加快办理")
    if steps == 3:
        return cid
    await do(c.ClaimCase, handler)
    await do(c.RecordInvestigation, handler, findings="现场核实")
    # The plan and the complainant's opinion, in the same hour (the figures
    # compared do not count them).
    await do(c.ProposePlan, handler, hours=0, measures=[{"measure": "整改", "owner": handler.id}])
    await do(c.RecordConsultation, handler, hours=0, agrees=True)
    if steps >= 5 and rng.random() < 0.3:
        await do(c.RequestExtension, handler, working_days=5, reason="需协调")
        await do(c.DecideExtension, SUPERVISOR, approved=rng.random() < 0.8)
    if steps == 4:
        return cid
    await do(
        c.ResolveComplaint, handler, hours=rng.choice([50, 400]), result="已处理", basis="规定"
    )
    await do(c.SendFeedback, handler)
    if steps == 5:
        return cid
    satisfaction = rng.choice(["satisfied", "basically_satisfied", "dissatisfied"])
    await do(c.RecordFollowUp, OPERATOR, satisfaction=satisfaction)
    return cid


async def table_rows(store: PostgresEventStore, projection: Projection) -> list[tuple[Any, ...]]:
    columns = ", ".join(projection.columns)
    records = await store.pool.fetch(f"SELECT {columns} FROM {projection.name} ORDER BY {columns}")
    return [tuple(r) for r in records]


async def expected_rows(store: PostgresEventStore, projection: Projection) -> list[tuple[Any, ...]]:
    """The rows straight from the events, for comparison."""
    async with store.pool.acquire() as conn:
        streams = [
            r["stream_id"] for r in await conn.fetch("SELECT DISTINCT stream_id FROM events")
        ]
        histories = await read_streams(conn, streams)
    return normalised([r for h in histories.values() for r in projection.rows(h, CALENDAR)])


async def assert_rollup_is_the_sum_of_the_facts(store: PostgresEventStore) -> None:
    """The rollup kept change by change equals one summed afresh from the rows."""
    figures = " OR ".join(f"{name} <> 0" for name in FIGURES)
    query = (
        "SELECT * FROM {} WHERE " + figures + " ORDER BY dim, month, grain, bucket, department, key"
    )
    async with store.pool.acquire() as conn, conn.transaction():
        await conn.execute(KpiFacts().create_sql("kpi_check"))
        await conn.execute("INSERT INTO kpi_check SELECT * FROM kpi_facts")
        await kpi_rollup.add_all(conn, "kpi_check")
        fresh = [tuple(r) for r in await conn.fetch(query.format("kpi_check_rollup"))]
        kept = [tuple(r) for r in await conn.fetch(query.format("kpi_facts_rollup"))]
        await conn.execute("DROP TABLE kpi_check, kpi_check_rollup")
    assert fresh, "the rollup has rows"
    assert kept == fresh


def normalised(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(rows, key=lambda row: tuple((v is None, str(v)) for v in row))


@pytest.fixture
async def own(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A rebuild's own connection, as `tousu projections rebuild` has in its own
    process: the store's small test pool stays with the writer and the runner."""
    rebuilder = await PostgresEventStore.connect(database_url, min_size=1, max_size=1)
    try:
        async with rebuilder.pool.acquire() as conn:
            yield conn
    finally:
        await rebuilder.close()


@pytest.fixture
async def runner(store: PostgresEventStore) -> AsyncIterator[ProjectionRunner]:
    live = ProjectionRunner(store, PROJECTIONS, lambda: CALENDAR, idle_timeout=0.5)
    task = asyncio.create_task(live.run())
    yield live
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_live_projection_follows_the_store(
    store: PostgresEventStore, runner: ProjectionRunner
) -> None:
    executor = ReplayExecutor(store, context)
    await drive(executor, random.Random(1), 40)
    await eventually(lambda: projections_caught_up(store), "the projections to catch up")
    for projection in PROJECTIONS:
        assert normalised(await table_rows(store, projection)) == await expected_rows(
            store, projection
        ), projection.name
    count = await store.pool.fetchval("SELECT count(*) FROM case_view")
    assert count == 40
    await assert_rollup_is_the_sum_of_the_facts(store)


async def test_rebuild_while_live_equals_the_live_table_row_for_row(
    store: PostgresEventStore, runner: ProjectionRunner, own: asyncpg.Connection
) -> None:
    executor = ReplayExecutor(store, context)
    await drive(executor, random.Random(2), 60)
    await eventually(lambda: projections_caught_up(store), "the projections to catch up")
    live = {p.name: normalised(await table_rows(store, p)) for p in PROJECTIONS}

    # Rebuild each while complaints keep arriving and the runner keeps going.
    writer = asyncio.create_task(drive(executor, random.Random(3), 30))
    seen: list[tuple[int, int]] = []
    for projection in PROJECTIONS:
        result = await rebuild(
            own, store, projection, lambda: CALENDAR, lambda d, t: seen.append((d, t))
        )
        assert result.events > 0 and result.rows > 0
    await writer
    await eventually(lambda: projections_caught_up(store), "the projections to catch up")
    assert seen and seen[-1][0] == seen[-1][1]
    for projection in PROJECTIONS:
        now = normalised(await table_rows(store, projection))
        assert now == await expected_rows(store, projection), projection.name
        # The complaints from before are there exactly as the live table had them.
        ids_before = {row[0] for row in live[projection.name]}
        assert [row for row in now if row[0] in ids_before] == live[projection.name]
    await assert_rollup_is_the_sum_of_the_facts(store)
    tables = await store.pool.fetch(
        "SELECT tablename FROM pg_tables WHERE tablename LIKE '%__rebuild%'"
    )
    assert tables == []


async def test_rebuild_of_both_in_two_processes_equals_the_live_tables(
    store: PostgresEventStore, runner: ProjectionRunner, own: asyncpg.Connection
) -> None:
    executor = ReplayExecutor(store, context)
    await drive(executor, random.Random(5), 50)
    writer = asyncio.create_task(drive(executor, random.Random(6), 20))
    seen: list[tuple[int, int]] = []
    results = await rebuild_all(
        own, store, PROJECTIONS, lambda: CALENDAR, lambda d, t: seen.append((d, t)), workers=2
    )
    await writer
    assert [r.name for r in results] == [p.name for p in PROJECTIONS]
    assert all(r.events > 0 and r.rows > 0 and r.processes == 2 for r in results)
    assert seen and seen[-1][0] == seen[-1][1]
    await eventually(lambda: projections_caught_up(store), "the projections to catch up")
    for projection in PROJECTIONS:
        rows = normalised(await table_rows(store, projection))
        assert rows == await expected_rows(store, projection), projection.name
    await assert_rollup_is_the_sum_of_the_facts(store)


async def test_rebuild_of_an_empty_store_and_unknown_name(store: PostgresEventStore) -> None:
    async with store.pool.acquire() as conn:
        result = await rebuild(conn, store, CaseView(), lambda: CALENDAR)
    assert (result.events, result.rows, result.position) == (0, 0, 0)
    with pytest.raises(KeyError, match="kpi_facts"):
        by_name("nope")
    assert isinstance(by_name("kpi_facts"), KpiFacts)


def rounded(rows: list[KpiRow]) -> list[KpiRow]:
    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 9)

    return [
        replace(row, avg_handling_working_days=r(row.avg_handling_working_days)) for row in rows
    ]


async def test_kpis_from_the_projection_equal_folding_the_events(
    store: PostgresEventStore, runner: ProjectionRunner
) -> None:
    executor = ReplayExecutor(store, context)
    await drive(executor, random.Random(4), 80)
    await eventually(lambda: projections_caught_up(store), "the projections to catch up")
    async with store.pool.acquire() as conn:
        streams = [
            r["stream_id"] for r in await conn.fetch("SELECT DISTINCT stream_id FROM events")
        ]
        histories = list((await read_streams(conn, streams)).values())
    source = PgKpiSource(store.pool)
    # Part-months only, a whole month and part of the next, whole months
    # around part-months; as of instants on the hour, within an hour, at
    # midnight (when deadlines pass) and a microsecond either side of one.
    cohorts = [
        (datetime(2026, 9, 20, tzinfo=TZ), datetime(2026, 10, 10, tzinfo=TZ)),
        (datetime(2026, 9, 1, tzinfo=TZ), datetime(2026, 10, 20, tzinfo=TZ)),
        (datetime(2026, 8, 15, 12, tzinfo=TZ), datetime(2026, 11, 1, tzinfo=TZ)),
    ]
    midnight = datetime(2026, 9, 25, tzinfo=TZ)
    tick = timedelta(microseconds=1)
    instants = [START + timedelta(days=d, hours=h) for d in (3, 10, 20, 35, 60) for h in (0, 7)]
    instants += [midnight - tick, midnight, midnight + tick, datetime(2026, 10, 1, tzinfo=TZ)]
    # Within an hour: the rows starting or ending in it are read from the facts.
    instants += [START + timedelta(days=d, hours=h, minutes=37) for d in (5, 16) for h in (1, 6)]
    checked = 0
    for as_of in [*instants, NOW]:
        facts = [f for h in histories if (f := complaint_facts(h, as_of)) is not None]
        for (start, end), department, group_by in product(
            cohorts, (None, "water"), (None, *GROUPINGS)
        ):
            held = [f for f in facts if department is None or f.department == department]
            expected = kpis(
                held, start=start, end=end, as_of=as_of, group_by=group_by, calendar=CALENDAR
            )
            got = await source.kpis(
                start=start, end=end, as_of=as_of, group_by=group_by, department=department
            )
            assert rounded(got) == rounded(expected), (as_of, start, department, group_by)
            checked += sum(row.received for row in got)
    assert checked > 10_000
    with pytest.raises(ValueError, match="group by"):
        await source.kpis(start=START, end=NOW, as_of=NOW, group_by="colour")  # type: ignore[arg-type]


# -- the live runner's costs -----------------------------------------------------


class Statements:
    """Every statement a pool's connections run, as the server gets them
    (asyncpg's query loggers: BEGIN and COMMIT included)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._changed = asyncio.Event()

    async def init(self, conn: asyncpg.Connection) -> None:
        await _init_connection(conn)
        conn.add_query_logger(self._log)

    def _log(self, record: LoggedQuery) -> None:
        self.seen.append(" ".join(record.query.split()))
        self._changed.set()

    async def until(self, count: int) -> None:
        """Wait until ``count`` statements have been run."""
        async with asyncio.timeout(20):
            while len(self.seen) < count:
                self._changed.clear()
                await self._changed.wait()


@pytest.fixture
async def watched(database_url: str) -> AsyncIterator[tuple[PostgresEventStore, Statements]]:
    """A store for the runner alone, connected as PostgresEventStore.connect
    does, whose statements are recorded."""
    statements = Statements()
    pool = await asyncpg.create_pool(
        database_url, min_size=1, max_size=2, init=statements.init, reset=_keep_session
    )
    own_store = PostgresEventStore(pool, database_url)
    try:
        yield own_store, statements
    finally:
        await own_store.close()


async def test_an_idle_runner_opens_no_transaction(
    store: PostgresEventStore, watched: tuple[PostgresEventStore, Statements]
) -> None:
    """Idle, each timeout and each wake-up costs one statement outside any
    transaction (is anything new?), never a transaction taking the locks."""
    runner_store, statements = watched
    live = ProjectionRunner(runner_store, PROJECTIONS, lambda: CALENDAR, idle_timeout=0.05)
    task = asyncio.create_task(live.run())
    try:
        await drive(ReplayExecutor(store, context), random.Random(7), 5)
        await eventually(lambda: projections_caught_up(store), "the projections to catch up")
        # Once it has looked and found nothing new, it is idle.
        live.caught_up.clear()
        await live.caught_up.wait()
        assert any(s.startswith("BEGIN") for s in statements.seen), "it did project"
        statements.seen.clear()
        await statements.until(5)  # idle timeouts
        for _ in range(3):  # wake-ups with nothing new (another replica's, say)
            looked = len(statements.seen)
            await store.pool.execute("NOTIFY tousu_events")
            await statements.until(looked + 1)
        # Nothing but the one look a wake-up: no transaction, no lock.
        assert all(s.startswith("WITH slowest AS") for s in statements.seen), statements.seen
        # And what comes next is still projected.
        statements.seen.clear()
        await drive(ReplayExecutor(store, context), random.Random(8), 2)
        await eventually(lambda: projections_caught_up(store), "the projections to catch up")
        assert normalised(await table_rows(store, CaseView())) == await expected_rows(
            store, CaseView()
        )
        assert await store.pool.fetchval("SELECT count(*) FROM case_view") == 7
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def projection_states(store: PostgresEventStore) -> list[tuple[str, int, str]]:
    rows = await store.pool.fetch(
        "SELECT name, position, xmin::text AS tx FROM projection_state ORDER BY name"
    )
    return [(r["name"], r["position"], r["tx"]) for r in rows]


async def test_projections_advance_together_in_one_transaction(
    store: PostgresEventStore, watched: tuple[PostgresEventStore, Statements]
) -> None:
    runner_store, statements = watched
    live = ProjectionRunner(runner_store, PROJECTIONS, lambda: CALENDAR, batch=10_000)
    await live.prepare()
    await drive(ReplayExecutor(store, context), random.Random(9), 20)

    # Until the step finds the events below the server's horizon (another
    # test's open transaction may hold them back for a moment).
    async def stepped() -> bool:
        statements.seen.clear()
        return await live.step_all() > 0

    await eventually(stepped, "a step to take events")
    states = await projection_states(store)
    assert len(states) == len(PROJECTIONS)
    # One transaction wrote every projection's position: the same row version.
    assert len({(position, tx) for _, position, tx in states}) == 1, states
    assert states[0][1] > 0
    assert sum(s.startswith("BEGIN") for s in statements.seen) == 1, statements.seen
    # The events read once, the touched streams once, for all of them.
    assert sum("FROM events WHERE stream_id = any" in s for s in statements.seen) == 1
    assert sum("ORDER BY tx_id, global_position LIMIT" in s for s in statements.seen) == 1

    async def caught_up() -> bool:
        await live.step_all()
        return await projections_caught_up(store)

    await eventually(caught_up, "the projections to catch up")
    for projection in PROJECTIONS:
        assert normalised(await table_rows(store, projection)) == await expected_rows(
            store, projection
        ), projection.name


async def test_projections_at_different_positions_catch_up_together(
    store: PostgresEventStore,
) -> None:
    """Positions compared in read_all order, not by number: a later
    transaction can hold the smaller position. One projection behind, the
    others ahead (one of them with the smaller number), a small batch: each
    takes its own events from the shared batches, and all end alike."""
    live = ProjectionRunner(store, PROJECTIONS, lambda: CALENDAR, batch=7)
    await live.prepare()
    # Two events on a stream no projection reads: the first in read_all order
    # (the older transaction) gets the larger position.
    older, newer = await store.pool.acquire(), await store.pool.acquire()
    insert = (
        "INSERT INTO events (event_id, stream_id, version, type, schema_version, occurred_at, "
        "correlation_id, actor, data) VALUES ($1, $2, 1, 'Probe', 1, now(), $1, $3, '{}') "
        "RETURNING global_position"
    )
    actor = OPERATOR.model_dump(mode="json")
    try:
        async with older.transaction(), newer.transaction():
            await older.execute("SELECT pg_current_xact_id()")
            await newer.execute("SELECT pg_current_xact_id()")
            small = await newer.fetchval(insert, uuid.uuid4(), "probe-1", actor)
            large = await older.fetchval(insert, uuid.uuid4(), "probe-2", actor)
    finally:
        await store.pool.release(older)
        await store.pool.release(newer)
    assert small < large
    # case_view after the first of them; the others after both.
    await store.pool.execute(
        "UPDATE projection_state "
        "SET position = CASE name WHEN 'case_view' THEN $1::bigint ELSE $2::bigint END",
        large,
        small,
    )

    # The newer probe is the head: only case_view has anything to take.
    await eventually(live.pending, "the runner to see case_view behind")
    await live.step_all()
    assert {position for _, position, _ in await projection_states(store)} == {small}
    assert not await live.pending()

    await drive(ReplayExecutor(store, context), random.Random(10), 15)

    async def caught_up() -> bool:
        await live.step_all()
        return await projections_caught_up(store)

    await eventually(caught_up, "the projections to catch up", timeout=30)
    for projection in PROJECTIONS:
        assert normalised(await table_rows(store, projection)) == await expected_rows(
            store, projection
        ), projection.name
    assert await store.pool.fetchval("SELECT count(*) FROM case_view") == 15
    await assert_rollup_is_the_sum_of_the_facts(store)


async def test_the_runner_listens_again_when_its_listen_connection_closes(
    store: PostgresEventStore,
) -> None:
    """With a timeout far off, only a NOTIFY can wake the runner: after its
    LISTEN connection is closed it listens anew and projects what comes."""
    live = ProjectionRunner(store, PROJECTIONS, lambda: CALENDAR, idle_timeout=3600)

    async def woken_and_caught_up() -> bool:
        # A NOTIFY with every look: events held back behind another test's
        # transaction when the last one came are looked for again.
        await store.pool.execute("NOTIFY tousu_events")
        return await projections_caught_up(store)

    async def listeners() -> set[int]:
        rows = await store.pool.fetch(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        )
        return {r["pid"] for r in rows}

    task = asyncio.create_task(live.run())
    try:
        executor = ReplayExecutor(store, context)
        await drive(executor, random.Random(11), 2)
        await eventually(woken_and_caught_up, "the projections to catch up")
        (first,) = await listeners()
        assert await store.pool.fetchval("SELECT pg_terminate_backend($1)", first)

        async def listening_again() -> bool:
            return bool(await listeners() - {first})

        await eventually(listening_again, "the runner to listen again")
        await drive(executor, random.Random(12), 2)
        await eventually(woken_and_caught_up, "the projections to catch up")
        assert await store.pool.fetchval("SELECT count(*) FROM case_view") == 4
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_two_replicas_take_turns(
    store: PostgresEventStore, database_url: str, own: asyncpg.Connection
) -> None:
    """Two runners (two replicas' stores) and a rebuild at once: every lock
    taken in one order, nothing projected twice or left out."""
    other = await PostgresEventStore.connect(database_url, min_size=1, max_size=2)
    runners = [
        ProjectionRunner(s, PROJECTIONS, lambda: CALENDAR, idle_timeout=0.2, batch=5)
        for s in (store, other)
    ]
    tasks = [asyncio.create_task(r.run()) for r in runners]
    try:
        executor = ReplayExecutor(store, context)
        writer = asyncio.create_task(drive(executor, random.Random(13), 30))
        await rebuild(own, store, KpiFacts(), lambda: CALENDAR)
        await writer
        await eventually(
            lambda: projections_caught_up(store), "the projections to catch up", timeout=30
        )
        for projection in PROJECTIONS:
            assert normalised(await table_rows(store, projection)) == await expected_rows(
                store, projection
            ), projection.name
        assert await store.pool.fetchval("SELECT count(*) FROM case_view") == 30
        await assert_rollup_is_the_sum_of_the_facts(store)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with pytest.raises(asyncio.CancelledError):
                await task
        await other.close()

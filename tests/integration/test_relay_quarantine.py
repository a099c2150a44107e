"""The relay never halts on one event: what it cannot publish is set aside, the rest flows.

Against real PostgreSQL and NATS; the first test runs the real relay process
and reads its /readyz and /metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext

from tests.helpers import eventually, tousu
from tests.integration.test_relay import (
    assert_published_exactly_once_in_order,
    message_count,
    new_events,
    readable,
    stored_in_commit_order,
    stream_messages,
)
from tests.processes import spawn, stop
from tests.scrape import endpoint_url, value
from tousu.cli.nats_permissions import DEPARTMENT_PREFIX, users
from tousu.services.gateway.app import create_app
from tousu.services.relay import quarantine
from tousu.services.relay.message import MSG_ID, RELEASED
from tousu.services.relay.publisher import Relay
from tousu.services.relay.reader import read_items
from tousu.shared.events import Envelope, NewEvent, complaint_stream
from tousu.shared.naming import department_token
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore
from tousu.shared.tasks import cancel_and_wait

pytestmark = pytest.mark.timeout(90)

# Not a subject token: no subject can carry it, whatever the department.
POISON_TYPE = "Complaint Routed"
SPACED_DEPARTMENT = "水务 局"


async def append_poison(store: PostgresEventStore, **poison: object) -> Envelope:
    """A poison event written straight into the store, as no command would write it."""
    event = NewEvent(**({"type": POISON_TYPE, "data": {"note": "poison"}} | poison))
    [stored] = await store.append(complaint_stream(uuid.uuid4()), 0, [event])
    return stored


async def append_many(store: PostgresEventStore, count: int, per_stream: int = 10) -> None:
    departments = ("water", None, SPACED_DEPARTMENT)
    for n in range(0, count, per_stream):
        department = departments[n // per_stream % len(departments)]
        await store.append(complaint_stream(uuid.uuid4()), 0, new_events(per_stream, department))


def in_order(stored: list[Envelope], *set_aside: Envelope) -> list[Envelope]:
    skipped = {e.event_id for e in set_aside}
    return [e for e in stored if e.event_id not in skipped]


async def test_a_poison_event_is_set_aside_and_the_next_100_reach_jetstream_in_order(
    settings: Settings,
    child_env: dict[str, str],
    store: PostgresEventStore,
    js: JetStreamContext,
    tmp_path: Path,
) -> None:
    naming = settings.naming
    poison = await append_poison(store)
    await append_many(store, 100)
    relay = spawn("relay", child_env | {"TOUSU_METRICS_PORT": "0"}, tmp_path)
    try:
        url = await endpoint_url(tmp_path / "relay.log")
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:

            async def hundred_published() -> bool:
                return await message_count(js, naming) == 100

            await eventually(hundred_published, "the 100 events after the poison", 30)
            assert_published_exactly_once_in_order(
                in_order(await stored_in_commit_order(store), poison),
                await stream_messages(js, naming),
                naming,
            )

            ready = await http.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["status"] == "degraded"
            assert ready.json()["checks"]["quarantine"].startswith("degraded: 1 event(s)")
            metrics = (await http.get("/metrics")).text
            assert value(metrics, "tousu_relay_quarantined_events") == 1
            assert value(metrics, "tousu_relay_set_aside_events_total") == 1
            assert value(metrics, "tousu_relay_published_events_total") == 100
        assert stop(relay) == 0
    finally:
        stop(relay)

    code, out, err = await tousu(child_env, "relay", "quarantine", "list", "--json")
    assert code == 0, err
    [listed] = [json.loads(line) for line in out.splitlines()]
    assert listed["event_id"] == str(poison.event_id)
    assert listed["global_position"] == poison.global_position
    assert (listed["status"], listed["reason"]) == ("held", quarantine.INVALID_SUBJECT)
    assert POISON_TYPE in listed["detail"]
    code, out, err = await tousu(child_env, "relay", "quarantine", "show", str(poison.event_id))
    assert code == 0, err
    assert json.loads(out)["type"] == POISON_TYPE


async def test_refused_and_oversized_events_are_set_aside_and_a_release_publishes_again(
    settings: Settings,
    child_env: dict[str, str],
    store: PostgresEventStore,
    js: JetStreamContext,
    nats_client: NatsClient,
) -> None:
    naming = settings.naming
    # The stream takes at most 16 KiB a message: a 32 KiB event is refused by
    # JetStream itself; one beyond the server's max_payload never leaves.
    config = (await js.stream_info(naming.events_stream)).config
    config.max_msg_size = 16 * 1024
    await js.update_stream(config)
    await store.append(complaint_stream(uuid.uuid4()), 0, new_events(5, "water"))
    refused = await append_poison(store, type="ProgressReported", data={"note": "x" * 32 * 1024})
    await store.append(complaint_stream(uuid.uuid4()), 0, new_events(5, "water"))
    too_large = await append_poison(
        store, type="ProgressReported", data={"note": "y" * nats_client.max_payload}
    )
    await store.append(complaint_stream(uuid.uuid4()), 0, new_events(5))
    await eventually(lambda: readable(store, 17), "17 readable events", 10)

    async def published(count: int) -> bool:
        return await message_count(js, naming) == count

    async with relaying(Relay(store, nats_client, naming, batch_size=6, idle_recheck=0.2)):
        await eventually(lambda: published(15), "the 15 publishable events", 15)
        stored = await stored_in_commit_order(store)
        assert_published_exactly_once_in_order(
            in_order(stored, refused, too_large), await stream_messages(js, naming), naming
        )
        held = {e.event_id: e for e in await quarantine.entries(store.pool)}
        assert held[refused.event_id].reason == quarantine.REJECTED
        assert "exceeds maximum" in held[refused.event_id].detail
        assert held[too_large.event_id].reason == quarantine.TOO_LARGE

        # The operator lets the stream take larger messages and releases the refused one.
        config.max_msg_size = -1
        await js.update_stream(config)
        code, out, err = await tousu(
            child_env, "relay", "quarantine", "release", str(refused.event_id)
        )
        assert code == 0, err
        assert f"{refused.event_id}: released" in out
        await eventually(lambda: published(16), "the released event", 15)
    last = (await stream_messages(js, naming))[-1]
    assert last[1][MSG_ID] == str(refused.event_id)
    assert last[1][RELEASED] == "1"
    entry = await quarantine.entry(store.pool, refused.event_id)
    assert entry is not None and entry.status == "published"
    assert await quarantine.open_count(store.pool) == 1  # the oversized one stays held

    # A relay starting now resumes after the last event published in order,
    # not after the released one, and publishes nothing twice.
    restarted = Relay(store, nats_client, naming, batch_size=6, idle_recheck=0.2)
    point = await restarted.resume()
    assert point.after == stored[-1].global_position
    await store.append(complaint_stream(uuid.uuid4()), 0, new_events(3, "water"))
    async with relaying(restarted):
        await eventually(lambda: published(19), "3 more events", 15)
    messages = [m for m in await stream_messages(js, naming) if RELEASED not in m[1]]
    assert_published_exactly_once_in_order(
        in_order(await stored_in_commit_order(store), refused, too_large), messages, naming
    )


@contextlib.asynccontextmanager
async def relaying(relay: Relay) -> AsyncIterator[Relay]:
    """``relay.run()`` while the block runs (as the leader would)."""
    running = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        await cancel_and_wait(running)
        await relay.close()


async def test_a_row_that_is_no_valid_envelope_is_set_aside_and_resumes_work(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext, nats_client: NatsClient
) -> None:
    naming = settings.naming
    await store.append(complaint_stream(uuid.uuid4()), 0, new_events(5, "water"))
    stream_id = complaint_stream(uuid.uuid4())
    await store.append(stream_id, 0, new_events(5, "water"))
    # Written around tousu: an actor with a role no envelope has, after the
    # stream's last event, so it is also the row after the stream's tail.
    await store.pool.execute(
        "INSERT INTO events (event_id, stream_id, version, type, schema_version, occurred_at,"
        " correlation_id, actor, department, data)"
        " VALUES ($1, $2, 6, 'ProgressReported', 1, now(), $3, $4::jsonb, 'water', '{}')",
        poison_id := uuid.uuid4(),
        stream_id,
        uuid.uuid4(),
        {"id": "x", "role": "intruder"},
    )

    async def all_readable() -> bool:
        return len(await read_items(store, 0, 12)) == 11

    await eventually(all_readable, "11 readable rows", 10)

    async def published(count: int) -> bool:
        return await message_count(js, naming) == count

    async with relaying(Relay(store, nats_client, naming, batch_size=4, idle_recheck=0.2)):
        await eventually(lambda: published(10), "the 10 readable events", 15)

        async def set_aside() -> bool:
            return await quarantine.open_count(store.pool) == 1

        await eventually(set_aside, "the unreadable row in the quarantine", 10)
    entry = await quarantine.entry(store.pool, poison_id)
    assert entry is not None and entry.reason == quarantine.UNREADABLE
    assert "actor.role" in entry.detail

    # A relay starting now resumes from the stream's tail (the poisoned
    # stream's last good event) and goes on past the row.
    await store.append(complaint_stream(uuid.uuid4()), 0, new_events(2))
    async with relaying(Relay(store, nats_client, naming, batch_size=4, idle_recheck=0.2)):
        await eventually(lambda: published(12), "2 more events", 15)
    messages = await stream_messages(js, naming)
    assert poison_id not in {uuid.UUID(m[1][MSG_ID]) for m in messages}
    assert len({m[1][MSG_ID] for m in messages}) == 12


async def test_a_department_code_with_a_space_reaches_the_departments_subscription(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext, nats_client: NatsClient
) -> None:
    naming = settings.naming
    live = await nats_client.subscribe(naming.department_events(SPACED_DEPARTMENT))
    other = await nats_client.subscribe(naming.department_events("water"))
    await store.append(complaint_stream(uuid.uuid4()), 0, new_events(3, SPACED_DEPARTMENT))
    await store.append(complaint_stream(uuid.uuid4()), 0, new_events(2, "water"))
    await eventually(lambda: readable(store, 5), "5 readable events", 10)
    relay = Relay(store, nats_client, naming)
    try:
        assert await relay.run_until_caught_up() == 5
    finally:
        await relay.close()
    assert relay.stats.published == 5
    assert await quarantine.open_count(store.pool) == 0

    async def received(sub: Subscription, count: int) -> bool:
        return sub.pending_msgs == count

    await eventually(lambda: received(live, 3), "the department's 3 events, live", 10)
    await eventually(lambda: received(other, 2), "water's 2 events, live", 10)
    token = department_token(SPACED_DEPARTMENT)
    for _ in range(3):
        msg = await live.next_msg(timeout=1)
        assert msg.subject == f"{naming.root}.events.{token}.ProgressReported"
        assert json.loads(msg.data)["department"] == SPACED_DEPARTMENT
    # The department's own NATS user may read exactly that subject.
    [user] = [u for u in users(naming, [SPACED_DEPARTMENT]) if u.name.startswith(DEPARTMENT_PREFIX)]
    assert user.subscribe[0] == naming.department_events(SPACED_DEPARTMENT)


async def test_the_gateway_reports_degraded_while_the_quarantine_holds_events(
    settings: Settings, store: PostgresEventStore
) -> None:
    app = create_app(settings)
    poison = await append_poison(store)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as http:
            before = await http.get("/readyz")
            await quarantine.set_aside(store.pool, poison, quarantine.INVALID_SUBJECT, "test")
            during = await http.get("/readyz")
    assert (before.status_code, before.json()["status"]) == (200, "ok")
    assert (during.status_code, during.json()["status"]) == (200, "degraded")
    assert during.json()["ready"] is True
    assert during.json()["checks"]["quarantine"].startswith("degraded: 1 event(s)")

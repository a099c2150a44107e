"""The consumer base on real NATS JetStream and PostgreSQL: one effect per event,
retries with back-off, dead letters, replicas sharing a durable consumer."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import pytest
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo

from tests.helpers import eventually, make_envelope
from tousu.shared import dlq
from tousu.shared.consumer import Consumer, ConsumerHost, RetryPolicy, build_app
from tousu.shared.consumer.consumer import subject_matches
from tousu.shared.events import Envelope, NewEvent
from tousu.shared.settings import Settings
from tousu.shared.store import ConcurrencyConflict, UnitOfWork
from tousu.shared.store.postgres import PostgresEventStore

EFFECT = "TestEffect"


# -- helpers (shared with test_dlq_cli) ------------------------------------


def envelope(event_type: str = "ComplaintReceived", **data: Any) -> Envelope:
    return make_envelope(event_type, data)


async def publish(
    js: JetStreamContext, settings: Settings, env: Envelope, msg_id: str | None = None
) -> None:
    """What the relay does: the envelope as JSON, deduplicated by event id."""
    await js.publish(
        settings.naming.event(env.department, env.type),
        env.model_dump_json().encode(),
        headers={"Nats-Msg-Id": msg_id or str(env.event_id)},
        stream=settings.naming.events_stream,
    )


def effect_stream(consumer: str, env: Envelope) -> str:
    return f"effect-{consumer}-{env.event_id}"


async def record_effect(consumer: str, env: Envelope, uow: UnitOfWork) -> None:
    """Appends after whatever is there, so a second effect would show as a second event."""
    stream = effect_stream(consumer, env)
    existing = await uow.read_stream(stream)
    await uow.append(
        stream, len(existing), [NewEvent(type=EFFECT, data={}, causation_id=env.event_id)]
    )


async def effects(store: PostgresEventStore, consumer: str, env: Envelope) -> int:
    return len(await store.read_stream(effect_stream(consumer, env)))


async def processed_rows(store: PostgresEventStore, consumer: str) -> int:
    value = await store.pool.fetchval(
        "SELECT count(*) FROM processed_events WHERE consumer = $1", consumer
    )
    return int(value)


async def deliveries(js: JetStreamContext, settings: Settings, name: str) -> int | None:
    """How many deliveries (redeliveries included) the durable made, once it has
    nothing pending or unacknowledged; None while it has."""
    info: ConsumerInfo = await js.consumer_info(settings.naming.events_stream, name)
    if info.num_ack_pending or info.num_pending or info.delivered is None:
        return None
    return int(info.delivered.consumer_seq or 0)


async def settled(js: JetStreamContext, settings: Settings, name: str, count: int) -> bool:
    return await deliveries(js, settings, name) == count


async def drained(js: JetStreamContext, settings: Settings, name: str) -> bool:
    return bool(await deliveries(js, settings, name))


class Flaky:
    """A handler that fails its first ``failures`` calls per event, then records one effect."""

    def __init__(self, name: str, failures: int, error: type[Exception] = RuntimeError) -> None:
        self.name = name
        self.failures = failures
        self.error = error
        self.calls: Counter[uuid.UUID] = Counter()

    async def __call__(self, env: Envelope, uow: UnitOfWork) -> None:
        self.calls[env.event_id] += 1
        if self.calls[env.event_id] <= self.failures:
            raise self.error(f"boom #{self.calls[env.event_id]} for {env.event_id}")
        await record_effect(self.name, env, uow)


# -- tests ------------------------------------------------------------------


async def test_handler_failing_twice_then_succeeding_has_one_effect(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext
) -> None:
    handler = Flaky("routing", failures=2)
    env = envelope()
    async with ConsumerHost(settings, [Consumer("routing", handler)], store=store):
        await publish(js, settings, env)
        await eventually(lambda: settled(js, settings, "routing", 3), "3 deliveries, then ack")

    assert handler.calls[env.event_id] == 3
    assert await effects(store, "routing", env) == 1
    assert await processed_rows(store, "routing") == 1
    assert await dlq.list_entries(js, settings.naming) == []


async def test_redelivered_event_has_no_second_effect(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext
) -> None:
    handler = Flaky("routing", failures=0)
    env = envelope()
    async with ConsumerHost(settings, [Consumer("routing", handler)], store=store):
        await publish(js, settings, env)
        await eventually(lambda: settled(js, settings, "routing", 1), "first delivery")
        # The same event again, as a relay that lost its checkpoint would send it
        # after the duplicate window.
        await publish(js, settings, env, msg_id=f"again-{env.event_id}")
        await eventually(lambda: settled(js, settings, "routing", 2), "second delivery")

    assert handler.calls[env.event_id] == 1
    assert await effects(store, "routing", env) == 1
    assert await processed_rows(store, "routing") == 1


async def test_crash_between_commit_and_ack_has_no_second_effect(
    settings: Settings,
    store: PostgresEventStore,
    js: JetStreamContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The ack after the commit is lost: the server redelivers after ack_wait."""
    real_ack = Msg.ack
    lost: list[str] = []

    async def lose_first_ack(self: Msg) -> None:
        if not lost:
            lost.append(self.subject)
            return
        await real_ack(self)

    monkeypatch.setattr(Msg, "ack", lose_first_ack)
    handler = Flaky("routing", failures=0)
    env = envelope()
    consumer = Consumer("routing", handler, ack_wait=1.0)
    async with ConsumerHost(settings, [consumer], store=store):
        await publish(js, settings, env)
        await eventually(lambda: settled(js, settings, "routing", 2), "redelivery after ack_wait")

    assert lost, "the first ack was not intercepted"
    assert handler.calls[env.event_id] == 1  # the redelivery saw the tracking row
    assert await effects(store, "routing", env) == 1
    assert await processed_rows(store, "routing") == 1


async def test_concurrency_conflict_is_retried_in_place(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext
) -> None:
    calls = 0

    async def handler(env: Envelope, uow: UnitOfWork) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConcurrencyConflict(env.stream_id, 1, 2)
        await record_effect("routing", env, uow)

    env = envelope()
    async with ConsumerHost(settings, [Consumer("routing", handler)], store=store):
        await publish(js, settings, env)
        await eventually(lambda: settled(js, settings, "routing", 1), "one delivery")

    assert calls == 2
    assert await effects(store, "routing", env) == 1


async def test_always_failing_handler_dead_letters_after_max_deliver(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext
) -> None:
    handler = Flaky("routing", failures=10**6)
    env = envelope("ComplaintAccepted")
    async with ConsumerHost(settings, [Consumer("routing", handler)], store=store):
        await publish(js, settings, env)
        await eventually(lambda: _dead_letters(js, settings, 1), "a dead letter")
        await eventually(
            lambda: settled(js, settings, "routing", settings.consumer_max_deliver),
            "original settled",
        )

    assert handler.calls[env.event_id] == settings.consumer_max_deliver
    [entry] = await dlq.list_entries(js, settings.naming)
    assert entry.consumer == "routing"
    assert entry.event_id == str(env.event_id)
    assert entry.event_type == "ComplaintAccepted"
    assert entry.original_subject == settings.naming.event(None, "ComplaintAccepted")
    assert entry.deliveries == settings.consumer_max_deliver
    assert entry.error.startswith("RuntimeError: boom #5")
    assert "RuntimeError" in entry.traceback
    assert Envelope.model_validate_json(entry.payload) == env
    assert await effects(store, "routing", env) == 0
    assert await processed_rows(store, "routing") == 0


async def test_an_outage_longer_than_the_retries_dead_letters_nothing(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext
) -> None:
    # The database refusing connections for more deliveries than the DLQ allows.
    failures = settings.consumer_max_deliver + 2
    handler = Flaky("routing", failures=failures, error=ConnectionRefusedError)
    env = envelope("ComplaintAccepted")
    async with ConsumerHost(settings, [Consumer("routing", handler)], store=store):
        await publish(js, settings, env)
        await eventually(
            lambda: settled(js, settings, "routing", failures + 1), "handled once it came back"
        )

    assert handler.calls[env.event_id] == failures + 1
    assert await effects(store, "routing", env) == 1
    assert await dlq.list_entries(js, settings.naming) == []


@pytest.mark.parametrize(
    "payload",
    [b"\xff\xfe not utf-8", b"{not json", b'{"hello": "world"}', b"[]"],
    ids=["non-utf8", "bad-json", "not-an-envelope", "array"],
)
async def test_malformed_message_is_dead_lettered_at_once_and_the_next_is_handled(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext, payload: bytes
) -> None:
    handler = Flaky("routing", failures=0)
    good = envelope()
    async with ConsumerHost(settings, [Consumer("routing", handler)], store=store):
        await js.publish(
            settings.naming.event(None, "ComplaintReceived"),
            payload,
            headers={"Nats-Msg-Id": "garbage-1"},
            stream=settings.naming.events_stream,
        )
        await publish(js, settings, good)
        await eventually(lambda: settled(js, settings, "routing", 2), "both settled, no retries")

    [entry] = await dlq.list_entries(js, settings.naming, "routing")
    assert entry.deliveries == 1
    assert entry.error.startswith("MalformedMessage: not an event envelope")
    assert entry.payload == payload
    assert entry.event_id == "garbage-1"  # what the original Nats-Msg-Id said
    assert list(handler.calls) == [good.event_id]
    assert await effects(store, "routing", good) == 1


async def test_replicas_with_one_durable_name_split_the_events(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext
) -> None:
    settings = settings.model_copy(update={"consumer_batch_size": 2})
    seen: dict[str, list[uuid.UUID]] = {"a": [], "b": []}

    def replica(label: str) -> Consumer:
        async def handle(env: Envelope, uow: UnitOfWork) -> None:
            seen[label].append(env.event_id)
            await asyncio.sleep(0.005)  # some work, so that one replica cannot take all
            await record_effect("routing", env, uow)

        return Consumer("routing", handle)

    events = [envelope() for _ in range(40)]
    async with (
        ConsumerHost(settings, [replica("a")], store=store),
        ConsumerHost(settings, [replica("b")], store=store),
    ):
        for env in events:
            await publish(js, settings, env)
        await eventually(lambda: settled(js, settings, "routing", len(events)), "all handled")

    handled = seen["a"] + seen["b"]
    assert sorted(map(str, handled)) == sorted(str(e.event_id) for e in events)
    assert len(handled) == len(set(handled)), "an event was handled twice"
    assert seen["a"] and seen["b"], f"one replica did everything: {len(seen['a'])}/{len(seen['b'])}"
    assert await processed_rows(store, "routing") == len(events)


async def effect_transactions(store: PostgresEventStore, consumer: str) -> list[int]:
    """How many effects each transaction that recorded effects committed."""
    rows = await store.pool.fetch(
        "SELECT count(*) AS n FROM events WHERE stream_id LIKE $1 GROUP BY tx_id",
        f"effect-{consumer}-%",
    )
    return sorted(int(r["n"]) for r in rows)


async def test_events_fetched_together_are_handled_in_shared_transactions(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext
) -> None:
    bound: dict[uuid.UUID, str] = {}

    async def handle(env: Envelope, uow: UnitOfWork) -> None:
        bound[env.event_id] = structlog.contextvars.get_contextvars()["event_id"]
        await record_effect("routing", env, uow)

    events = [envelope() for _ in range(40)]
    for env in events:  # all waiting before the consumer starts: fetched together
        await publish(js, settings, env)
    async with ConsumerHost(settings, [Consumer("routing", handle)], store=store):
        await eventually(lambda: settled(js, settings, "routing", len(events)), "all handled")

    assert bound == {e.event_id: str(e.event_id) for e in events}  # each its own log ids
    assert await processed_rows(store, "routing") == len(events)
    per_transaction = await effect_transactions(store, "routing")
    assert sum(per_transaction) == len(events)
    assert max(per_transaction) <= settings.group_commit
    # 40 events, at most 4 transactions side by side: far fewer than 40 commits.
    assert len(per_transaction) <= 12, per_transaction


async def test_a_failing_event_does_not_hold_back_the_rest_of_its_batch(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext
) -> None:
    events = [envelope() for _ in range(12)]
    bad = events[5]
    calls: Counter[uuid.UUID] = Counter()

    async def handle(env: Envelope, uow: UnitOfWork) -> None:
        calls[env.event_id] += 1
        await record_effect("routing", env, uow)
        if env.event_id == bad.event_id:
            raise RuntimeError("this one is broken")

    for env in events:
        await publish(js, settings, env)
    async with ConsumerHost(settings, [Consumer("routing", handle)], store=store):
        await eventually(lambda: _dead_letters(js, settings, 1), "the broken one dead-lettered")
        await eventually(
            lambda: settled(
                js, settings, "routing", len(events) + settings.consumer_max_deliver - 1
            ),
            "the rest acked once",
        )

    [entry] = await dlq.list_entries(js, settings.naming, "routing")
    assert entry.event_id == str(bad.event_id)
    assert entry.deliveries == settings.consumer_max_deliver
    for env in events:  # the rolled-back batch left no trace: one effect each
        assert await effects(store, "routing", env) == (0 if env is bad else 1)
    assert await processed_rows(store, "routing") == len(events) - 1
    # The batch that held it ran once more, one event at a time.
    assert max(calls[e.event_id] for e in events if e is not bad) == 2


async def test_group_commit_of_one_is_a_transaction_per_event(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext
) -> None:
    settings = settings.model_copy(update={"group_commit": 1})
    handler = Flaky("routing", failures=0)
    events = [envelope() for _ in range(10)]
    for env in events:
        await publish(js, settings, env)
    async with ConsumerHost(settings, [Consumer("routing", handler)], store=store):
        await eventually(lambda: settled(js, settings, "routing", len(events)), "all handled")

    assert await effect_transactions(store, "routing") == [1] * len(events)


async def test_consumers_with_different_names_each_get_every_event(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext
) -> None:
    routing, metrics, followup = Flaky("routing", 0), Flaky("metrics", 0), Flaky("followup", 0)
    events = [
        envelope("ComplaintReceived"),
        envelope("ComplaintAccepted"),
        envelope("ComplaintClosed"),
    ]
    consumers = [
        Consumer("routing", routing),
        Consumer("metrics", metrics),
        Consumer("followup", followup, event_types=["ComplaintAccepted", "ComplaintClosed"]),
    ]
    async with ConsumerHost(settings, consumers, store=store):
        for env in events:
            await publish(js, settings, env)
        await eventually(lambda: settled(js, settings, "routing", 3), "routing done")
        await eventually(lambda: settled(js, settings, "metrics", 3), "metrics done")
        await eventually(lambda: drained(js, settings, "followup"), "followup done")

    assert set(routing.calls) == set(metrics.calls) == {e.event_id for e in events}
    assert set(followup.calls) == {events[1].event_id, events[2].event_id}
    assert await processed_rows(store, "followup") == 2


async def test_structlog_context_is_bound_while_handling(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext
) -> None:
    bound: list[dict[str, Any]] = []

    async def handler(env: Envelope, uow: UnitOfWork) -> None:
        bound.append(structlog.contextvars.get_contextvars())

    env = envelope()
    async with ConsumerHost(settings, [Consumer("routing", handler)], store=store):
        await publish(js, settings, env)
        await eventually(lambda: settled(js, settings, "routing", 1), "handled")

    assert {k: bound[0][k] for k in ("consumer", "event_id", "correlation_id")} == {
        "consumer": "routing",
        "event_id": str(env.event_id),
        "correlation_id": str(env.correlation_id),
    }


async def test_build_app_runs_the_consumers_as_a_faststream_app(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext
) -> None:
    handler = Flaky("routing", failures=0)
    app = build_app(settings, [Consumer("routing", handler)], store=store)
    await app.start()
    try:
        env = envelope()
        await publish(js, settings, env)
        await eventually(lambda: settled(js, settings, "routing", 1), "handled")
    finally:
        await app.stop()
    assert await effects(store, "routing", env) == 1


def test_subject_matching_follows_nats_wildcards() -> None:
    assert subject_matches("t.events.>", "t.events._.ComplaintReceived")
    assert not subject_matches("t.events.>", "t.events")
    assert subject_matches("t.events.*.ComplaintClosed", "t.events.dept1.ComplaintClosed")
    assert not subject_matches("t.events.*.ComplaintClosed", "t.events.dept1.ComplaintAccepted")
    assert not subject_matches("t.events.*", "t.events.a.b")


def test_backoff_doubles_and_is_capped() -> None:
    policy = RetryPolicy(max_deliver=5, backoff_base=0.5, backoff_max=3.0)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert [policy.should_retry(n) for n in (1, 4, 5, 6)] == [True, True, False, False]


async def _dead_letters(js: JetStreamContext, settings: Settings, count: int) -> bool:
    return len(await dlq.list_entries(js, settings.naming)) == count


async def test_an_event_that_changed_nothing_is_not_tracked_when_the_consumer_says_so(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext
) -> None:
    """record_no_ops=False: a handler that wrote nothing leaves no tracking row
    (its batch commits read-only); one that wrote is tracked, exactly once, as
    ever; the default still tracks every event."""
    quiet, busy = envelope(), envelope()

    async def handle(env: Envelope, uow: UnitOfWork) -> None:
        if env.event_id == busy.event_id:
            await record_effect("sparse", env, uow)

    sparse = Consumer("sparse", handle, record_no_ops=False)
    tracking = Consumer("tracking", handle)
    async with ConsumerHost(settings, [sparse, tracking], store=store):
        for env in (quiet, busy):
            await publish(js, settings, env)
        for name in ("sparse", "tracking"):

            async def both(name: str = name) -> bool:
                return await settled(js, settings, name, 2)

            await eventually(both, f"{name} to settle both")
    assert await processed_rows(store, "sparse") == 1
    assert await processed_rows(store, "tracking") == 2
    assert await effects(store, "sparse", busy) == 2  # one from each consumer's handling
    assert await effects(store, "sparse", quiet) == 0

"""`tousu dlq list|show|retry` against a consumer that dead-letters, run as the
real command in a child process."""

from __future__ import annotations

import json

import pytest
from nats.js import JetStreamContext

from tests.helpers import tousu
from tests.integration.test_consumer import (
    Flaky,
    effects,
    envelope,
    eventually,
    processed_rows,
    publish,
    record_effect,
    settled,
)
from tousu.shared import dlq
from tousu.shared.consumer import Consumer, ConsumerHost
from tousu.shared.events import Envelope
from tousu.shared.settings import Settings
from tousu.shared.store import UnitOfWork
from tousu.shared.store.postgres import PostgresEventStore


class Fixable:
    """Fails every time until ``fixed`` is set."""

    def __init__(self) -> None:
        self.fixed = False
        self.calls = 0

    async def __call__(self, env: Envelope, uow: UnitOfWork) -> None:
        self.calls += 1
        if not self.fixed:
            raise ValueError("routing table has no entry for 区县 X")
        await record_effect("routing", env, uow)


async def test_dead_letter_is_listed_then_replayed_once_to_its_consumer(
    settings: Settings,
    store: PostgresEventStore,
    js: JetStreamContext,
    child_env: dict[str, str],
) -> None:
    routing, metrics = Fixable(), Flaky("metrics", failures=0)
    env = envelope("ComplaintAccepted")
    consumers = [Consumer("routing", routing), Consumer("metrics", metrics)]
    async with ConsumerHost(settings, consumers, store=store):
        await publish(js, settings, env)
        await eventually(
            lambda: settled(js, settings, "routing", settings.consumer_max_deliver),
            "routing gave up",
        )
        await eventually(lambda: settled(js, settings, "metrics", 1), "metrics handled it")

        code, out, err = await tousu(child_env, "dlq", "list", "--json")
        assert code == 0, err
        [listed] = [json.loads(line) for line in out.splitlines()]
        assert listed["consumer"] == "routing"
        assert listed["event_id"] == str(env.event_id)
        assert listed["event_type"] == "ComplaintAccepted"
        assert listed["deliveries"] == settings.consumer_max_deliver
        assert listed["error"] == "ValueError: routing table has no entry for 区县 X"

        code, table, err = await tousu(child_env, "dlq", "list")
        assert code == 0, err
        assert str(env.event_id) in table and "routing" in table and "ValueError" in table

        code, shown, err = await tousu(child_env, "dlq", "show", str(listed["id"]))
        assert code == 0, err
        assert 'raise ValueError("routing table' in json.loads(shown)["traceback"]

        routing.fixed = True
        code, out, err = await tousu(child_env, "dlq", "retry", str(listed["id"]))
        assert code == 0, err
        assert f"replayed event {env.event_id} to routing" in out

        await eventually(lambda: _has_effect(store, env), "the replay handled")
        await eventually(lambda: _dlq_stream_empty(js, settings), "replay copy removed")

    assert routing.calls == settings.consumer_max_deliver + 1
    assert metrics.calls[env.event_id] == 1  # the replay went to routing only
    assert await effects(store, "routing", env) == 1
    assert await processed_rows(store, "routing") == 1
    assert await dlq.list_entries(js, settings.naming) == []
    code, out, _ = await tousu(child_env, "dlq", "list")
    assert code == 0 and "no dead letters" in out


async def test_retry_of_an_unknown_id_is_a_clear_error(
    js: JetStreamContext, child_env: dict[str, str]
) -> None:
    code, _, err = await tousu(child_env, "dlq", "retry", "4242")
    assert code == 1
    assert "no dead letter 4242" in err


async def test_retry_all_replays_one_consumers_entries_only(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext, child_env: dict[str, str]
) -> None:
    routing, metrics = Fixable(), Fixable()
    events = [envelope(), envelope()]
    consumers = [Consumer("routing", routing), Consumer("metrics", metrics)]
    async with ConsumerHost(settings, consumers, store=store):
        for env in events:
            await publish(js, settings, env)
        await eventually(lambda: _entries(js, settings, 4), "4 dead letters")

        routing.fixed = True
        code, out, err = await tousu(child_env, "dlq", "retry", "--all", "routing")
        assert code == 0, err
        assert out.count("replayed event") == 2
        await eventually(lambda: _handled(store, "routing", 2), "routing replays handled")

    left = await dlq.list_entries(js, settings.naming)
    assert {e.consumer for e in left} == {"metrics"} and len(left) == 2


async def test_retrying_the_same_entry_twice_replays_once(
    settings: Settings, js: JetStreamContext
) -> None:
    """An interrupted retry run again: the replay is deduplicated by JetStream."""
    env = envelope()
    await js.publish(
        settings.naming.dlq("routing"),
        env.model_dump_json().encode(),
        headers={"Tousu-Error": '"RuntimeError: x"', "Nats-Msg-Id": "dead-1"},
        stream=settings.naming.dlq_stream,
    )
    [entry] = await dlq.list_entries(js, settings.naming)
    replay = await js.publish(
        settings.naming.dlq_retry("routing"),
        entry.payload,
        headers={"Nats-Msg-Id": f"retry:{entry.id}"},
        stream=settings.naming.dlq_stream,
    )
    result = await dlq.retry(js, settings.naming, entry.id)
    assert result.duplicate and result.replay_seq == replay.seq
    with pytest.raises(dlq.UnknownEntry):
        await dlq.retry(js, settings.naming, entry.id)


async def _has_effect(store: PostgresEventStore, env: Envelope) -> bool:
    return await effects(store, "routing", env) == 1


async def _handled(store: PostgresEventStore, consumer: str, count: int) -> bool:
    return await processed_rows(store, consumer) == count


async def _entries(js: JetStreamContext, settings: Settings, count: int) -> bool:
    return len(await dlq.list_entries(js, settings.naming)) == count


async def _dlq_stream_empty(js: JetStreamContext, settings: Settings) -> bool:
    info = await js.stream_info(settings.naming.dlq_stream)
    return info.state.messages == 0

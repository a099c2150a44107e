"""The relay against real PostgreSQL and NATS: order, exactly-once, resume, failover."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from tests.helpers import eventually
from tousu.services.relay import quarantine
from tousu.services.relay.leader import AdvisoryLeader
from tousu.services.relay.message import MSG_ID
from tousu.services.relay.publisher import Relay
from tousu.shared.events import Envelope, NewEvent, complaint_stream
from tousu.shared.naming import Naming
from tousu.shared.nats_setup import ensure_streams
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore
from tousu.shared.tasks import cancel_and_wait

REPO = Path(__file__).resolve().parents[2]
RELAY_SESSIONS = "tousu-relay pid=%"

pytestmark = pytest.mark.timeout(60)


# -- helpers ---------------------------------------------------------------------------


def new_events(count: int, department: str | None = None) -> list[NewEvent]:
    return [
        NewEvent(type="ProgressReported", data={"note": f"step {i}"}, department=department)
        for i in range(count)
    ]


async def append_complaint(store: PostgresEventStore, events: int, department: str) -> None:
    """One complaint's stream, appended a few events per transaction."""
    stream_id = complaint_stream(uuid.uuid4())
    version = 0
    while version < events:
        size = min(random.randint(1, 3), events - version)
        # Unrouted at first, then held by a department: both subject forms occur.
        chunk = new_events(size, department if version else None)
        await store.append(stream_id, version, chunk)
        version += len(chunk)


async def stored_in_commit_order(store: PostgresEventStore) -> list[Envelope]:
    events: list[Envelope] = []
    while page := await store.read_all(after=events[-1].global_position if events else 0):
        events.extend(page)
    return events


async def readable(store: PostgresEventStore, count: int) -> bool:
    """Whether read_all sees ``count`` events: a commit becomes readable only once
    every older transaction in the cluster (any database) has ended."""
    return len(await store.read_all(limit=count + 1)) == count


async def stored_count(store: PostgresEventStore) -> int:
    return int(await store.pool.fetchval("SELECT count(*) FROM events"))


async def message_count(js: JetStreamContext, naming: Naming) -> int:
    info = await js.stream_info(naming.events_stream)
    return int(info.state.messages)


async def stream_messages(
    js: JetStreamContext, naming: Naming
) -> list[tuple[str, dict[str, str], dict[str, object]]]:
    """Every message of the events stream in sequence order: subject, headers, payload."""
    expected = await message_count(js, naming)
    sub = await js.pull_subscribe(
        naming.all_events,
        stream=naming.events_stream,
        config=ConsumerConfig(
            ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=30
        ),
    )
    found: list[tuple[str, dict[str, str], dict[str, object]]] = []
    try:
        while len(found) < expected:
            for msg in await sub.fetch(batch=min(1000, expected - len(found)), timeout=5):
                found.append((msg.subject, dict(msg.headers or {}), json.loads(msg.data)))
    finally:
        await sub.unsubscribe()
    return found


def assert_published_exactly_once_in_order(
    stored: list[Envelope],
    messages: list[tuple[str, dict[str, str], dict[str, object]]],
    naming: Naming,
) -> None:
    ids = [headers[MSG_ID] for _, headers, _ in messages]
    assert len(ids) == len(set(ids)), "a Nats-Msg-Id occurs twice in the stream"
    assert len(messages) == len(stored)
    assert ids == [str(e.event_id) for e in stored], "stream order differs from commit order"
    for envelope, (subject, headers, payload) in zip(stored, messages, strict=True):
        assert subject == naming.event(envelope.department, envelope.type)
        assert payload["event_id"] == headers[MSG_ID]
        assert headers["Tousu-Global-Position"] == str(envelope.global_position)


async def relay_sessions(store: PostgresEventStore) -> tuple[str | None, set[str]]:
    """(the application_name holding the relay lock, every relay's lock session)."""
    rows = await store.pool.fetch(
        "SELECT a.application_name, l.granted FROM pg_stat_activity a "
        "LEFT JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' "
        "WHERE a.datname = current_database() AND a.application_name LIKE $1",
        RELAY_SESSIONS,
    )
    leader = next((r["application_name"] for r in rows if r["granted"]), None)
    return leader, {r["application_name"] for r in rows}


def session_of(process: subprocess.Popen[bytes]) -> str:
    return f"tousu-relay pid={process.pid}"


SpawnRelay = Callable[[], subprocess.Popen[bytes]]


@pytest.fixture
def spawn_relay(
    child_env: dict[str, str], tmp_path: Path, js: JetStreamContext
) -> Iterator[SpawnRelay]:
    """Starts `python -m tousu.services.relay` children; every one is killed at teardown.

    Depends on ``js`` so the children die before the streams are deleted.
    """
    env = dict(child_env, PYTHONPATH=os.pathsep.join([str(REPO), child_env.get("PYTHONPATH", "")]))
    children: list[subprocess.Popen[bytes]] = []

    def spawn() -> subprocess.Popen[bytes]:
        log = (tmp_path / f"relay-{len(children)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "tousu.services.relay"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        children.append(process)
        return process

    try:
        yield spawn
    finally:
        for process in children:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


# -- tests -----------------------------------------------------------------------------


async def test_relay_killed_mid_stream_publishes_every_event_once_in_commit_order(
    settings: Settings,
    store: PostgresEventStore,
    js: JetStreamContext,
    spawn_relay: SpawnRelay,
) -> None:
    naming = settings.naming
    stop = asyncio.Event()

    async def writer(department: str) -> None:
        while not stop.is_set():
            await append_complaint(store, 30, department)

    async def leader_is(process: subprocess.Popen[bytes]) -> bool:
        return (await relay_sessions(store))[0] == session_of(process)

    async def published_at_least(count: int) -> bool:
        return await message_count(js, naming) >= count

    first = spawn_relay()
    await eventually(lambda: leader_is(first), "the first relay to lead", 15)
    writers = asyncio.gather(*(writer(f"d{i % 3}") for i in range(6)))
    try:
        await eventually(lambda: published_at_least(500), "500 published events", 15)
        kill(first)
        killed_at = await message_count(js, naming)

        second = spawn_relay()  # the writers carry on while it starts
        await eventually(lambda: leader_is(second), "the second relay to lead", 15)
        await eventually(lambda: published_at_least(killed_at + 500), "500 more events", 15)
        kill(second)
        killed_again_at = await message_count(js, naming)

        spawn_relay()
        await eventually(lambda: published_at_least(killed_again_at + 200), "200 more", 15)

        async def enough_stored() -> bool:
            return await stored_count(store) >= 3000

        await eventually(enough_stored, "3000 stored events", 20)
        assert not writers.done(), "every kill happened while events were being appended"
    finally:
        stop.set()
        await writers
    total = await stored_count(store)

    async def all_published() -> bool:
        return await message_count(js, naming) == total

    await eventually(all_published, f"all {total} events on JetStream", 20)
    assert_published_exactly_once_in_order(
        await stored_in_commit_order(store), await stream_messages(js, naming), naming
    )
    print(f"\n{total} events; relays killed at {killed_at} and {killed_again_at} published")


async def test_standby_takes_over_within_five_seconds_of_the_leader_dying(
    settings: Settings,
    store: PostgresEventStore,
    js: JetStreamContext,
    spawn_relay: SpawnRelay,
) -> None:
    naming = settings.naming
    relays = {session_of(p): p for p in (spawn_relay(), spawn_relay())}

    async def one_leads_one_stands_by() -> bool:
        leader, sessions = await relay_sessions(store)
        return leader is not None and sessions == set(relays)

    await eventually(one_leads_one_stands_by, "a leader and a standby", 15)
    leader, _ = await relay_sessions(store)
    assert leader is not None

    async def published(count: int) -> bool:
        return await message_count(js, naming) == count

    await store.append(complaint_stream(uuid.uuid4()), 0, new_events(1))
    await eventually(lambda: published(1), "the leader to publish", 10)

    killed = time.monotonic()
    kill(relays[leader])
    await store.append(complaint_stream(uuid.uuid4()), 0, new_events(1))
    await eventually(lambda: published(2), "the standby to publish", 5)
    takeover = time.monotonic() - killed

    new_leader, _ = await relay_sessions(store)
    assert new_leader is not None and new_leader != leader
    assert_published_exactly_once_in_order(
        await stored_in_commit_order(store), await stream_messages(js, naming), naming
    )
    print(f"\nstandby published {takeover:.2f}s after the leader was killed")


async def test_restart_resumes_after_the_stream_tail_not_the_stale_checkpoint(
    settings: Settings,
    store: PostgresEventStore,
    js: JetStreamContext,
    nats_client: NatsClient,
) -> None:
    naming = settings.naming
    for department in (None, "d1", "d2"):
        await store.append(complaint_stream(uuid.uuid4()), 0, new_events(40, department))
    await eventually(lambda: readable(store, 120), "120 readable events", 10)
    first = Relay(store, nats_client, naming, batch_size=50)
    assert await first.run_until_caught_up() == 120
    assert first.stats.published == 120

    # As if killed after the PubAcks but before the checkpoint, long enough
    # ago that JetStream's duplicate window would no longer drop a resend.
    await store.set_checkpoint("relay", 0)
    restarted = Relay(store, nats_client, naming, batch_size=50)
    point = await restarted.resume()
    assert point.source == "stream"
    assert point.after == first.stats.last_position
    assert await store.get_checkpoint("relay") == point.after

    assert await restarted.run_until_caught_up() == 0
    await store.append(complaint_stream(uuid.uuid4()), 0, new_events(10, "d1"))
    await eventually(lambda: readable(store, 130), "130 readable events", 10)
    assert await restarted.run_until_caught_up() == 10
    assert (restarted.stats.published, restarted.stats.duplicates) == (10, 0)
    assert_published_exactly_once_in_order(
        await stored_in_commit_order(store), await stream_messages(js, naming), naming
    )


async def test_leader_that_loses_its_database_session_stops_and_a_standby_takes_over(
    settings: Settings,
    store: PostgresEventStore,
    js: JetStreamContext,
    nats_client: NatsClient,
) -> None:
    naming = settings.naming
    assert settings.database_url is not None
    leaders = [
        AdvisoryLeader(settings.database_url, retry_interval=0.1, name=f"tousu-relay pid={n}")
        for n in ("a", "b")
    ]
    relays = [Relay(store, nats_client, naming, idle_recheck=0.5) for _ in leaders]
    terms: list[str] = []

    async def serve(index: int) -> None:
        async with leaders[index].lead() as lease:
            terms.append(leaders[index].name)
            await lease.hold(relays[index].run())

    first = asyncio.create_task(serve(0))
    await eventually(lambda: bool(terms), "the first leader", 10)
    second = asyncio.create_task(serve(1))
    try:
        await store.append(complaint_stream(uuid.uuid4()), 0, new_events(5))
        await eventually(lambda: relays[0].stats.published == 5, "first publishes", 10)

        await store.pool.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            leaders[0].name,
        )
        # Lost leadership ends the term at once: the relay is cancelled, not drained.
        await asyncio.wait_for(first, 2)
        await eventually(lambda: len(terms) == 2, "the standby to lead", 5)
        await store.append(complaint_stream(uuid.uuid4()), 0, new_events(3, "d1"))
        await eventually(lambda: relays[1].stats.published == 3, "second publishes", 10)
        assert relays[0].stats.published == 5
        assert relays[1].stats.duplicates == 0
    finally:
        for task in (first, second):
            task.cancel()
        await asyncio.gather(first, second, return_exceptions=True)
    assert terms == [leaders[0].name, leaders[1].name]
    assert_published_exactly_once_in_order(
        await stored_in_commit_order(store), await stream_messages(js, naming), naming
    )


async def test_a_foreign_message_in_the_stream_makes_the_relay_resync_not_reorder(
    settings: Settings,
    store: PostgresEventStore,
    js: JetStreamContext,
    nats_client: NatsClient,
) -> None:
    naming = settings.naming
    relay = Relay(store, nats_client, naming, batch_size=20, idle_recheck=0.5)
    running = asyncio.create_task(relay.run())
    try:
        await store.append(complaint_stream(uuid.uuid4()), 0, new_events(30))
        await eventually(lambda: relay.stats.published == 30, "30 published", 10)
        # Someone else publishes into the stream: the relay's expected sequence
        # no longer matches, and it must resync instead of guessing.
        await js.publish(naming.event(None, "Foreign"), b"{}", headers={MSG_ID: "foreign"})
        await store.append(complaint_stream(uuid.uuid4()), 0, new_events(30, "d1"))
        await eventually(lambda: relay.stats.published == 60, "60 published", 10)
        assert relay.stats.failures >= 1
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    messages = [m for m in await stream_messages(js, naming) if m[1][MSG_ID] != "foreign"]
    assert_published_exactly_once_in_order(await stored_in_commit_order(store), messages, naming)


async def test_relay_rides_out_a_nats_server_restart_mid_stream(
    settings: Settings, store: PostgresEventStore, tmp_path: Path
) -> None:
    naming = settings.naming
    server = PrivateNats(tmp_path / "nats")
    server.start()
    nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.05)
    relay = Relay(store, nc, naming, batch_size=100, ack_timeout=1.0, backoff_max=0.5)
    stop = asyncio.Event()

    async def writer(department: str) -> None:
        while not stop.is_set():
            await append_complaint(store, 20, department)

    js = nc.jetstream()
    await ensure_streams(js, naming)
    running = asyncio.create_task(relay.run())
    writers = asyncio.gather(*(writer(f"d{i}") for i in range(4)))
    try:
        await eventually(lambda: relay.stats.published >= 500, "500 published", 10)
        # Publishes and acks in flight are lost with the connection (and
        # whatever the server had not written out yet).
        await asyncio.to_thread(server.crash_and_restart)
        restarted_at = relay.stats.published
        await eventually(lambda: relay.stats.published >= restarted_at + 500, "500 more", 20)
        stop.set()
        await writers
        total = await stored_count(store)

        async def all_published() -> bool:
            return await message_count(js, naming) == total

        await eventually(all_published, f"all {total} events on JetStream", 20)
        assert_published_exactly_once_in_order(
            await stored_in_commit_order(store), await stream_messages(js, naming), naming
        )
        # An outage is waited out, never mistaken for an event's fault.
        assert relay.stats.quarantined == 0
        assert await quarantine.open_count(store.pool) == 0
        print(f"\nNATS restarted at {restarted_at} published of {total}; {relay.stats}")
    finally:
        stop.set()
        running.cancel()
        await asyncio.gather(running, writers, return_exceptions=True)
        await nc.close()
        server.stop()


async def test_relay_process_stops_cleanly_on_sigterm(
    store: PostgresEventStore, spawn_relay: SpawnRelay
) -> None:
    relay = spawn_relay()

    async def leads() -> bool:
        return (await relay_sessions(store))[0] == session_of(relay)

    await eventually(leads, "the relay to lead", 15)
    relay.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(relay.wait, 10) == 0

    async def lock_freed() -> bool:
        return (await relay_sessions(store))[0] is None

    await eventually(lock_freed, "the lock to be freed", 5)


# -- small plumbing --------------------------------------------------------------------


class PrivateNats:
    """A nats-server of the test's own, so the test may stop and restart it."""

    def __init__(self, store_dir: Path) -> None:
        self._store_dir = store_dir
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self._port = probe.getsockname()[1]
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self._port}"

    def start(self) -> None:
        binary = Path(sys.executable).with_name("nats-server")
        command = str(binary) if binary.is_file() else shutil.which("nats-server")
        if command is None:
            pytest.skip("no nats-server binary")
        self._process = subprocess.Popen(
            [command, "-a", "127.0.0.1", "-p", str(self._port), "-js", "-sd", str(self._store_dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not _accepts(self._port):
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise AssertionError("private nats-server did not start")
            time.sleep(0.02)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(sig)
            self._process.wait(timeout=10)
        self._process = None

    def crash_and_restart(self) -> None:
        self.stop(signal.SIGKILL)
        self.start()


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.2):
            return True
    except OSError:
        return False


async def test_the_checkpoint_is_written_once_an_interval_not_with_every_batch(
    settings: Settings,
    store: PostgresEventStore,
    js: JetStreamContext,
    nats_client: NatsClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A trickle of commits is a batch each: a checkpoint write each was a write
    transaction per commit. Within the interval the batches go out without
    one; once the relay has had nothing more to publish for the interval, the
    checkpoint it left behind is written (and the lag read from it is 0)."""
    naming = settings.naming
    writes: list[int] = []
    set_checkpoint = store.set_checkpoint

    async def counted(name: str, position: int) -> None:
        writes.append(position)
        await set_checkpoint(name, position)

    monkeypatch.setattr(store, "set_checkpoint", counted)
    interval = 2.0
    relay = Relay(store, nats_client, naming, checkpoint_interval=interval, idle_recheck=0.2)
    task = asyncio.create_task(relay.run())
    try:
        started = time.monotonic()
        for n in range(1, 11):  # ten commits, each published as its own batch
            await store.append(complaint_stream(uuid.uuid4()), 0, new_events(1))

            async def published(n: int = n) -> bool:
                return relay.stats.published == n

            await eventually(published, f"{n} published")
        # One an interval at most (the ten would each have had one).
        assert len(writes) <= 1 + (time.monotonic() - started) // interval < 10
        last = relay.stats.last_position

        async def written() -> bool:
            return await store.get_checkpoint("relay") == last

        await eventually(written, "the checkpoint written once idle", timeout=10)
        assert writes[-1] == last
    finally:
        await cancel_and_wait(task)
    assert_published_exactly_once_in_order(
        await stored_in_commit_order(store), await stream_messages(js, naming), naming
    )


async def test_with_nothing_ever_set_aside_the_relay_does_not_ask_the_quarantine_each_batch(
    settings: Settings,
    store: PostgresEventStore,
    js: JetStreamContext,
    nats_client: NatsClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[int] = []
    handled_among = quarantine.handled_among

    async def counted(db: object, event_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        asked.append(len(event_ids))
        return await handled_among(db, event_ids)  # type: ignore[arg-type]

    monkeypatch.setattr(quarantine, "handled_among", counted)
    for _ in range(3):
        await store.append(complaint_stream(uuid.uuid4()), 0, new_events(5))
    await eventually(lambda: readable(store, 15), "15 readable events", 10)
    relay = Relay(store, nats_client, settings.naming, batch_size=5)
    assert await relay.run_until_caught_up() == 15
    assert asked == []
    assert_published_exactly_once_in_order(
        await stored_in_commit_order(store),
        await stream_messages(js, settings.naming),
        settings.naming,
    )

"""Two processes of each service that consumes (intake, routing, followup) and
two relays, under a stream of submissions; the relay leader is killed half-way.

The replicas of a service share its durable consumer: each takes part of the
work, and no complaint is registered, routed or given a notice twice. The
relay's standby takes over (that it does so within 5 s is
tests/integration/test_relay.py's) and every event is still published once,
in commit order. The metrics service's replicas take turns rather than split
(an advisory lock per projection) and are tested in test_watcher_replicas.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext

from tests.helpers import eventually
from tests.integration.test_relay import (
    assert_published_exactly_once_in_order,
    kill,
    message_count,
    relay_sessions,
    session_of,
    stored_in_commit_order,
    stream_messages,
)
from tests.processes import request, spawn, stop_all
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

COMPLAINTS = 20
# What each replica logs once per unit of work it did.
WORK_LOGGED = {
    "intake": "submission registered",
    "routing": "routed",
    "followup": "notice enqueued",
}


def _submission(n: int) -> bytes:
    return json.dumps(
        {
            "channel": "phone",
            "external_ref": f"call-{n}",
            "complainant": {"phone": f"1390000{n:04d}"},
            "subject": "小区停水未通知",
            "description": "小区连续两天停水，供水公司未提前公告。",
            "category": "service_quality",
        }
    ).encode()


def _work_done(folder: Path, service: str) -> int:
    lines = (folder / f"{service}.log").read_text(errors="replace").splitlines()
    return sum(1 for line in lines if line.startswith("{") and _event(line) == WORK_LOGGED[service])


def _event(line: str) -> Any:
    try:
        return json.loads(line).get("event")
    except ValueError:
        return None


async def _both_answer(
    client: NatsClient, settings: Settings, service: str, pids: set[int]
) -> None:
    seen: set[int] = set()

    async def answered_by_both() -> bool:
        try:
            reply = await request(client, settings.naming.command(service, "ping"), {}, timeout=1)
        except (NoRespondersError, NatsTimeout):
            return False  # still starting
        seen.add(reply["result"]["pid"])
        return seen == pids

    await eventually(answered_by_both, f"both {service} replicas to answer", 60)


async def test_two_replicas_of_each_service_split_the_work_and_handle_each_complaint_once(
    settings: Settings,
    child_env: dict[str, str],
    nats_client: NatsClient,
    js: JetStreamContext,
    store: PostgresEventStore,
    tmp_path: Path,
) -> None:
    env = child_env | {"TOUSU_AUTO_ACCEPT": "1"}
    folders: dict[str, Path] = {}
    procs = {}
    for service in (*WORK_LOGGED, "relay"):
        for replica in ("a", "b"):
            name = f"{service}-{replica}"
            folders[name] = tmp_path / name
            folders[name].mkdir()
            procs[name] = spawn(service, env, folders[name])
    try:
        for service in WORK_LOGGED:
            pids = {procs[f"{service}-{r}"].pid for r in "ab"}
            await _both_answer(nats_client, settings, service, pids)
        relays = {session_of(procs[f"relay-{r}"]): procs[f"relay-{r}"] for r in "ab"}

        async def one_leads_one_stands_by() -> bool:
            leader, sessions = await relay_sessions(store)
            return leader is not None and sessions == set(relays)

        await eventually(one_leads_one_stands_by, "a relay leader and a standby", 30)
        leader, _ = await relay_sessions(store)
        assert leader is not None

        started = time.monotonic()
        for n in range(COMPLAINTS):
            if n == COMPLAINTS // 2:
                kill(relays[leader])
            await js.publish(
                settings.naming.intake("phone"),
                _submission(n),
                headers={"Nats-Msg-Id": f"phone:{n}"},
            )
            # A steady trickle, as load arrives: each replica is fetching while
            # the other is busy (a single burst could go to one fetch).
            await asyncio.sleep(0.05)

        async def all_routed() -> bool:
            count = await store.pool.fetchval(
                "SELECT count(*) FROM events WHERE type = 'ComplaintRouted'"
            )
            return bool(count == COMPLAINTS)

        await eventually(all_routed, "every complaint routed", 90)
        print(f"\n{COMPLAINTS} complaints routed {time.monotonic() - started:.1f}s after the first")

        per_stream = await store.pool.fetch(
            "SELECT stream_id, type, count(*) AS n FROM events GROUP BY stream_id, type"
        )
        counts = Counter((r["type"], r["n"]) for r in per_stream)
        assert counts == Counter(
            {
                ("ComplaintReceived", 1): COMPLAINTS,
                ("ComplaintAccepted", 1): COMPLAINTS,
                ("ComplaintRouted", 1): COMPLAINTS,
            }
        ), counts

        async def notices_enqueued() -> bool:
            rows = await store.pool.fetch(
                "SELECT complaint_id, channel, count(*) AS n FROM notifications "
                "WHERE kind = 'acceptance' GROUP BY complaint_id, channel"
            )
            assert all(r["n"] == 1 for r in rows), "a notice enqueued twice"
            return len({r["complaint_id"] for r in rows}) == COMPLAINTS

        await eventually(notices_enqueued, "an acceptance notice for every complaint", 30)

        stored = await stored_in_commit_order(store)

        async def all_published() -> bool:
            return await message_count(js, settings.naming) == len(stored)

        await eventually(all_published, "the standby to publish every event", 30)
        assert_published_exactly_once_in_order(
            stored,
            await stream_messages(js, settings.naming),
            settings.naming,
        )
        new_leader, _ = await relay_sessions(store)
        assert new_leader is not None and new_leader != leader

        for service in WORK_LOGGED:
            done = {r: _work_done(folders[f"{service}-{r}"], service) for r in "ab"}
            print(f"{service}: {done}")
            assert sum(done.values()) == COMPLAINTS, (service, done)
            assert all(done.values()), f"one {service} replica did all the work: {done}"
    finally:
        stop_all(procs.values())

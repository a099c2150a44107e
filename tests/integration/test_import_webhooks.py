"""Imported history and department webhooks: `tousu import` stores an earlier
system's cases, routed to departments with a webhook; the followup consumer
``webhooks`` queues nothing for them (years of finished cases would flood the
department's system), while a case routed live is delivered as always.
``tousu webhooks replay`` leaves them out too, unless asked to include them.

The relay, the consumer and the dispatcher run in this process against local
receivers, as in test_webhooks.py (whose fixtures these are)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from nats.js import JetStreamContext

from bench.webhooks_receiver import Receiver
from tests.helpers import eventually
from tests.integration.test_import import admin, generate, mapping, write_csv  # noqa: F401
from tests.integration.test_webhooks import (  # noqa: F401  (receivers, running: the fixtures)
    _settled,
    configure,
    events_of,
    expected,
    receivers,
    routed_cases,
    running,
    stored,
)
from tousu.cli.import_cmds import import_file
from tousu.importer.mapping import Mapping
from tousu.services.followup.webhooks import deliveries
from tousu.services.followup.webhooks.payload import target
from tousu.shared.calendar import TZ
from tousu.shared.domain.imports import imported_versions
from tousu.shared.events import Envelope
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore


async def imported_events(store: PostgresEventStore, department: str) -> list[Envelope]:
    """The department's events that the import stored (their marks say so)."""
    events = await stored(store)
    streams: dict[str, list[Envelope]] = {}
    for e in events:
        streams.setdefault(e.stream_id, []).append(e)
    return [
        e
        for e in events
        if target(e) == department and e.version in imported_versions(streams[e.stream_id])
    ]


@pytest.mark.usefixtures("running")
async def test_imported_cases_reach_no_webhook_a_live_one_does(
    tmp_path: Path,
    mapping: Mapping,  # noqa: F811
    store: PostgresEventStore,
    pool: asyncpg.Pool,
    database_url: str,
    admin: str,  # noqa: F811
    receivers: dict[str, Receiver],  # noqa: F811
    settings: Settings,
    js: JetStreamContext,
) -> None:
    await configure(pool, receivers)
    rows, _ = generate(40, seed=11)
    summary = await import_file(
        write_csv(tmp_path / "old.csv", rows), mapping, url=database_url, username=admin
    )
    assert summary.imported > 30
    imported = {d: await imported_events(store, d) for d in receivers}
    # Routed to water and transport, closed, ...: what a live consumer would send.
    assert len(imported["water"]) >= 3 and len(imported["transport"]) >= 3
    assert {e.type for e in imported["water"]} >= {"ComplaintRouted", "ComplaintClosed"}

    # Then a case routed live, after them on the events stream.
    await routed_cases(store, 1)
    live = {
        d: [i for i in await expected(store, d) if i not in _ids(imported[d])] for d in receivers
    }
    assert (len(live["water"]), len(live["transport"])) == (4, 1)
    for department, receiver in receivers.items():
        owed = len(live[department])
        await eventually(lambda r=receiver, n=owed: len(r.received) >= n, f"{department}'s")
    # Every event handled, the imported ones (published before) included.
    await eventually(lambda: _settled(js, settings), "the consumer to have handled everything")
    for department, receiver in receivers.items():
        assert events_of(receiver) == live[department]  # the live case's, nothing imported
    queued = await pool.fetchval("SELECT count(*) FROM webhook_deliveries")
    assert queued == len(live["water"]) + len(live["transport"])

    # A replay from before the import leaves the imported history out ...
    since = datetime.now(TZ) - timedelta(hours=1)
    async with pool.acquire() as conn:
        plain = await deliveries.replay_report(conn, "water", since=since)
    assert (plain.queued, plain.imported_left_out) == (4, len(imported["water"]))
    # ... unless asked: a department loading its history once.
    async with pool.acquire() as conn:
        full = await deliveries.replay_report(conn, "water", since=since, include_imported=True)
    assert (full.queued, full.imported_left_out) == (4 + len(imported["water"]), 0)
    water = receivers["water"]
    total = 4 + plain.queued + full.queued
    await eventually(lambda: len(water.received) >= total, "the replays")
    replayed = [json.loads(r.body) for r in water.received[4:]]
    assert all(d["replay"] for d in replayed)
    # (Both queued before either was sent: they go out in position order together.)
    sent_again = sorted(d["event"]["event_id"] for d in replayed)
    assert sent_again == sorted([*live["water"], *live["water"], *_ids(imported["water"])])
    assert len(receivers["transport"].received) == 1


def _ids(events: list[Envelope]) -> list[str]:
    return [str(e.event_id) for e in events]

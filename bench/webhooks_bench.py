"""Webhook delivery latency at routine load (`tousu bench webhooks`).

The relay and the followup service run as their own processes, as deployed; a
department's receiver listens in this process. Complaints are registered,
accepted and routed here, through the domain onto the store, at a steady rate
(5 a second by default, for 60 s); for each routed case the run measures

- ``webhook``: the ``ComplaintRouted`` event stored (its ``recorded_at``) →
  the receiver has the signed POST: relay, JetStream, the followup consumer
  ``webhooks``, the delivery row, the dispatcher's POST;
- ``relay`` (the baseline, same events, same run): stored → the relay's
  message arrives at a plain NATS subscriber in this process.

The difference is what webhooks add on top of the event bus. Every delivery's
signature is checked, and each event must arrive exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nats.js.errors import NotFoundError

from bench.fleet import Fleet, logged_errors
from bench.scratch import Scratch
from bench.webhooks_receiver import Receiver
from tousu.services.followup.webhooks import endpoints, signing
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.domain import commands as c
from tousu.shared.domain.context import DecisionContext
from tousu.shared.events import Actor, Envelope
from tousu.shared.events.types import Channel, Complainant
from tousu.shared.nats_setup import connect, ensure_streams
from tousu.shared.store.postgres import PostgresEventStore

REPO = Path(__file__).resolve().parents[1]
OPERATOR = Actor(id="bench-op", role="operator")
STARTUP_TIMEOUT = 90.0
DRAIN_TIMEOUT = 60.0


@contextmanager
def _environ(**values: str) -> Iterator[None]:
    # The secret is sealed here with the key the followup process opens it with.
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _child_env(space: Scratch, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TOUSU_DATABASE_URL=space.database_url,
        TOUSU_NATS_URL=space.nats_url,
        TOUSU_SUBJECT_ROOT=space.naming.root,
        TOUSU_DATA_DIR=str(data_dir),
        TOUSU_LOG_FORMAT="json",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    return env


def _percentiles(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {
        "n": len(ordered),
        "p50_ms": pick(0.50),
        "p90_ms": pick(0.90),
        "p99_ms": pick(0.99),
        "max_ms": round(ordered[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
    }


async def _wait_for_consumer(space: Scratch, fleet: Fleet) -> None:
    """Until followup's durable ``webhooks`` exists: the service is consuming."""
    nc = await connect(space.nats_url, name="tousu-bench-webhooks-wait")
    deadline = time.monotonic() + STARTUP_TIMEOUT
    try:
        js = nc.jetstream()
        while True:
            fleet._check_alive()
            try:
                await js.consumer_info(space.naming.events_stream, "webhooks")
                return
            except NotFoundError:
                if time.monotonic() > deadline:
                    raise TimeoutError("followup never started its webhooks consumer") from None
                await asyncio.sleep(0.2)
    finally:
        await nc.close()


async def run_webhooks_bench(
    space: Scratch, quick: bool, rate: float = 5.0, duration: float | None = None
) -> dict[str, Any]:
    duration = duration if duration is not None else (5.0 if quick else 60.0)
    with tempfile.TemporaryDirectory(prefix="tousu-webhooks-") as folder:
        data_dir = Path(folder)
        with _environ(TOUSU_DATA_DIR=str(data_dir)):
            return await _run(space, data_dir, rate, duration)


async def _run(space: Scratch, data_dir: Path, rate: float, duration: float) -> dict[str, Any]:
    store = await PostgresEventStore.connect(space.database_url, min_size=2, max_size=4)
    nc = await connect(space.nats_url, name="tousu-bench-webhooks")
    fleet = Fleet(_child_env(space, data_dir), data_dir)
    relayed: dict[str, float] = {}
    receiver = await Receiver().start()
    try:
        await ensure_streams(nc.jetstream(), space.naming)
        secret = await endpoints.add(store.pool, "water", receiver.url)

        async def on_routed(msg: Any) -> None:
            relayed[json.loads(msg.data)["event_id"]] = time.time()

        sub = await nc.subscribe(space.naming.event("water", "ComplaintRouted"), cb=on_routed)
        fleet.spawn("relay")
        fleet.spawn("followup")
        await _wait_for_consumer(space, fleet)

        calendar = WorkdayCalendar()
        executor = CommandExecutor(
            store, lambda: DecisionContext(calendar=calendar, now=datetime.now(UTC))
        )
        routed: list[Envelope] = []
        started = time.monotonic()
        cpu_before = fleet.cpu_seconds()
        total = int(rate * duration)
        for n in range(total):
            # A steady rate: each case at its own instant, not as fast as possible.
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            routed.append(await _routed_case(executor, n))
        generated_s = time.monotonic() - started
        ids = {str(e.event_id) for e in routed}
        await receiver.wait_for(len(routed), DRAIN_TIMEOUT)
        cpu = {k: round(v - cpu_before.get(k, 0.0), 2) for k, v in fleet.cpu_seconds().items()}
        errors = logged_errors(data_dir)
        await sub.unsubscribe()
    finally:
        fleet.stop()
        await receiver.down()
        await nc.close()
        await store.close()

    stored_at = {str(e.event_id): e.recorded_at.timestamp() for e in routed}
    got: dict[str, float] = {}
    bad_signatures = duplicates = 0
    for r in receiver.received:
        event_id = json.loads(r.body)["event"]["event_id"]
        ok = signing.verify(
            secret,
            r.body,
            r.headers["tousu-webhook-timestamp"],
            r.headers["tousu-webhook-signature"],
        )
        bad_signatures += not ok
        if event_id in got:
            duplicates += 1
        got.setdefault(event_id, r.at)
    webhook = [got[i] - stored_at[i] for i in ids if i in got]
    relay = [relayed[i] - stored_at[i] for i in ids if i in relayed]
    return {
        "rate_per_s": rate,
        "seconds": round(generated_s, 1),
        "routed": len(routed),
        "delivered": len(got.keys() & ids),
        "duplicates": duplicates,
        "bad_signatures": bad_signatures,
        "webhook_latency": _percentiles(webhook),
        "baseline_relay_latency": _percentiles(relay),
        "cpu_s": cpu,
        "errors_logged": errors,
    }


async def _routed_case(executor: CommandExecutor, n: int) -> Envelope:
    cid = uuid.uuid4()
    await executor.execute(
        cid,
        c.SubmitComplaint(
            actor=OPERATOR,
            occurred_at=datetime.now(UTC),
            channel=Channel.PHONE,
            tracking_no=f"TB{n:06d}",
            complainant=Complainant(name="压测", phone="13900000000"),
            subject="停水未通知",
            description="小区停水，未提前公告。",
        ),
    )
    await executor.execute(
        cid,
        c.AcceptComplaint(
            actor=OPERATOR, occurred_at=datetime.now(UTC), category="service_quality"
        ),
    )
    outcome = await executor.execute(
        cid, c.RouteComplaint(actor=OPERATOR, occurred_at=datetime.now(UTC), department="water")
    )
    [routed] = [e for e in outcome.events if e.type == "ComplaintRouted"]
    return routed


async def main() -> None:  # `python -m bench.webhooks_bench`, beside `tousu bench webhooks`
    from bench.scratch import scratch
    from tousu.connect import database_url, nats_url
    from tousu.shared.settings import load_settings

    settings = load_settings()
    async with scratch(database_url(settings), nats_url(settings)) as space:
        print(json.dumps(await run_webhooks_bench(space, quick=False), indent=2))


if __name__ == "__main__":
    asyncio.run(main())

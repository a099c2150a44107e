"""Metrics, liveness and readiness of real service and relay processes."""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from tests.domain_kit import ReplayExecutor
from tests.helpers import eventually
from tests.lifecycle import register
from tests.processes import request, spawn, stop, wait_until_answering
from tests.scrape import endpoint_url, sample, value
from tousu.shared.calendar import TZ
from tousu.shared.events import NewEvent, complaint_stream
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

pytestmark = pytest.mark.timeout(90)

PROCESSED = "faststream_received_processed_messages_total"
DURATION_COUNT = "faststream_received_processed_messages_duration_seconds_count"


@contextlib.asynccontextmanager
async def serving(
    name: str, env: dict[str, str], logs: Path
) -> AsyncIterator[tuple[subprocess.Popen[bytes], httpx.AsyncClient]]:
    """``tousu service <name>`` with its metrics endpoint on a free port, and a
    client of that endpoint. A failed wait shows what the process logged last."""
    proc = spawn(name, env | {"TOUSU_METRICS_PORT": "0"}, logs)
    log = logs / f"{name}.log"
    try:
        async with httpx.AsyncClient(base_url=await endpoint_url(log), timeout=10) as http:
            yield proc, http
    except AssertionError as exc:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise AssertionError(f"{exc}\n--- last lines of {log.name} ---\n{tail}") from exc
    finally:
        stop(proc)


@pytest.mark.off_contract(
    "{root}.events._.ComplaintAccepted", reason="not an event, for the consumer to dead-letter"
)
async def test_a_service_counts_what_it_handles_and_reports_its_lag(
    settings: Settings,
    child_env: dict[str, str],
    nats_client: NatsClient,
    js: JetStreamContext,
    tmp_path: Path,
) -> None:
    naming = settings.naming
    async with serving("routing", child_env, tmp_path) as (proc, http):

        async def scraped() -> str:
            return (await http.get("/metrics")).text

        async def ready() -> bool:
            return (await http.get("/readyz")).status_code == 200

        assert (await http.get("/healthz")).status_code == 200
        await eventually(ready, "routing to be ready", timeout=30)
        assert (await http.get("/readyz")).json()["checks"] == {"database": "ok", "nats": "ok"}

        ping = naming.command("routing", "ping")
        await wait_until_answering(nats_client, naming, "routing", time.monotonic() + 30)
        before = value(await scraped(), PROCESSED, handler=ping)
        for _ in range(3):
            await request(nats_client, ping, {})
        # Not an event: the routing consumer dead-letters it at once.
        garbage = naming.event(None, "ComplaintAccepted")
        await js.publish(garbage, b"not an event")

        async def dead_lettered() -> bool:
            return value(await scraped(), PROCESSED, handler=garbage, status="rejected") == 1

        await eventually(dead_lettered, "the malformed event counted as rejected")
        text = await scraped()
        labels = {"app_name": "routing", "handler": ping}
        assert value(text, PROCESSED, status="acked", **labels) - before == 3
        assert value(text, DURATION_COUNT, **labels) >= 3
        assert value(text, PROCESSED, handler=garbage, status="acked") == 0

        async def caught_up() -> bool:
            lag = {"stream": naming.events_stream, "consumer": "routing"}
            return sample(await scraped(), "tousu_consumer_lag_messages", **lag) == 0

        await eventually(caught_up, "routing's consumer lag to read 0")
        assert sample(await scraped(), "tousu_scrape_errors_total", source="consumer_lag") == 0
        assert stop(proc) == 0


async def test_the_relay_reports_its_lag_and_what_it_published(
    settings: Settings,
    child_env: dict[str, str],
    store: PostgresEventStore,
    js: JetStreamContext,
    tmp_path: Path,
) -> None:
    events = [NewEvent(type="ProgressReported", data={"progress": f"{i}"}) for i in range(4)]
    await store.append(complaint_stream(uuid.uuid4()), 0, events)
    async with serving("relay", child_env, tmp_path) as (proc, http):

        async def published() -> bool:
            text = (await http.get("/metrics")).text
            return (
                value(text, "tousu_relay_published_events_total") == 4
                and value(text, "tousu_relay_lag_events") == 0
                and value(text, "tousu_relay_leader") == 1
            )

        await eventually(published, "the relay to publish all 4 events", timeout=30)
        text = (await http.get("/metrics")).text
        assert sample(text, "tousu_scrape_errors_total", source="relay_lag") == 0
        assert (await http.get("/readyz")).status_code == 200
        assert stop(proc) == 0


async def test_the_metrics_service_counts_overdue_cases(
    settings: Settings, child_env: dict[str, str], store: PostgresEventStore, tmp_path: Path
) -> None:
    executor = ReplayExecutor(store)
    # Received Mon 2026-09-14, never decided: acceptance was due Wed 09-16.
    await register(executor, datetime(2026, 9, 14, 9, tzinfo=TZ), 1)
    async with serving("metrics", child_env, tmp_path) as (_proc, http):

        async def counted() -> bool:
            text = (await http.get("/metrics")).text
            return value(text, "tousu_overdue_cases", department="_") == 1

        # The case reaches case_view through the live projection first.
        await eventually(counted, "the undecided complaint counted overdue", timeout=30)

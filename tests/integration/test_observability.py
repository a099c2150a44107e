"""The figures behind /metrics, read as Prometheus reads them, in-process against
real PostgreSQL and NATS; and the Grafana dashboard's queries against them."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from prometheus_client import CollectorRegistry, generate_latest
from starlette.types import ASGIApp

from tests.helpers import eventually
from tests.integration.conftest import at
from tests.integration.test_consumer import Flaky, envelope, publish
from tests.scrape import sample, series_names, value
from tousu.services.gateway.app import create_app
from tousu.services.metrics.overdue_gauge import OverdueCases
from tousu.services.relay.metrics import RelayActivity, RelayLag, RelayQuarantine
from tousu.services.relay.publisher import Relay, RelayStats
from tousu.shared.consumer import Consumer, ConsumerHost
from tousu.shared.events import Envelope, NewEvent, complaint_stream
from tousu.shared.group_commit import GroupCommit
from tousu.shared.observability import database_check, process_registry, serve_endpoint
from tousu.shared.observability.consumer_lag import ConsumerLag
from tousu.shared.observability.endpoint import endpoint_app
from tousu.shared.service import build_broker
from tousu.shared.settings import Settings
from tousu.shared.store import UnitOfWork
from tousu.shared.store.postgres import PostgresEventStore

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "tousu.json"


def scrape(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def client(app: ASGIApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://obs.test")


async def test_consumer_retries_and_dead_letters_count_as_errors(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext
) -> None:
    registry = process_registry()
    broker = build_broker(settings, "probe", registry)
    consumer = Consumer("probe", Flaky("probe", failures=1))
    async with ConsumerHost(
        settings, [consumer], broker=broker, store=store, registry=registry, app_name="probe"
    ):
        await publish(js, settings, envelope())  # fails once, then is handled
        await js.publish(settings.naming.event(None, "ComplaintReceived"), b"{not json")

        def settled() -> bool:
            text = scrape(registry)
            statuses = {
                status: value(text, "faststream_received_processed_messages_total", status=status)
                for status in ("acked", "nacked", "rejected")
            }
            return statuses == {"acked": 1, "nacked": 1, "rejected": 1}

        await eventually(settled, "one retry, one success, one dead letter counted")


async def test_group_commit_reports_batch_sizes_and_batches_done_again(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext
) -> None:
    registry = process_registry()
    events = [envelope() for _ in range(20)]
    bad = events[7]

    async def handle(env: Envelope, uow: UnitOfWork) -> None:
        if env.event_id == bad.event_id:
            raise RuntimeError("this one is broken")

    for env in events:  # waiting before the consumer starts: fetched together
        await publish(js, settings, env)
    host = ConsumerHost(settings, [Consumer("probe", handle)], store=store, registry=registry)
    async with host:
        labels = {"batch": "consumer:probe"}

        def counted() -> bool:
            # Every event once in a batch, and the broken one's retries alone.
            sizes = value(scrape(registry), "tousu_group_commit_batch_size_sum", **labels)
            return sizes >= len(events) + 1

        await eventually(counted, "the batches and a retry to be counted")
        text = scrape(registry)
    batches = value(text, "tousu_group_commit_batch_size_count", **labels)
    items = value(text, "tousu_group_commit_batch_size_sum", **labels)
    assert batches < items  # some were batched
    assert value(text, "tousu_group_commit_redone_batches_total", **labels) >= 1


async def test_relay_lag_counts_stored_events_until_published(
    settings: Settings, store: PostgresEventStore, nats_client: NatsClient, js: JetStreamContext
) -> None:
    registry = CollectorRegistry()
    lag = RelayLag(registry, store.pool)
    events = [NewEvent(type="ProgressReported", data={"note": str(i)}) for i in range(3)]
    await store.append(complaint_stream(uuid.uuid4()), 0, events)
    await lag.refresh()
    assert value(scrape(registry), "tousu_relay_lag_events") == 3

    relay = Relay(store, nats_client, settings.naming)

    async def published() -> bool:
        await relay.run_until_caught_up()
        await lag.refresh()
        return value(scrape(registry), "tousu_relay_lag_events") == 0

    try:
        await eventually(published, "the relay lag to reach 0")
    finally:
        await relay.close()
    assert relay.stats.published == 3


async def test_overdue_cases_by_department(
    store: PostgresEventStore, cases: dict[str, uuid.UUID]
) -> None:
    registry = CollectorRegistry()
    now = at(9, 20)
    gauge = OverdueCases(registry, store.pool, clock=lambda: now)
    await gauge.refresh()
    text = scrape(registry)
    # Only the undecided complaint is late (acceptance due Wed 09-16); no
    # department holds it yet.
    assert sample(text, "tousu_overdue_cases", department="_") == 1
    # Departments owing deadlines that are not late yet report 0.
    assert sample(text, "tousu_overdue_cases", department="transport") == 0
    assert sample(text, "tousu_overdue_cases", department="water") == 0

    # Transport's feedback was due 10-12 and never sent; water's answer,
    # fed back 10-09, was to be followed up within 3 working days.
    now = at(10, 20)
    await gauge.refresh()
    text = scrape(registry)
    assert sample(text, "tousu_overdue_cases", department="transport") == 1
    assert sample(text, "tousu_overdue_cases", department="water") == 1
    assert sample(text, "tousu_overdue_cases", department="_") == 1


async def test_gateway_counts_requests_by_route_template_and_status(settings: Settings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app), client(app) as http:
        for _ in range(2):
            assert (await http.get("/api/v1/public/commitments")).status_code == 200
        lookup = "/api/v1/public/complaints/TS2611-00000-00000"
        assert (await http.get(lookup, params={"code": "ABCDEFGH"})).status_code == 404
        assert (await http.get("/healthz")).status_code == 200
        text = (await http.get("/metrics")).text
        assert "/metrics" not in (await http.get("/openapi.json")).json()["paths"]

    requests = "tousu_gateway_http_requests_total"
    commitments = {"handler": "/api/v1/public/commitments", "method": "GET"}
    assert value(text, requests, status="200", **commitments) == 2
    assert value(text, "tousu_gateway_http_request_duration_seconds_count", **commitments) == 2
    template = "/api/v1/public/complaints/{tracking_no}"
    assert value(text, requests, handler=template, status="404") == 1
    assert value(text, requests, handler="/healthz") == 0


async def test_readyz_answers_503_naming_what_is_down(database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)

    async def nats_up() -> str:
        return "ok"

    app = endpoint_app(CollectorRegistry(), (), {"database": database_check(pool), "nats": nats_up})
    async with client(app) as http:
        up = await http.get("/readyz")
        await pool.close()
        down = await http.get("/readyz")
        assert (await http.get("/healthz")).status_code == 200
    assert (up.status_code, up.json()["ready"]) == (200, True)
    assert down.status_code == 503
    assert down.json()["checks"]["nats"] == "ok"
    assert down.json()["checks"]["database"].startswith("error:")


async def test_nothing_is_served_without_a_metrics_port(settings: Settings) -> None:
    assert settings.metrics_port is None
    async with serve_endpoint(settings, CollectorRegistry(), checks={}) as port:
        assert port is None


async def test_dashboard_queries_only_metrics_tousu_exports(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext
) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    assert len(queries) >= 8

    # A service's scrape (handlers, consumer lag, overdue cases), the relay's
    # and the gateway's, each from its real endpoint.
    registry = process_registry()
    build_broker(settings, "probe", registry)
    GroupCommit("consumer:probe", _unused, _unused, max_batch=1, transactions=1, registry=registry)
    service_app = endpoint_app(
        registry,
        [
            ConsumerLag(registry, _no_jetstream, [("EVENTS", "probe")]),
            OverdueCases(registry, store.pool),
        ],
        {},
    )
    relay_registry = process_registry()
    relay_registry.register(RelayActivity(RelayStats, lambda: True))
    relay_app = endpoint_app(
        relay_registry,
        [RelayLag(relay_registry, store.pool), RelayQuarantine(relay_registry, store.pool)],
        {},
    )
    gateway = create_app(settings)
    exported: set[str] = set()
    async with gateway.router.lifespan_context(gateway):
        for app in (service_app, relay_app, gateway):
            async with client(app) as http:
                exported |= series_names((await http.get("/metrics")).text)

    used = {name for query in queries for name in re.findall(r"\b[a-z_]+(?:_[a-z0-9]+)+\b", query)}
    metrics = {name for name in used if name.startswith(("tousu_", "faststream_", "process_"))}
    assert metrics - exported == set()
    assert {"tousu_relay_lag_events", "tousu_consumer_lag_messages"} <= metrics
    assert "tousu_relay_quarantined_events" in metrics
    assert "tousu_group_commit_redone_batches_total" in metrics


async def _no_jetstream() -> None:
    return None


async def _unused(_: object) -> Any:
    raise AssertionError("never called")

"""Routing by the rules, with every service a process and NATS the only way in:
accepted → routed by rule; returned → re-routed elsewhere; returned again →
arbitration, where only a supervisor routes. A department's own system sees
its cases' events and no one else's."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from tests.e2e.kit import HANDLER, OPERATOR, SUPERVISOR, Commands, received
from tests.helpers import eventually
from tousu.services.routing import FALLBACK_RULE_ID, load_rules
from tousu.shared.events import Envelope
from tousu.shared.events import types as ev
from tousu.shared.events.types import DeadlineKind
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

SERVICE_CENTER = {"id": "h-qian", "role": "handler", "department": "service_center"}
TIMEOUT = 30.0  # routing is asynchronous: event → relay → JetStream → routing service


class DepartmentFeed:
    """A department's system: an ordered consumer on ``<root>.events.<dept>.>``."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, Envelope]] = []

    async def on_message(self, msg: Msg) -> None:
        self.messages.append((msg.subject, Envelope.model_validate(json.loads(msg.data))))

    def types(self, stream_id: str) -> list[str]:
        return [e.type for _, e in self.messages if e.stream_id == stream_id]


@pytest.fixture
async def feeds(
    js: JetStreamContext, settings: Settings
) -> AsyncIterator[dict[str, DepartmentFeed]]:
    out = {dept: DepartmentFeed() for dept in ("water", "service_center")}
    subs = [
        await js.subscribe(
            settings.naming.department_events(dept), cb=feed.on_message, ordered_consumer=True
        )
        for dept, feed in out.items()
    ]
    try:
        yield out
    finally:
        for sub in subs:
            await sub.unsubscribe()


async def routed(store: PostgresEventStore, stream_id: str, count: int) -> list[Envelope]:
    """The stream once it holds ``count`` ComplaintRouted events."""
    stream: list[Envelope] = []

    async def enough() -> bool:
        nonlocal stream
        stream = await store.read_stream(stream_id)
        return sum(e.type == "ComplaintRouted" for e in stream) >= count

    await eventually(enough, f"routing #{count} of {stream_id}", timeout=TIMEOUT)
    return stream


async def consumed(store: PostgresEventStore, event_id: uuid.UUID) -> None:
    """Wait until the routing consumer has handled (and committed) ``event_id``."""

    async def done() -> bool:
        async with store.unit_of_work() as uow:
            return await uow.is_processed("routing", event_id)

    await eventually(done, f"routing to consume {event_id}", timeout=TIMEOUT)


async def test_rules_route_returns_re_route_and_arbitration_is_by_hand(
    running_services: Path,
    nats_client: NatsClient,
    settings: Settings,
    store: PostgresEventStore,
    feeds: dict[str, DepartmentFeed],
) -> None:
    rules = load_rules()
    cmd = Commands(nats_client, settings, await received(store))
    stream_id = f"complaint-{cmd.complaint_id}"
    assert await cmd.ok("intake", "accept", OPERATOR, category="service_quality") == "accepted"

    # 1. Accepted: routed to water by the 停水 rule, without anyone asking.
    stream = await routed(store, stream_id, 1)
    accepted, first = (
        next(e for e in stream if e.type == t) for t in ("ComplaintAccepted", "ComplaintRouted")
    )
    route = ev.ComplaintRouted.model_validate(first.data)
    assert (route.department, route.rule_id, route.rule_version) == (
        "water",
        "water-supply",
        rules.version,
    )
    assert route.requirements and "停水" in route.requirements
    assert (first.actor.id, first.actor.role) == ("routing-rules", "system")
    assert first.occurred_at == accepted.occurred_at  # deadlines count from acceptance
    assert (first.causation_id, first.correlation_id) == (
        accepted.event_id,
        accepted.correlation_id,
    )
    assert route.claim_deadline.kind == DeadlineKind.CLAIM
    assert route.return_deadline is not None and route.feedback_deadline is not None

    # 2. Water returns it (退单): re-routed, but not back to water.
    assert (
        await cmd.ok("routing", "return", HANDLER, reason="非本单位职责", basis="管网产权属物业")
        == "returned"
    )
    stream = await routed(store, stream_id, 2)
    second = ev.ComplaintRouted.model_validate(stream[-1].data)
    assert (second.department, second.rule_id) == ("service_center", FALLBACK_RULE_ID)
    assert stream[-1].causation_id == stream[-2].event_id  # the CaseReturned

    # 3. Returned again: arbitration, and the rules keep their hands off.
    assert (
        await cmd.ok("routing", "return", SERVICE_CENTER, reason="非本中心职责", basis="职责清单")
        == "returned"
    )
    stream = await store.read_stream(stream_id)
    returned, raised = stream[-2:]
    assert returned.type == "CaseReturned"
    assert ev.SupervisionRaised.model_validate(raised.data).kind == "arbitration"
    await consumed(store, returned.event_id)
    assert await store.read_stream(stream_id) == stream  # not routed automatically

    # 4. Only the supervision office routes it now.
    refused = await cmd.send("routing", "route", OPERATOR, department="transport")
    assert refused["ok"] is False and refused["error"]["code"] == "forbidden"
    assert await cmd.ok("routing", "route", SUPERVISOR, department="water") == "routed"

    # 5. Water's system saw its own case's events and nothing of service_center's
    # part: the last event is water's, and an ordered consumer delivers in
    # stream order, so anything wrongly sent to water would have come first.
    await eventually(
        lambda: feeds["water"].types(stream_id).count("ComplaintRouted") == 2,
        "water's feed to catch up",
        timeout=TIMEOUT,
    )
    await eventually(
        lambda: len(feeds["service_center"].types(stream_id)) == 2,
        "service_center's feed to catch up",
        timeout=TIMEOUT,
    )
    root = settings.subject_root
    for dept, want in {
        "water": ["ComplaintRouted", "CaseReturned", "ComplaintRouted"],
        "service_center": ["ComplaintRouted", "CaseReturned"],
    }.items():
        feed = feeds[dept]
        assert feed.types(stream_id) == want
        assert {s for s, _ in feed.messages} <= {
            f"{root}.events.{dept}.{t}" for t in ("ComplaintRouted", "CaseReturned")
        }
        assert {e.department for _, e in feed.messages} == {dept}

"""A complaint driven through its whole lifecycle with NATS messages only, as a
department's or a channel adapter's own system would."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from nats.aio.client import Client as NatsClient

from shared.calendar import TZ
from shared.events import Actor
from shared.settings import Settings
from shared.store.postgres import PostgresEventStore
from tests.processes import request

RECEIVED = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
OPERATOR = {"id": "op-li", "role": "operator"}
HANDLER = {"id": "h-zhao", "role": "handler", "department": "water"}
SUPERVISOR = {"id": "sup-wang", "role": "supervisor"}


class Commands:
    def __init__(self, client: NatsClient, settings: Settings, complaint_id: uuid.UUID) -> None:
        self.client = client
        self.naming = settings.naming
        self.complaint_id = complaint_id
        self.clock = 0

    async def send(
        self, service: str, command: str, actor: dict[str, Any], **fields: Any
    ) -> dict[str, Any]:
        self.clock += 1
        body = {
            "complaint_id": str(self.complaint_id),
            "command": {
                "actor": actor,
                "occurred_at": (RECEIVED + timedelta(hours=self.clock)).isoformat(),
                **fields,
            },
        }
        return await request(self.client, self.naming.command(service, command), body)

    async def ok(self, service: str, command: str, actor: dict[str, Any], **f: Any) -> str:
        reply = await self.send(service, command, actor, **f)
        assert reply["ok"] is True, reply
        return str(reply["result"]["status"])


async def _received(store: PostgresEventStore) -> uuid.UUID:
    """A complaint as intake records it (submission is intake's own endpoint)."""
    from shared.application.context_source import ContextSource
    from shared.application.executor import CommandExecutor
    from shared.domain import commands as c
    from shared.events.types import Channel, Complainant

    complaint_id = uuid.uuid4()
    submit = c.SubmitComplaint(
        actor=Actor(id="op-li", role="operator"),
        occurred_at=RECEIVED,
        tracking_no="TS2603-0001-00",
        channel=Channel.PHONE,
        complainant=Complainant(name="张三", phone="13800000000"),
        subject="停水未通知",
        description="小区连续两天停水，供水公司未提前公告。",
    )
    await CommandExecutor(store, ContextSource()).execute(complaint_id, submit)
    return complaint_id


async def test_lifecycle_over_nats_only(
    running_services: Path, nats_client: NatsClient, settings: Settings, store: PostgresEventStore
) -> None:
    cmd = Commands(nats_client, settings, await _received(store))
    assert await cmd.ok("intake", "accept", OPERATOR, category="service_quality") == "accepted"
    assert await cmd.ok("routing", "route", OPERATOR, department="water") == "routed"
    assert await cmd.ok("routing", "claim", HANDLER) == "claimed"
    assert await cmd.ok("handling", "investigation", HANDLER, findings="管网抢修未公告") == (
        "in_handling"
    )
    assert await cmd.ok("handling", "extension", HANDLER, working_days=3, reason="待检测") == (
        "extension_pending"
    )
    assert await cmd.ok("handling", "extension-decision", SUPERVISOR, approved=True) == (
        "in_handling"
    )
    assert await cmd.ok("handling", "resolve", HANDLER, result="已恢复供水", basis="条例") == (
        "resolved"
    )
    assert await cmd.ok("handling", "feedback", HANDLER) == "fed_back"
    assert await cmd.ok("followup", "follow-up", OPERATOR, satisfaction="dissatisfied") == (
        "reopened"
    )
    await cmd.ok("handling", "resolve", HANDLER, result="已赔偿并致歉", basis="服务承诺")
    await cmd.ok("handling", "feedback", HANDLER)
    assert await cmd.ok("followup", "follow-up", OPERATOR, satisfaction="satisfied") == "closed"

    stream = await store.read_stream(f"complaint-{cmd.complaint_id}")
    assert stream[-1].type == "ComplaintClosed"
    assert {e.actor.id for e in stream} == {"op-li", "h-zhao", "sup-wang"}


async def test_refusals_over_nats(
    running_services: Path, nats_client: NatsClient, settings: Settings, store: PostgresEventStore
) -> None:
    cmd = Commands(nats_client, settings, await _received(store))
    before = len(await store.read_stream(f"complaint-{cmd.complaint_id}"))

    illegal = await cmd.send("routing", "claim", HANDLER)
    assert illegal["ok"] is False
    assert illegal["error"]["code"] in {"illegal_transition", "not_found"}

    await cmd.ok("intake", "accept", OPERATOR, category="service_quality")
    await cmd.ok("routing", "route", OPERATOR, department="water")
    other = await cmd.send("routing", "claim", {**HANDLER, "department": "transport"})
    assert other["error"]["code"] == "not_found"
    forbidden = await cmd.send("handling", "extension-decision", HANDLER, approved=True)
    assert forbidden["error"]["code"] == "forbidden"
    invalid = await cmd.send("routing", "return", HANDLER, reason="")
    assert invalid["error"]["code"] == "validation_error"
    assert {d["field"] for d in invalid["error"]["details"]} >= {"reason", "basis"}
    twice = await cmd.send("intake", "accept", OPERATOR, category="service_quality")
    assert twice["error"]["code"] == "illegal_transition"
    assert twice["error"]["details"]["current_state"] == "routed"

    stream = await store.read_stream(f"complaint-{cmd.complaint_id}")
    assert len(stream) == before + 2  # accepted, routed: the refusals appended nothing

"""A complaint driven through its whole lifecycle with NATS messages only, as a
department's or a channel adapter's own system would."""

from __future__ import annotations

from pathlib import Path

import pytest
from nats.aio.client import Client as NatsClient

from tests.e2e.kit import HANDLER, OPERATOR, SUPERVISOR, Commands, received
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore


@pytest.fixture
def child_env(child_env: dict[str, str]) -> dict[str, str]:
    # These tests route by hand; the routing rules would race them to it.
    return {**child_env, "TOUSU_AUTO_ROUTE": "0"}


async def test_lifecycle_over_nats_only(
    water_handler: dict[str, str],
    running_services: Path,
    nats_client: NatsClient,
    settings: Settings,
    store: PostgresEventStore,
) -> None:
    cmd = Commands(nats_client, settings, await received(store))
    assert await cmd.ok("intake", "accept", OPERATOR, category="service_quality") == "accepted"
    assert await cmd.ok("routing", "route", OPERATOR, department="water") == "routed"
    assert await cmd.ok("routing", "claim", HANDLER) == "claimed"
    assert await cmd.ok("handling", "investigation", HANDLER, findings="管网抢修未公告") == (
        "in_handling"
    )
    plan = [{"measure": "恢复供水并公告", "owner": HANDLER["id"]}]
    assert await cmd.ok("handling", "plan", HANDLER, measures=plan) == "in_handling"
    assert await cmd.ok("handling", "consultation", HANDLER, agrees=True) == "in_handling"
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
    # The second round is handled afresh (调查核实, 方案, 征求意见).
    await cmd.ok("handling", "investigation", HANDLER, findings="未致歉属实")
    await cmd.ok("handling", "plan", HANDLER, measures=plan)
    await cmd.ok("handling", "consultation", HANDLER, agrees=True)
    await cmd.ok("handling", "resolve", HANDLER, result="已赔偿并致歉", basis="服务承诺")
    await cmd.ok("handling", "feedback", HANDLER)
    assert await cmd.ok("followup", "follow-up", OPERATOR, satisfaction="satisfied") == "closed"

    stream = await store.read_stream(f"complaint-{cmd.complaint_id}")
    assert stream[-1].type == "ComplaintClosed"
    assert {e.actor.id for e in stream} == {"op-li", "h-zhao", "sup-wang"}


async def test_refusals_over_nats(
    running_services: Path, nats_client: NatsClient, settings: Settings, store: PostgresEventStore
) -> None:
    cmd = Commands(nats_client, settings, await received(store))
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

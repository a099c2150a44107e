"""Every channel's complaint from registration to closing through HTTP → NATS →
services → store; a rejection with its suggestion; an extension approved and
one refused; auto-acceptance when it is switched on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from tests.e2e.kit import Headers, Staff, days_ago
from tests.processes import request
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

FACTS = {
    "subject": "供水维修拖延",
    "description": "报修三天无人上门，热线答复推诿。",
}
STAFF_CHANNELS: dict[str, dict[str, Any]] = {
    "phone": {"complainant": {"name": "张三", "phone": "13800000001"}},
    "letter": {
        "received_at": days_ago(2).isoformat(),
        "complainant": {"name": "王五", "address": "某市人民路1号"},
    },
    "walk_in": {"complainant": {"name": "赵六", "phone": "13900000002"}},
    "wechat": {"complainant": {"phone": "13700000003"}},
}


async def register(case: Staff, channel: str) -> str:
    if channel == "web":
        body = {**FACTS, "complainant": {"email": "li@example.com"}}
        response = await case.gateway.post("/api/v1/public/complaints", json=body)
    else:
        response = await case.register({"channel": channel, **FACTS, **STAFF_CHANNELS[channel]})
    assert response.status_code == 201, response.text
    return str(response.json()["complaint_id"])


@pytest.mark.parametrize("channel", ["phone", "web", "wechat", "letter", "walk_in"])
async def test_each_channel_to_closed_over_http(
    channel: str, gateway: httpx.AsyncClient, staff: dict[str, Headers]
) -> None:
    case = Staff(gateway, staff)
    complaint_id = await register(case, channel)
    assert await case.accept_and_await_routing(complaint_id) == "water"
    assert await case.ok(complaint_id, "claim", "h-zhao") == "claimed"
    await case.ok(complaint_id, "investigation", "h-zhao", {"findings": "属实"})
    await case.resolve_and_feed_back(complaint_id, "已上门维修")
    closed = await case.ok(complaint_id, "follow-up", "op-li", {"satisfaction": "satisfied"})
    assert closed == "closed"
    timeline = (await case.case(complaint_id))["timeline"]
    assert timeline[0]["data"]["channel"] == channel
    assert timeline[-1]["type"] == "ComplaintClosed"


async def test_rejection_and_extensions_over_http(
    gateway: httpx.AsyncClient, staff: dict[str, Headers]
) -> None:
    case = Staff(gateway, staff)
    rejected = await register(case, "phone")
    reason = {
        "reason": "属于劳动争议，不在受理范围",
        "suggestion": "请向劳动人事争议仲裁委员会申请仲裁",
    }
    assert await case.ok(rejected, "reject", "op-li", reason) == "rejected"
    notice = (await case.case(rejected))["timeline"][-1]["data"]["notice_text"]
    assert "劳动人事争议仲裁委员会" in notice

    complaint_id = await register(case, "walk_in")
    await case.accept_and_await_routing(complaint_id)
    await case.ok(complaint_id, "claim", "h-zhao")
    before = (await case.case(complaint_id))["deadlines"]
    ask = {"working_days": 5, "reason": "需第三方检测"}
    assert await case.ok(complaint_id, "extension", "h-zhao", ask) == "extension_pending"
    refused = {"approved": False, "reason": "理由不充分"}
    assert await case.ok(complaint_id, "extension-decision", "sup-wang", refused) == "claimed"
    assert (await case.case(complaint_id))["deadlines"] == before
    await case.ok(complaint_id, "extension", "h-zhao", ask)
    await case.ok(complaint_id, "extension-decision", "sup-wang", {"approved": True})
    after = await case.case(complaint_id)
    assert after["extension_days"] == 5
    assert after["deadlines"] != before


@pytest.fixture
def child_env(child_env: dict[str, str]) -> dict[str, str]:
    return {**child_env, "TOUSU_AUTO_ACCEPT": "1"}


async def test_auto_accept_when_switched_on(
    running_services: Path, nats_client: NatsClient, settings: Settings, store: PostgresEventStore
) -> None:
    subject = settings.naming.command("intake", "submit")
    actor = {"id": "public", "role": "complainant"}
    complete = {
        "channel": "web",
        **FACTS,
        "complainant": {"email": "a@example.com"},
        "category": "service_quality",
    }
    reply = await request(nats_client, subject, {"submission": complete, "actor": actor})
    assert reply["result"]["status"] == "accepted", reply
    unclassified = {**complete, "category": None}
    reply = await request(nats_client, subject, {"submission": unclassified, "actor": actor})
    assert reply["result"]["status"] == "received", reply

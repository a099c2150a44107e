"""What the gateway asks intake for a public submission: the complaint
registered, without the duplicate search and category suggestions the public
API, the web form and Open311 never show (``details: false``); staff's
registration still asks for them. Real NATS, with a responder on intake's
subject recording each request."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from tousu.services.gateway.app import create_app
from tousu.services.gateway.complaints.registration import submit
from tousu.shared.events import Actor
from tousu.shared.events.types import Channel, Complainant
from tousu.shared.intake.submission import Submission
from tousu.shared.settings import Settings

FILED: dict[str, Any] = {
    "complaint_id": str(uuid.uuid4()),
    "tracking_no": "TS2612-0001",
    "access_code": "123456",
    "status": "received",
    "acceptance_due": None,
    "repeated": False,
    "duplicates": [],
    "suggestions": [],
}


@pytest.fixture
async def asked(nats_client: NatsClient, settings: Settings) -> AsyncIterator[list[Any]]:
    bodies: list[Any] = []

    async def answer(msg: Msg) -> None:
        bodies.append(json.loads(msg.data))
        await msg.respond(json.dumps({"ok": True, "result": FILED}).encode())

    sub = await nats_client.subscribe(settings.naming.command("intake", "submit"), cb=answer)
    await nats_client.flush()
    try:
        yield bodies
    finally:
        await sub.unsubscribe()


async def test_the_public_api_asks_without_details(asked: list[Any], settings: Settings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
            filed = await client.post(
                "/api/v1/public/complaints",
                json={
                    "complainant": {"phone": "13911112222"},
                    "subject": "停水未通知",
                    "description": "小区连续两天停水，供水公司未提前公告。",
                },
            )
    assert filed.status_code == 201, filed.text
    assert filed.json()["tracking_no"] == FILED["tracking_no"]
    [body] = asked
    assert body["details"] is False
    assert body["submission"]["channel"] == "web"


async def test_staff_registration_asks_with_details(
    asked: list[Any], nats_client: NatsClient, settings: Settings
) -> None:
    call = Submission(
        channel=Channel.PHONE,
        complainant=Complainant(phone="13911112222"),
        subject="停水未通知",
        description="小区连续两天停水，供水公司未提前公告。",
    )
    await submit(nats_client, settings.naming, call, Actor(id="op", role="operator"))
    [body] = asked
    assert body.get("details", True) is True

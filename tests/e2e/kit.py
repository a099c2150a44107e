"""What the end-to-end tests share: actors, a complaint as intake records it,
and commands sent over NATS request-reply as another system would."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from nats.aio.client import Client as NatsClient

from shared.application.context_source import ContextSource
from shared.application.executor import CommandExecutor
from shared.calendar import TZ
from shared.domain import commands as c
from shared.events import Actor
from shared.events.types import Channel, Complainant
from shared.settings import Settings
from shared.store.postgres import PostgresEventStore
from tests.processes import request

RECEIVED = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
OPERATOR = {"id": "op-li", "role": "operator"}
HANDLER = {"id": "h-zhao", "role": "handler", "department": "water"}
SUPERVISOR = {"id": "sup-wang", "role": "supervisor"}


class Commands:
    """Commands to one complaint, each an hour after the one before."""

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


async def received(
    store: PostgresEventStore,
    *,
    subject: str = "停水未通知",
    description: str = "小区连续两天停水，供水公司未提前公告。",
    location: str | None = None,
) -> uuid.UUID:
    """A complaint as intake records it (submission is intake's own endpoint)."""
    complaint_id = uuid.uuid4()
    submit = c.SubmitComplaint(
        actor=Actor(id="op-li", role="operator"),
        occurred_at=RECEIVED,
        tracking_no="TS2603-0001-00",
        channel=Channel.PHONE,
        complainant=Complainant(name="张三", phone="13800000000"),
        subject=subject,
        description=description,
        location=location,
    )
    await CommandExecutor(store, ContextSource()).execute(complaint_id, submit)
    return complaint_id

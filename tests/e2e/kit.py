"""What the end-to-end tests share: actors, a complaint as intake records it,
and commands sent over NATS request-reply as another system would."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from nats.aio.client import Client as NatsClient

from tests.helpers import eventually
from tests.processes import request
from tousu.shared.application.context_source import ContextSource
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.calendar import TZ
from tousu.shared.domain import commands as c
from tousu.shared.events import Actor, utcnow
from tousu.shared.events.types import Channel, Complainant
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

RECEIVED = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)


def days_ago(days: int, hour: int = 10) -> datetime:
    """``hour`` o'clock (Asia/Shanghai) ``days`` days ago: a letter or call staff
    register late, within the 30 days they may on their own (docs/late-entries.md)."""
    day = (utcnow() - timedelta(days=days)).astimezone(TZ).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


OPERATOR = {"id": "op-li", "role": "operator"}
HANDLER = {"id": "h-zhao", "role": "handler", "department": "water"}
SUPERVISOR = {"id": "sup-wang", "role": "supervisor"}


class Commands:
    """Commands to one complaint, each recorded as it is sent (occurred_at now:
    staff may not date their steps back, see docs/late-entries.md)."""

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
            "command": {"actor": actor, "occurred_at": utcnow().isoformat(), **fields},
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
    """A complaint as intake records it (submission is intake's own endpoint):
    a call received on RECEIVED, registered only now, so by a supervisor with
    a reason (a late entry, 补录, beyond the 30 days an operator may)."""
    complaint_id = uuid.uuid4()
    submit = c.SubmitComplaint(
        actor=Actor(id="sup-wang", role="supervisor"),
        occurred_at=RECEIVED,
        late_reason="三月的来电，补登",
        tracking_no="TS2603-0001-00",
        channel=Channel.PHONE,
        complainant=Complainant(name="张三", phone="13800000000"),
        subject=subject,
        description=description,
        location=location,
    )
    await CommandExecutor(store, ContextSource()).execute(complaint_id, submit)
    return complaint_id


Headers = dict[str, str]
ROUTING_TIMEOUT = 30.0  # accepted → relay → JetStream → the routing service's rules


class Staff:
    def __init__(self, gateway: httpx.AsyncClient, staff: dict[str, Headers]) -> None:
        self.gateway = gateway
        self.staff = staff

    async def act(
        self, complaint_id: str, action: str, who: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        return await self.gateway.post(
            f"/api/v1/complaints/{complaint_id}/{action}", json=body, headers=self.staff[who]
        )

    async def ok(
        self, complaint_id: str, action: str, who: str, body: dict[str, Any] | None = None
    ) -> str:
        response = await self.act(complaint_id, action, who, body)
        assert response.status_code == 200, response.text
        return str(response.json()["status"])

    async def case(self, complaint_id: str) -> dict[str, Any]:
        response = await self.gateway.get(
            f"/api/v1/complaints/{complaint_id}", headers=self.staff["sup-wang"]
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def register(self, body: dict[str, Any], who: str = "op-li") -> httpx.Response:
        return await self.gateway.post("/api/v1/complaints", json=body, headers=self.staff[who])

    async def accept_and_await_routing(self, complaint_id: str) -> str:
        """Accepted by the operator, then routed by the rules: the department chosen."""
        assert await self.ok(complaint_id, "accept", "op-li", {"category": "service_quality"}) == (
            "accepted"
        )
        case: dict[str, Any] = {}

        async def routed() -> bool:
            nonlocal case
            case = await self.case(complaint_id)
            return bool(case["status"] == "routed")

        await eventually(routed, "routing by the rules", ROUTING_TIMEOUT)
        return str(case["department"])

    async def handle(self, complaint_id: str, who: str = "h-zhao") -> None:
        """The steps this round still owes before the result, in the policy's
        order, as the case says (``next_step``): investigation, a plan, the
        complainant's opinion on it."""
        steps = ("investigation", "plan", "consultation")
        step = (await self.case(complaint_id))["next_step"]
        bodies: dict[str, dict[str, Any]] = {
            "investigation": {"findings": "现场核实，情况属实", "methods": ["现场勘查"]},
            "plan": {
                "measures": [{"measure": "张贴公告并致歉", "owner": who}],
                "summary": "公告并致歉",
            },
            "consultation": {"agrees": True, "opinion": "同意"},
        }
        for name in steps[steps.index(step) :] if step in steps else ():
            assert await self.ok(complaint_id, name, who, bodies[name]) == "in_handling"

    async def resolve_and_feed_back(self, complaint_id: str, result: str) -> None:
        await self.handle(complaint_id)
        resolution = {"result": result, "basis": "供水服务条例", "improvements": "停水前张贴公告"}
        assert await self.ok(complaint_id, "resolve", "h-zhao", resolution) == "resolved"
        assert await self.ok(complaint_id, "feedback", "h-zhao") == "fed_back"


async def routed_by_rules(store: PostgresEventStore, complaint_id: str) -> dict[str, Any]:
    """Wait until the routing service has routed the complaint; its ComplaintRouted data."""
    stream_id = f"complaint-{complaint_id}"

    async def routed() -> bool:
        return any(e.type == "ComplaintRouted" for e in await store.read_stream(stream_id))

    await eventually(routed, "routing by the rules", ROUTING_TIMEOUT)
    stream = await store.read_stream(stream_id)
    return next(e.data for e in stream if e.type == "ComplaintRouted")


async def handle_and_feed_back(
    send: Any, complaint_id: str, handler: dict[str, Any], *, result: str, basis: str
) -> None:
    """The department's part, over NATS: claim, investigate, plan, consult,
    resolve, feed back.

    ``send(service, command, complaint_id, actor, **fields)`` sends one command.
    """
    await send("routing", "claim", complaint_id, handler)
    await send("handling", "investigation", complaint_id, handler, findings="属实")
    measures = [{"measure": "上门处理", "owner": handler["id"]}]
    await send("handling", "plan", complaint_id, handler, measures=measures)
    await send("handling", "consultation", complaint_id, handler, agrees=True)
    await send("handling", "resolve", complaint_id, handler, result=result, basis=basis)
    await send("handling", "feedback", complaint_id, handler)

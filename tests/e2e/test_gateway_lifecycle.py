"""A complaint handled through the gateway's HTTP API alone: every service a
process, the gateway in-process with its lifespan, real PostgreSQL and NATS.
Staff act with bearer tokens; the gateway turns each action into a command
over NATS, reads the case from the event store and the list from the index."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from tests.e2e.kit import RECEIVED, received
from tests.helpers import eventually
from tousu.services.followup.main import SPEC as FOLLOWUP
from tousu.services.gateway.complaints.actions import ACTIONS, Action
from tousu.services.gateway.complaints.client import CommandClient
from tousu.services.gateway.problems import PROBLEM_JSON, ServiceUnavailable
from tousu.services.handling.main import SPEC as HANDLING
from tousu.services.intake.main import SPEC as INTAKE
from tousu.services.metrics.main import SPEC as METRICS
from tousu.services.routing.main import SPEC as ROUTING
from tousu.shared.domain import commands as c
from tousu.shared.events import Actor, complaint_stream
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

Headers = dict[str, str]
INDEX_TIMEOUT = 20.0  # event → relay → JetStream → the metrics service's case index


@pytest.fixture
def child_env(child_env: dict[str, str]) -> dict[str, str]:
    # These tests route by hand; the routing rules would race them to it.
    return {**child_env, "TOUSU_AUTO_ROUTE": "0"}


class Case:
    """One complaint, acted on over HTTP."""

    def __init__(
        self, gateway: httpx.AsyncClient, staff: dict[str, Headers], complaint_id: uuid.UUID
    ) -> None:
        self.gateway = gateway
        self.staff = staff
        self.id = complaint_id

    async def post(
        self, action: str, who: str, body: dict[str, Any] | None = None, **headers: str
    ) -> httpx.Response:
        return await self.gateway.post(
            f"/api/v1/complaints/{self.id}/{action}",
            json=body,
            headers={**self.staff[who], **headers},
        )

    async def ok(self, action: str, who: str, body: dict[str, Any] | None = None) -> str:
        response = await self.post(action, who, body)
        assert response.status_code == 200, response.text
        return str(response.json()["status"])

    async def get(self, who: str, **headers: str) -> httpx.Response:
        return await self.gateway.get(
            f"/api/v1/complaints/{self.id}", headers={**self.staff[who], **headers}
        )

    async def listed(self, who: str, **params: str) -> list[dict[str, Any]]:
        response = await self.gateway.get(
            "/api/v1/complaints", params=params, headers=self.staff[who]
        )
        assert response.status_code == 200, response.text
        return [item for item in response.json()["items"] if item["complaint_id"] == str(self.id)]

    async def indexed(self, who: str, status: str) -> bool:
        return [i["status"] for i in await self.listed(who)] == [status]


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    return body


async def test_lifecycle_over_http(
    gateway: httpx.AsyncClient, staff: dict[str, Headers], store: PostgresEventStore
) -> None:
    case = Case(gateway, staff, await received(store, subject="停水未通知（网关）"))
    # Accepted the morning it came in, typed in only now: the feedback date is
    # reckoned from then, and is long past. Only a supervisor may record a
    # step that late, with a reason (补录).
    accepted_at = (RECEIVED + timedelta(hours=1)).isoformat()
    accept = {"category": "service_quality", "occurred_at": accepted_at}
    late = {"late_reason": "三月受理时系统未录入"}
    assert await case.ok("accept", "sup-wang", accept | late) == "accepted"
    request_id = str(uuid.uuid4())
    routed = await case.post(
        "route", "op-li", {"department": "water"}, **{"X-Request-Id": request_id}
    )
    assert routed.status_code == 200, routed.text
    assert routed.headers["x-request-id"] == request_id
    assert routed.json()["status_label"] == "已转办，待签收"
    await eventually(
        lambda: case.indexed("h-zhao", "routed"), "the routed case indexed", INDEX_TIMEOUT
    )
    [overdue] = await case.listed("h-zhao", overdue="true", q="停水未通知（网")
    assert overdue["overdue"] is True

    assert await case.ok("claim", "h-zhao") == "claimed"
    assert await case.ok("investigation", "h-zhao", {"findings": "管网抢修未公告"}) == "in_handling"
    plan = {"measures": [{"measure": "恢复供水并公告", "owner": "h-zhao"}]}
    assert await case.ok("plan", "h-zhao", plan) == "in_handling"
    assert await case.ok("consultation", "h-zhao", {"agrees": True}) == "in_handling"
    assert (
        await case.ok("resolve", "h-zhao", {"result": "已恢复供水", "basis": "条例"}) == "resolved"
    )
    assert await case.ok("feedback", "h-zhao") == "fed_back"
    dissatisfied = {"satisfaction": "dissatisfied", "comment": "没有道歉"}
    assert await case.ok("follow-up", "op-li", dissatisfied) == "reopened"
    # The second round is handled afresh (调查核实, 方案, 征求意见).
    assert await case.ok("investigation", "h-zhao", {"findings": "未致歉属实"}) == "in_handling"
    assert await case.ok("plan", "h-zhao", plan) == "in_handling"
    assert await case.ok("consultation", "h-zhao", {"agrees": True}) == "in_handling"
    assert await case.ok("resolve", "h-zhao", {"result": "已赔偿并致歉", "basis": "服务承诺"}) == (
        "resolved"
    )
    assert await case.ok("feedback", "h-zhao") == "fed_back"
    assert await case.ok("follow-up", "op-li", {"satisfaction": "satisfied"}) == "closed"

    shown = await case.get("sup-wang", **{"Accept-Language": "en"})
    assert shown.status_code == 200, shown.text
    view = shown.json()
    assert (view["status"], view["status_label"], view["round"]) == ("closed", "closed", 2)
    assert (view["department"], view["handler"], view["tracking_no"]) == (
        "water",
        "h-zhao",
        "TS2603-0001-00",
    )
    assert view["promised_feedback"]["due_at"] < view["deadlines"]["feedback"]["due_at"]
    timeline = view["timeline"]
    assert [e["version"] for e in timeline] == list(range(1, view["version"] + 1))
    assert timeline[0]["type"] == "ComplaintReceived"
    assert "access_code_hash" not in timeline[0]["data"]
    # As the body said, not when it was typed in.
    [accepted] = [e for e in timeline if e["type"] == "ComplaintAccepted"]
    assert datetime.fromisoformat(accepted["occurred_at"]) == RECEIVED + timedelta(hours=1)
    assert timeline[-1]["label"] == "Closed"
    # The supervisor recorded what came in March late (补录), staff the rest.
    assert {e["actor"]["id"] for e in timeline} == {"sup-wang", "op-li", "h-zhao"}
    by_actor = {e["type"]: e["actor"] for e in timeline}
    assert by_actor["CaseClaimed"] == {"id": "h-zhao", "role": "handler", "department": "water"}
    [route] = [e for e in timeline if e["type"] == "ComplaintRouted"]
    assert route["correlation_id"] == request_id

    await eventually(
        lambda: case.indexed("h-zhao", "closed"), "the closed case indexed", INDEX_TIMEOUT
    )
    assert await case.listed("h-zhao", status="closed", q="TS2603-0001") != []
    assert await case.listed("h-zhao", overdue="true") == []
    assert await case.listed("h-qian") == []
    assert await case.listed("sup-wang", department="transport") == []
    hidden = await case.get("h-qian")
    assert_problem(hidden, 404)
    assert uuid.UUID(hidden.headers["x-request-id"])  # errors carry a request id too
    assert_problem(await case.post("investigation", "h-qian", {"findings": "x"}), 404)


async def test_refusals_over_http(
    gateway: httpx.AsyncClient,
    staff: dict[str, Headers],
    store: PostgresEventStore,
    nats_client: NatsClient,
    settings: Settings,
) -> None:
    case = Case(gateway, staff, await received(store))
    stream = complaint_stream(case.id)
    await case.ok("accept", "op-li", {"category": "service_quality"})
    await case.ok("route", "op-li", {"department": "water"})
    before = len(await store.read_stream(stream))

    forbidden = assert_problem(
        await case.post("extension-decision", "h-zhao", {"approved": True}), 403
    )
    assert forbidden["required_roles"] == ["admin", "supervisor"]
    assert_problem(await case.post("claim", "h-qian"), 404)

    malformed = assert_problem(await case.post("return", "h-zhao", {"reason": ""}), 422)
    assert {e["field"] for e in malformed["errors"]} == {"body.reason", "body.basis"}
    sneaky = {"findings": "x", "actor": {"id": "boss", "role": "admin"}}
    smuggled = assert_problem(await case.post("investigation", "h-zhao", sneaky), 422)
    assert [e["field"] for e in smuggled["errors"]] == ["body.actor"]
    naive = {"department": "transport", "occurred_at": "2026-03-03T09:00:00"}
    naive_problem = assert_problem(await case.post("route", "op-li", naive), 422)
    assert [e["field"] for e in naive_problem["errors"]] == ["body.occurred_at"]
    # Well-formed but refused by the domain, in the service.
    future = (datetime.now().astimezone() + timedelta(days=1)).isoformat()
    refused = assert_problem(await case.post("claim", "h-zhao", {"occurred_at": future}), 422)
    assert refused["code"] == "invalid_command"
    assert [e["field"] for e in refused["errors"]] == ["body.occurred_at"]

    twice = assert_problem(await case.post("accept", "op-li", {"category": "service_quality"}), 409)
    assert twice["current_state"] == "routed"
    assert len(await store.read_stream(stream)) == before  # no refusal appended anything

    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await case.post("claim", "h-zhao", **key)
    again = await case.post("claim", "h-zhao", **key)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json()["events"] == first.json()["events"]
    assert (first.json()["repeated"], again.json()["repeated"]) == (False, True)
    assert len(await store.read_stream(stream)) == before + 1

    nobody = Action("claim", "nobody", c.ClaimCase)
    command = c.ClaimCase(actor=Actor(id="h-zhao", role="handler"), occurred_at=RECEIVED)
    with pytest.raises(ServiceUnavailable) as unavailable:
        await CommandClient(nats_client, settings.naming).send(nobody, case.id, command)
    assert unavailable.value.code == "no_responders"


def test_actions_are_the_services_commands() -> None:
    owned = {
        (spec.name, name): command
        for spec in (INTAKE, ROUTING, HANDLING, FOLLOWUP, METRICS)
        for name, command in spec.commands.items()
    }
    for action in ACTIONS:
        assert owned.get((action.service, action.name)) is action.command, action

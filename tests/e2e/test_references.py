"""References are checked where the decision is made, so HTTP and NATS are
refused alike: a department outside the commitment register, a handler who is
not an active account of the holding department, a merge target, a service
item or a category that does not exist. Each answers 422 / invalid_command
naming the field, and nothing is stored or published for it. Every service a
process (each with its staff directory), the gateway in-process."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from nats.aio.client import Client as NatsClient

from tests.e2e.kit import OPERATOR, Commands, Headers, Staff, received
from tests.helpers import eventually
from tests.lifecycle import staff_tokens
from tests.processes import request
from tousu.shared.events import utcnow
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

CALL = {
    "channel": "phone",
    "complainant": {"name": "王五", "phone": "13911112222"},
    "subject": "停水未通知",
    "description": "小区连续两天停水，供水公司未提前公告。",
}


def invalid(response: httpx.Response, field: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    problem: dict[str, Any] = response.json()
    assert field in [e["field"] for e in problem["errors"]], problem
    return problem


def refused(reply: dict[str, Any], field: str) -> str:
    assert reply["ok"] is False, reply
    assert (reply["error"]["code"], reply["error"]["details"]["field"]) == (
        "invalid_command",
        field,
    ), reply
    return str(reply["error"]["message"])


async def all_published(nats_client: NatsClient, settings: Settings, pool: asyncpg.Pool) -> None:
    """Wait until JetStream holds exactly the events stored: nothing more was
    published than was stored (a refused command stores nothing)."""
    js = nats_client.jetstream()

    async def caught_up() -> bool:
        stored = await pool.fetchval("SELECT count(*) FROM events")
        published = (await js.stream_info(settings.naming.events_stream)).state.messages
        assert published <= stored
        return bool(published == stored)

    await eventually(caught_up, "the relay to publish every stored event", 30)


async def test_http_refuses_unknown_departments_handlers_and_references(
    gateway: httpx.AsyncClient,
    staff: dict[str, Headers],
    store: PostgresEventStore,
    nats_client: NatsClient,
    settings: Settings,
    pool: asyncpg.Pool,
    database_url: str,
) -> None:
    staff |= await staff_tokens(
        database_url, [("dh-qian", "dept_head", "water"), ("h-wu", "handler", "water")]
    )
    people = Staff(gateway, staff)
    # Registration: the service item and the classification must exist.
    invalid(await people.register({**CALL, "service_item": "nope"}), "body.service_item")
    invalid(await people.register({**CALL, "category": "weather"}), "body.category")
    public = {k: v for k, v in CALL.items() if k != "channel"}
    filed = await gateway.post("/api/v1/public/complaints", json={**public, "service_item": "x"})
    invalid(filed, "body.service_item")
    filed = await gateway.post(
        "/api/v1/public/complaints",
        json={**public, "category": "service_quality", "subcategory": "weather"},
    )
    invalid(filed, "body.subcategory")
    assert await pool.fetchval("SELECT count(*) FROM events") == 0

    registered = await people.register(CALL)
    assert registered.status_code == 201, registered.text
    cid = registered.json()["complaint_id"]
    stream = f"complaint-{cid}"
    invalid(
        await people.act(
            cid, "accept", "op-li", {"category": "service_quality", "service_item": "x"}
        ),
        "body.service_item",
    )
    invalid(await people.act(cid, "accept", "op-li", {"category": "weather"}), "body.category")
    assert await people.accept_and_await_routing(cid) == "water"
    version = len(await store.read_stream(stream))

    # Routing: only to a department of the register.
    for department in ("水务 局", "no_such_dept"):
        problem = invalid(
            await people.act(cid, "route", "op-li", {"department": department}), "body.department"
        )
        assert "allowed: service_center, supervision" in problem["errors"][0]["message"]
    # Merging: into a complaint that exists.
    merge = await gateway.post(
        f"/api/v1/complaints/{cid}/merge",
        json={"duplicate_of": str(uuid.uuid4())},
        headers=staff["op-li"],
    )
    invalid(merge, "body.primary_complaint_id")

    # Claiming: for an active account of the holding department; only the
    # department head assigns the case to someone else.
    for handler in ("ghost-user", "h-qian", "h" * 300, "=1+1"):
        invalid(await people.act(cid, "claim", "dh-qian", {"handler": handler}), "body.handler")
    invalid(await people.act(cid, "claim", "h-zhao", {"handler": "h-wu"}), "body.handler")
    assert len(await store.read_stream(stream)) == version  # nothing stored for any of them

    assert await people.ok(cid, "claim", "dh-qian", {"handler": "h-wu"}) == "claimed"
    stored = await store.read_stream(stream)
    assert (stored[-1].type, stored[-1].data["handler"]) == ("CaseClaimed", "h-wu")
    await all_published(nats_client, settings, pool)


async def test_nats_refuses_them_alike(
    running_services: Path,
    nats_client: NatsClient,
    settings: Settings,
    store: PostgresEventStore,
    pool: asyncpg.Pool,
    database_url: str,
) -> None:
    await staff_tokens(
        database_url, [("h-zhao", "handler", "water"), ("h-qian", "handler", "transport")]
    )
    cmd = Commands(nats_client, settings, await received(store))
    stream = f"complaint-{cmd.complaint_id}"
    refused(
        await cmd.send("intake", "accept", OPERATOR, category="service_quality", service_item="x"),
        "service_item",
    )
    await cmd.ok("intake", "accept", OPERATOR, category="service_quality")

    async def routed() -> bool:
        return any(e.type == "ComplaintRouted" for e in await store.read_stream(stream))

    await eventually(routed, "routing by the rules", 30)
    version = len(await store.read_stream(stream))
    assert "allowed: " in refused(
        await cmd.send("routing", "route", OPERATOR, department="水务 局"), "department"
    )
    refused(await cmd.send("routing", "route", OPERATOR, department="no_such_dept"), "department")
    ghost = {"id": "ghost-user", "role": "handler", "department": "water"}
    refused(await cmd.send("routing", "claim", ghost), "handler")
    # A transport handler who says he is of water is not water's staff either.
    posing = {"id": "h-qian", "role": "handler", "department": "water"}
    refused(await cmd.send("routing", "claim", posing), "handler")
    zhao = {"id": "h-zhao", "role": "handler", "department": "water"}
    refused(await cmd.send("routing", "claim", zhao, handler="h-qian"), "handler")
    merge = {
        "complaint_id": str(cmd.complaint_id),
        "command": {
            "actor": OPERATOR,
            "occurred_at": utcnow().isoformat(),  # never before the previous step
            "primary_complaint_id": str(uuid.uuid4()),
            "duplicate_complaint_id": str(cmd.complaint_id),
        },
    }
    reply = await request(nats_client, settings.naming.command("intake", "merge"), merge)
    refused(reply, "primary_complaint_id")
    assert len(await store.read_stream(stream)) == version  # nothing stored

    assert await cmd.ok("routing", "claim", zhao) == "claimed"
    await all_published(nats_client, settings, pool)

"""Improvement items (整改跟踪) through the real services: a result feedback
with three 改进措施 opens three items once (a redelivery appends nothing), the
department closes one over NATS, and every refusal stores nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from nats.aio.client import Client as NatsClient

from tests.helpers import eventually, tousu
from tests.improvement_cases import HANDLER, resolved_case
from tests.lifecycle import staff_tokens
from tests.processes import request
from tousu.kit import DepartmentClient
from tousu.services.gateway.app import create_app
from tousu.services.metrics.improvements import opening
from tousu.services.metrics.improvements.views import items_of_case
from tousu.shared.application.context_source import ContextSource
from tousu.shared.application.credentials import HEADER, Kind, credential_key, issue
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.events import Actor, utcnow
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore


async def _item_events(pool: asyncpg.Pool) -> list[tuple[str, int, str]]:
    rows = await pool.fetch(
        "SELECT stream_id, version, type FROM events WHERE stream_id LIKE 'improvement-%'"
        " ORDER BY stream_id, version"
    )
    return [(r["stream_id"], r["version"], r["type"]) for r in rows]


async def test_feedback_opens_items_once_and_the_department_closes_them(
    running_services: Path,
    settings: Settings,
    store: PostgresEventStore,
    pool: asyncpg.Pool,
    nats_client: NatsClient,
    database_url: str,
    child_env: dict[str, str],
) -> None:
    staff = await staff_tokens(
        database_url,
        [
            ("op-li", "operator", None),
            ("h-zhao", "handler", "water"),
            ("h-sun", "handler", "transport"),
            ("sup-wang", "supervisor", None),
        ],
    )
    now = utcnow()
    cid, tracking_no = await resolved_case(
        store, settings, now - timedelta(hours=6), now - timedelta(hours=1)
    )
    # A case resolved without improvements opens nothing when fed back.
    quiet, _ = await resolved_case(
        store, settings, now - timedelta(hours=6), now - timedelta(hours=1), improvements=" "
    )
    for complaint in (quiet, cid):
        reply = await request(
            nats_client,
            settings.naming.command("handling", "feedback"),
            {
                "complaint_id": str(complaint),
                "command": {"actor": HANDLER.model_dump(), "occurred_at": utcnow().isoformat()},
            },
        )
        assert reply["ok"], reply

    async def three() -> bool:
        return len(await items_of_case(pool, cid)) == 3

    await eventually(three, "the feedback's three items", timeout=20)
    items = await items_of_case(pool, cid)
    assert [i.text for i in items] == [
        "加强抢修人员培训",
        "停水前48小时在小区公告",
        "建立停水短信通知",
    ]
    first = items[0]
    assert {(i.department, i.owner, i.tracking_no, i.round, i.status) for i in items} == {
        ("water", "h-zhao", tracking_no, 1, "open")
    }
    calendar = ContextSource.for_settings(settings)
    await calendar.start(str(settings.database_url))
    try:
        due = calendar().calendar.add_working_days(first.opened_at, 20).at
    finally:
        await calendar.stop()
    assert first.due_at == due and first.working_days == 20
    # The department's systems see their items: the events carry the department.
    stored = await store.read_stream(f"improvement-{first.item_id}")
    assert [(e.type, e.department) for e in stored] == [("ImprovementItemOpened", "water")]
    assert await items_of_case(pool, quiet) == []

    # The feedback handled again (a redelivery that got past the tracking
    # row): the same item streams and event ids, so nothing new is stored.
    before = await _item_events(pool)
    assert len(before) == 3
    (feedback,) = [
        e for e in await store.read_stream(f"complaint-{cid}") if e.type == "ResultFeedbackSent"
    ]
    consumer = opening.improvements(WorkdayCalendar, 20)
    async with store.unit_of_work() as uow:
        await consumer.handle(feedback, uow)
    assert await _item_events(pool) == before
    assert len(await items_of_case(pool, cid)) == 3

    subject = settings.naming.command("metrics", "improvement-close")

    async def close(actor: Actor | None, evidence: str, **headers: str) -> dict[str, Any]:
        command: dict[str, object] = {"occurred_at": utcnow().isoformat(), "evidence": evidence}
        if actor is not None:
            command["actor"] = actor.model_dump()
        body = {"item_id": str(first.item_id), "command": command}
        return await request(nats_client, subject, body, headers=headers or None)

    # Refusals: another department, a role that does not close, no evidence.
    refusals = [
        (Actor(id="h-sun", role="handler", department="transport"), "done", "not_found"),
        (Actor(id="sup-wang", role="supervisor"), "done", "forbidden"),
        (HANDLER, "", "validation_error"),
        (HANDLER, "   ", "invalid_command"),
    ]
    for actor, evidence, code in refusals:
        reply = await close(actor, evidence)
        assert reply["ok"] is False and reply["error"]["code"] == code, (actor, reply)
    # A channel's adapter closes nothing; another department's system finds nothing.
    key = credential_key(settings)
    as_wechat = {HEADER: issue(key, Kind.CHANNEL, "wechat")}
    reply = await close(None, "done", **as_wechat)
    assert reply["error"]["code"] == "forbidden", reply
    as_transport = {HEADER: issue(key, Kind.DEPARTMENT, "transport")}
    reply = await close(None, "done", **as_transport)
    assert reply["error"]["code"] == "not_found", reply
    assert await _item_events(pool) == before
    assert (await items_of_case(pool, cid))[0].status == "open"

    # The water department's own system closes it, as itself, through the kit
    # (the item named by its stream, as an ImprovementItemOpened event has it).
    water = issue(key, Kind.DEPARTMENT, "water")
    async with DepartmentClient(
        str(settings.nats_url), water, "water", settings.subject_root
    ) as system:
        result = await system.close_improvement(
            f"improvement-{first.item_id}", evidence="已组织全体抢修人员培训两次，签到表存档"
        )
    assert result["complaint_id"] == str(cid) and result["repeated"] is False
    closed = (await items_of_case(pool, cid))[0]
    assert closed.status == "closed" and closed.closed_by == "dept-system:water"
    assert closed.evidence == "已组织全体抢修人员培训两次，签到表存档"
    assert closed.closed_at is not None and closed.closed_at <= utcnow()

    # Closed twice: refused, nothing stored.
    after = await _item_events(pool)
    reply = await close(HANDLER, "again")
    assert reply["error"]["code"] == "illegal_transition", reply
    assert await _item_events(pool) == after

    # The staff API: the water handler sees the case's items, the transport
    # handler none of them, and another department's item is not found.
    app = create_app(settings)
    second = items[1].item_id
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as api:
            listed = await api.get("/api/v1/improvements", headers=staff["h-zhao"])
            assert listed.status_code == 200, listed.text
            assert [i["index"] for i in listed.json()["items"]] == [1, 2, 3]
            open_ = await api.get("/api/v1/improvements?status=open", headers=staff["h-zhao"])
            assert [i["index"] for i in open_.json()["items"]] == [2, 3]
            assert all(not i["overdue"] for i in listed.json()["items"])
            other = await api.get("/api/v1/improvements?department=water", headers=staff["h-sun"])
            assert other.json()["items"] == []
            url = f"/api/v1/improvements/{second}/close"
            body = {"evidence": "已在小区公告栏张贴停水预告制度"}
            refused = await api.post(url, json=body, headers=staff["h-sun"])
            assert refused.status_code == 404, refused.text
            refused = await api.post(url, json=body, headers=staff["sup-wang"])
            assert refused.status_code == 403, refused.text
            refused = await api.post(url, json={"evidence": " "}, headers=staff["h-zhao"])
            assert refused.status_code == 422, refused.text
            assert [e["field"] for e in refused.json()["errors"]] == ["body.evidence"]
            refused = await api.post(url, json={}, headers=staff["h-zhao"])
            assert refused.status_code == 422, refused.text
            assert await _item_events(pool) == after
            done = await api.post(url, json=body, headers=staff["h-zhao"])
            assert done.status_code == 200, done.text
            closed_list = await api.get(
                "/api/v1/improvements?status=closed", headers=staff["sup-wang"]
            )
            assert {(i["index"], i["closed_by"]) for i in closed_list.json()["items"]} == {
                (1, "dept-system:water"),
                (2, "h-zhao"),
            }
            again = await api.post(url, json=body, headers=staff["h-zhao"])
            assert again.status_code == 409, again.text

    # The command line: the water department's items, and the overdue (none yet).
    exit_code, printed, _ = await tousu(child_env, "improvements", "list", "--department", "water")
    assert exit_code == 0 and f"{tracking_no} #3" in printed and "已整改" in printed, printed
    exit_code, printed, _ = await tousu(child_env, "improvements", "list", "--json")
    assert exit_code == 0
    listed_ = json.loads(printed)
    assert [(r["index"], r["status"]) for r in listed_] == [
        (1, "closed"),
        (2, "closed"),
        (3, "open"),
    ]
    exit_code, printed, _ = await tousu(child_env, "improvements", "list", "--overdue", "--json")
    assert exit_code == 0 and json.loads(printed) == []

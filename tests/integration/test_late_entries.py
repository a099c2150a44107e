"""Time that cannot be bent (issue 14, case 2), against the running services:
a handler's late entry beyond the window is refused over HTTP and NATS with
nothing stored; the same by a supervisor with a reason is stored, marked in
the timeline, `tousu complaint show` and `tousu audit`, and counted in the
KPI output."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from tests.domain_kit import ReplayExecutor
from tests.helpers import eventually, tousu
from tests.lifecycle import Headers, staff_tokens
from tests.processes import request
from tests.web_kit import add_user, sign_in
from tousu.services.gateway.app import create_app
from tousu.services.gateway.auth import StaffRole
from tousu.shared.application.context_source import ContextSource
from tousu.shared.calendar import TZ
from tousu.shared.domain import commands as c
from tousu.shared.events import Actor, utcnow
from tousu.shared.events.types import Channel, Complainant
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

OPERATOR = Actor(id="op-li", role="operator")
HANDLER = Actor(id="h-zhao", role="handler", department="water")


@pytest.fixture
async def staff(database_url: str) -> dict[str, Headers]:
    people: list[tuple[str, StaffRole, str | None]] = [
        ("op-li", "operator", None),
        ("h-zhao", "handler", "water"),
        ("sup-wang", "supervisor", None),
    ]
    return await staff_tokens(database_url, people)


@pytest.fixture
async def gateway(running_services: Path, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
            yield client


async def history(
    store: PostgresEventStore, settings: Settings, received: datetime, *steps: c.Command
) -> uuid.UUID:
    """A phone complaint received at ``received`` and the ``steps`` after it,
    each recorded as it happened (so none is a late entry)."""
    cid = uuid.uuid4()
    executor = ReplayExecutor(store, ContextSource.for_settings(settings))
    submit = c.SubmitComplaint(
        actor=OPERATOR,
        occurred_at=received,
        tracking_no=f"TS-LATE-{cid.hex[:8]}",
        channel=Channel.PHONE,
        complainant=Complainant(name="张三", phone="13800000000"),
        subject="停水未通知",
        description="小区连续两天停水，供水公司未提前公告。",
    )
    for command in (submit, *steps):
        await executor.execute(cid, command)
    return cid


def day_at(days_ago: int, hour: int) -> datetime:
    day = (utcnow() - timedelta(days=days_ago)).astimezone(TZ).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


def invalid(response: httpx.Response, field: str) -> str:
    assert response.status_code == 422, response.text
    problem: dict[str, Any] = response.json()
    assert problem["code"] == "invalid_command", problem
    assert [e["field"] for e in problem["errors"]] == [f"body.{field}"], problem
    return json.dumps(problem, ensure_ascii=False)


async def stored_types(store: PostgresEventStore, cid: uuid.UUID) -> list[str]:
    return [e.type for e in await store.read_stream(f"complaint-{cid}")]


async def test_the_forty_day_case_cannot_be_bent(
    gateway: httpx.AsyncClient,
    staff: dict[str, Headers],
    store: PostgresEventStore,
    settings: Settings,
    nats_client: NatsClient,
) -> None:
    """Received 40 days ago, claimed now: resolving or feeding back "2 hours
    after receipt" is refused, over HTTP and over NATS, and stores nothing."""
    received = day_at(40, 9)
    cid = await history(
        store,
        settings,
        received,
        c.AcceptComplaint(
            actor=OPERATOR, occurred_at=received + timedelta(hours=1), category="service_quality"
        ),
        c.RouteComplaint(
            actor=OPERATOR, occurred_at=received + timedelta(hours=1), department="water"
        ),
    )
    url = f"/api/v1/complaints/{cid}"
    claimed = await gateway.post(f"{url}/claim", headers=staff["h-zhao"])
    assert claimed.status_code == 200, claimed.text
    before = await stored_types(store, cid)
    early = (received + timedelta(hours=2)).isoformat()
    resolve = {"result": "已处理", "basis": "相关规定", "occurred_at": early}
    message = invalid(
        await gateway.post(f"{url}/resolve", json=resolve, headers=staff["h-zhao"]), "occurred_at"
    )
    assert "previous step" in message
    body = {
        "complaint_id": str(cid),
        "command": {"actor": HANDLER.model_dump(), **resolve},
    }
    reply = await request(nats_client, settings.naming.command("handling", "resolve"), body)
    assert reply["ok"] is False, reply
    assert (reply["error"]["code"], reply["error"]["details"]["field"]) == (
        "invalid_command",
        "occurred_at",
    )
    assert await stored_types(store, cid) == before


async def test_a_late_entry_beyond_the_window(
    gateway: httpx.AsyncClient,
    staff: dict[str, Headers],
    store: PostgresEventStore,
    settings: Settings,
    nats_client: NatsClient,
    child_env: dict[str, str],
) -> None:
    """Resolved three days ago; the feedback, given by phone two days ago, was
    never typed in. The handler may not record it now; a supervisor may, with
    a reason, and it is marked wherever the case and its figures are shown."""
    received = day_at(10, 9)
    resolved = day_at(3, 15)
    cid = await history(
        store,
        settings,
        received,
        c.AcceptComplaint(
            actor=OPERATOR, occurred_at=received + timedelta(hours=1), category="service_quality"
        ),
        c.RouteComplaint(
            actor=OPERATOR, occurred_at=received + timedelta(hours=2), department="water"
        ),
        c.ClaimCase(actor=HANDLER, occurred_at=received + timedelta(hours=3)),
        # The policy's handling steps before the result, on the day it was resolved.
        c.RecordInvestigation(actor=HANDLER, occurred_at=resolved, findings="管道破裂"),
        c.ProposePlan(
            actor=HANDLER,
            occurred_at=resolved,
            measures=[c.PlanMeasureFacts(measure="抢修管道", owner="h-zhao")],
        ),
        c.RecordConsultation(actor=HANDLER, occurred_at=resolved, agrees=True),
        c.ResolveComplaint(actor=HANDLER, occurred_at=resolved, result="已恢复供水", basis="规定"),
    )
    url = f"/api/v1/complaints/{cid}"
    fed_back = day_at(2, 10).isoformat()
    before = await stored_types(store, cid)

    # The handler: refused over HTTP and NATS, beyond the same-day window.
    message = invalid(
        await gateway.post(
            f"{url}/feedback", json={"occurred_at": fed_back}, headers=staff["h-zhao"]
        ),
        "occurred_at",
    )
    assert "the day it happened" in message and "supervisor" in message
    reply = await request(
        nats_client,
        settings.naming.command("handling", "feedback"),
        {
            "complaint_id": str(cid),
            "command": {"actor": HANDLER.model_dump(), "occurred_at": fed_back},
        },
    )
    assert reply["ok"] is False, reply
    assert reply["error"]["details"]["field"] == "occurred_at"
    # With a reason, still not: only a supervisor approves a late entry.
    again = {"occurred_at": fed_back, "late_reason": "忘记录入"}
    invalid(
        await gateway.post(f"{url}/feedback", json=again, headers=staff["h-zhao"]), "occurred_at"
    )
    # A supervisor without a reason: refused, naming the reason.
    invalid(
        await gateway.post(
            f"{url}/feedback", json={"occurred_at": fed_back}, headers=staff["sup-wang"]
        ),
        "late_reason",
    )
    assert await stored_types(store, cid) == before  # nothing stored

    # The supervisor with a reason: stored and marked.
    reason = "电话反馈时系统故障，未能当时录入"
    done = await gateway.post(
        f"{url}/feedback",
        json={"occurred_at": fed_back, "late_reason": reason},
        headers=staff["sup-wang"],
    )
    assert done.status_code == 200, done.text
    assert (await stored_types(store, cid))[len(before) :] == [
        "ResultFeedbackSent",
        "FollowUpScheduled",
        "LateEntryRecorded",
    ]

    # The timeline (staff API) marks both steps it added.
    case = (await gateway.get(url, headers=staff["sup-wang"])).json()
    marked = {e["type"]: e["late_entry"] for e in case["timeline"] if e["late_entry"]}
    assert set(marked) == {"ResultFeedbackSent", "FollowUpScheduled"}
    mark = marked["ResultFeedbackSent"]
    assert (mark["approved_by"], mark["reason"], mark["within_window"]) == (
        "sup-wang",
        reason,
        False,
    )

    # The staff case page's timeline.
    await add_user(store.pool, "sup-zhou", "supervisor")
    assert (await sign_in(gateway, "sup-zhou")).status_code == 303
    page = await gateway.get(f"/staff/cases/{cid}")
    assert page.status_code == 200, page.text
    # Marked on both steps it added, and only there.
    shown = re.findall(r'<p class="step-late" data-late-entry>(.*?)</p>', page.text, re.S)
    assert len(shown) == 2
    assert all("补录" in s and "sup-wang" in s and reason in s for s in shown), shown

    # `tousu complaint show`, as JSON and as the table people read.
    code, out, err = await tousu(child_env, "complaint", "show", str(cid), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["late_entries"] == 1
    [fed] = [e for e in doc["timeline"] if e["type"] == "ResultFeedbackSent"]
    assert (fed["late_entry"]["approved_by"], fed["late_entry"]["reason"]) == ("sup-wang", reason)
    assert "LateEntryRecorded" not in {e["type"] for e in doc["timeline"]}
    code, out, err = await tousu(child_env, "complaint", "show", str(cid))
    assert code == 0, err
    assert "补录" in out and "sup-wang" in out and reason in out

    # `tousu audit`: counted by verify, listed by late-entries.
    code, out, err = await tousu(child_env, "audit", "late-entries", "--json")
    assert code == 0, err
    [entry] = json.loads(out)
    assert (entry["complaint_id"], entry["approved_by"], entry["reason"]) == (
        str(cid),
        "sup-wang",
        reason,
    )
    assert entry["events"] == ["ResultFeedbackSent", "FollowUpScheduled"]
    code, out, err = await tousu(child_env, "audit", "verify", "--json")
    assert code in (0, 1), err
    report = json.loads(out)
    assert (report["late_entries"], report["late_entries_beyond_window"]) == (1, 1)

    # The KPI figures: one late entry beside the water department's and
    # h-zhao's rates (the metrics service projects the events).
    query = {"from": received.strftime("%Y-%m-%d"), "group_by": "department"}

    async def counted(group_by: str) -> dict[str | None, int]:
        response = await gateway.get(
            "/api/v1/kpis", params=query | {"group_by": group_by}, headers=staff["sup-wang"]
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"]["fed_back"] in (0, 1)
        return {r["group"]: r["late_entries"] for r in body["rows"]}

    async def projected() -> bool:
        return (await counted("department")).get("water") == 1

    await eventually(projected, "the late entry counted in the KPI figures", timeout=30)
    assert await counted("handler") == {"h-zhao": 1}
    code, out, err = await tousu(
        child_env,
        "metrics",
        "--from",
        received.strftime("%Y-%m-%d"),
        "--group-by",
        "department",
        "--format",
        "csv",
    )
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["group"]: r["late_entries"] for r in rows}.get("water") == "1", out


async def test_a_letter_registered_beyond_thirty_days(
    gateway: httpx.AsyncClient, staff: dict[str, Headers], store: PostgresEventStore
) -> None:
    """An operator may register a letter up to 30 days after it came; older,
    only a supervisor, with a reason."""
    letter = {
        "channel": "letter",
        "received_at": day_at(40, 9).isoformat(),
        "complainant": {"name": "李四", "address": "人民路 1 号"},
        "subject": "路灯不亮",
        "description": "小区门口路灯坏了一个月。",
    }
    refused = await gateway.post("/api/v1/complaints", json=letter, headers=staff["op-li"])
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert [e["field"] for e in problem["errors"]] == ["body.received_at"], problem
    assert "30 days" in json.dumps(problem, ensure_ascii=False)
    assert await store.pool.fetchval("SELECT count(*) FROM events") == 0

    reason = "信件夹在其他公文中，今日发现"
    registered = await gateway.post(
        "/api/v1/complaints", json=letter | {"late_reason": reason}, headers=staff["sup-wang"]
    )
    assert registered.status_code == 201, registered.text
    cid = registered.json()["complaint_id"]
    case = (await gateway.get(f"/api/v1/complaints/{cid}", headers=staff["sup-wang"])).json()
    [received] = [e for e in case["timeline"] if e["type"] == "ComplaintReceived"]
    assert datetime.fromisoformat(received["occurred_at"]) == day_at(40, 9)
    mark = received["late_entry"]
    assert (mark["approved_by"], mark["reason"], mark["within_window"]) == (
        "sup-wang",
        reason,
        False,
    )

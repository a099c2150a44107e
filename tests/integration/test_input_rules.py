"""Issue 14, cases 3 and 5 at the gateway: an instant outside the calendar's
years and a control character are refused with 422 naming the field, at every
entry (staff and public JSON, the web forms, Open311, staff actions, query
parameters), and nothing is stored.

No intake or handling service runs here: a submission the gateway let through
would be answered 503 (nobody to answer it on NATS), so a 422 also shows that
nothing was sent on.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.lifecycle import Headers, staff_tokens
from tests.web_kit import add_user, gateway_client, hidden, sign_in
from tousu.services.gateway.open311 import keys
from tousu.shared.calendar import TZ
from tousu.shared.events import utcnow
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

LETTER: dict[str, Any] = {
    "channel": "letter",
    "complainant": {"name": "王五", "address": "幸福路1号"},
    "subject": "停水未通知",
    "description": "小区连续两天停水",
    "received_at": "2026-03-02T09:00:00+08:00",
}
HANDLER_ACTIONS = frozenset({"resolve", "plan", "progress"})
WEB: dict[str, Any] = {
    "complainant": {"phone": "13912345678"},
    "subject": "停水未通知",
    "description": "小区连续两天停水",
}


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(settings) as c:
        yield c


@pytest.fixture
async def staff(database_url: str) -> dict[str, Headers]:
    people: list[tuple[str, Any, str | None]] = [
        ("op-li", "operator", None),
        ("sup-wang", "supervisor", None),
        ("h-zhao", "handler", "water"),
    ]
    return await staff_tokens(database_url, people, **{"Accept-Language": "en"})


async def stored(store: PostgresEventStore) -> int:
    return int(await store.pool.fetchval("SELECT count(*) FROM events"))


def fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    return [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"received_at": "1900-03-01T09:00:00+08:00"}, "body.received_at"),
        ({"received_at": "0108-03-01T09:00:00+08:00"}, "body.received_at"),
        ({"received_at": "2300-03-01T09:00:00+08:00"}, "body.received_at"),
        ({"happened_at": "1999-12-31T09:00:00+08:00"}, "body.happened_at"),
        ({"description": "水管\u0000漏水"}, "body.description"),
        ({"complainant": {"name": "王\u0000五", "address": "幸福路1号"}}, "body.complainant.name"),
        ({"subject": "停水\x1b[31m"}, "body.subject"),
    ],
)
async def test_staff_registration_refuses_and_stores_nothing(
    client: httpx.AsyncClient,
    staff: dict[str, Headers],
    store: PostgresEventStore,
    change: dict[str, Any],
    field: str,
) -> None:
    refused = await client.post("/api/v1/complaints", json=LETTER | change, headers=staff["op-li"])
    assert fields(refused) == [field]
    assert await stored(store) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subject": "\u0000"}, "body.subject"),
        ({"complainant": {"phone": "13912345678", "name": "\u0000"}}, "body.complainant.name"),
        ({"location": "幸福路\u0007"}, "body.location"),
        ({"happened_at": "0108-03-01T09:00:00+08:00"}, "body.happened_at"),
    ],
)
async def test_the_public_api_refuses_and_stores_nothing(
    client: httpx.AsyncClient, store: PostgresEventStore, change: dict[str, Any], field: str
) -> None:
    refused = await client.post("/api/v1/public/complaints", json=WEB | change)
    assert fields(refused) == [field]
    assert await stored(store) == 0


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("reject", {"reason": "重复\u0000", "suggestion": "无"}, "body.reason"),
        ("reopen", {"reason": "\u0000"}, "body.reason"),
        ("resolve", {"result": "ok", "basis": "\x0c"}, "body.basis"),
        (
            "plan",
            {"measures": [{"measure": "修\u0000", "owner": "水务"}]},
            "body.measures.0.measure",
        ),
        (
            "accept",
            {"category": "x", "occurred_at": "1900-01-01T09:00:00+08:00"},
            "body.occurred_at",
        ),
        (
            "progress",
            {"progress": "ok", "occurred_at": "9999-01-01T09:00:00+08:00"},
            "body.occurred_at",
        ),
    ],
)
async def test_staff_commands_refuse_and_store_nothing(
    client: httpx.AsyncClient,
    staff: dict[str, Headers],
    store: PostgresEventStore,
    action: str,
    body: dict[str, Any],
    field: str,
) -> None:
    url = f"/api/v1/complaints/{uuid.uuid4()}/{action}"
    who = "h-zhao" if action in HANDLER_ACTIONS else "sup-wang"
    assert fields(await client.post(url, json=body, headers=staff[who])) == [field]
    assert await stored(store) == 0


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/complaints", {"q": "\u0000"}, "query.q"),
        ("/api/v1/complaints", {"department": "\u0000"}, "query.department"),
        ("/api/v1/supervision/overdue", {"department": "\u0000"}, "query.department"),
        ("/api/v1/kpis", {"from": "0001-01", "to": "9999-12"}, "query.from"),
        ("/api/v1/kpis", {"from": "2026-01", "to": "9999-12"}, "query.to"),
        ("/api/v1/kpis", {"as_of": "0001-01-01"}, "query.as_of"),
        ("/open311/v2/requests.json", {"service_request_id": "\u0000"}, "query.service_request_id"),
        ("/staff/queue", {"department": "\u0000"}, "query.department"),
    ],
)
async def test_query_parameters_out_of_range_are_422(
    client: httpx.AsyncClient,
    staff: dict[str, Headers],
    url: str,
    params: dict[str, str],
    field: str,
) -> None:
    response = await client.get(url, params=params, headers=staff["sup-wang"])
    assert fields(response) == [field]


@pytest.mark.parametrize(
    "params",
    [{"start_date": "0001-01-01"}, {"end_date": "0001-01-01"}, {"end_date": "9999-12-31"}],
)
async def test_open311_dates_out_of_range_are_refused(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    refused = await client.get("/open311/v2/requests.json", params=params)
    assert refused.status_code == 422, refused.text
    (name,) = params
    assert refused.json()[0]["description"].startswith(f"{name} is ")


async def test_no_monthly_report_before_the_calendar(
    client: httpx.AsyncClient, store: PostgresEventStore
) -> None:
    await add_user(store.pool, "sup-wang", "supervisor")
    assert (await sign_in(client, "sup-wang")).status_code == 303
    missing = await client.get("/staff/reports/monthly/0001-01.xlsx")
    assert missing.status_code == 404  # the page for a month without a report, not a 500


async def test_a_future_as_of_is_refused(
    client: httpx.AsyncClient, staff: dict[str, Headers]
) -> None:
    later = (utcnow() + timedelta(days=1)).astimezone(TZ).strftime("%Y-%m-%dT%H:%M")
    refused = await client.get("/api/v1/kpis", params={"as_of": later}, headers=staff["sup-wang"])
    assert fields(refused) == ["query.as_of"]
    assert refused.json()["errors"][0]["type"] == "as_of_in_future"
    now = utcnow().astimezone(TZ).strftime("%Y-%m-%dT%H:%M")
    kept = await client.get("/api/v1/kpis", params={"as_of": now}, headers=staff["sup-wang"])
    assert kept.status_code == 200, kept.text


def error_at(html: str, field: str) -> bool:
    return f'id="{field}-error"' in html


async def test_the_public_form_shows_the_refusal_at_the_field(
    client: httpx.AsyncClient, store: PostgresEventStore
) -> None:
    page = await client.get("/complaints/new")
    form = {
        "csrf_token": hidden(page.text, "csrf_token"),
        "form_id": hidden(page.text, "form_id"),
        "subject": "停水\u0000未通知",
        "description": "小区连续两天停水\r\n第二行",
        "phone": "13912345678",
        "happened_at": "0108-03-01T10:00",
    }
    shown = await client.post("/complaints/new", data=form)
    assert shown.status_code == 422, shown.text
    assert error_at(shown.text, "subject") and error_at(shown.text, "happened_at")
    assert not error_at(shown.text, "description")  # CR LF is a line break, not a control
    # Corrected at the field, not "try again later": nothing here asks to resubmit.
    assert "稍后" not in shown.text and "later" not in shown.text
    assert await stored(store) == 0


async def test_the_staff_registration_form_shows_the_refusal_at_the_field(
    client: httpx.AsyncClient, store: PostgresEventStore
) -> None:
    await add_user(store.pool, "op-li", "operator")
    assert (await sign_in(client, "op-li")).status_code == 303
    page = await client.get("/staff/intake/new")
    form = {
        "csrf_token": hidden(page.text, "csrf_token"),
        "form_id": hidden(page.text, "form_id"),
        "channel": "letter",
        "received_at": "1900-03-01T09:00",
        "subject": "停水",
        "description": "来信\u0000反映",
        "name": "王五",
        "address": "幸福路1号",
    }
    shown = await client.post("/staff/intake/new", data=form)
    assert shown.status_code == 422, shown.text
    assert error_at(shown.text, "received_at") and error_at(shown.text, "description")
    assert await stored(store) == 0


async def test_open311_refuses_a_nul_naming_the_field(
    client: httpx.AsyncClient, database_url: str, store: PostgresEventStore
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        issued = await keys.add_key(conn, "test-app")
    finally:
        await conn.close()
    form = {
        "api_key": issued.key,
        "service_code": "water_repair",
        "address_string": "幸福路1号",
        "description": "水管\u0000漏水",
    }
    refused = await client.post("/open311/v2/requests.json", data=form)
    # Open311 answers its own error array, 400 for every invalid field.
    assert refused.status_code == 400, refused.text
    assert any(re.match(r"description: .*U\+0000", e["description"]) for e in refused.json())
    assert await stored(store) == 0

"""A letter registered at the desk beyond the late-entry window (补录,
docs/late-entries.md), through the staff registration form: the form asks for
the reason; an operator is refused at the received time, a supervisor without
a reason at the reason, each with the domain's refusal said at its field and
nothing stored; a supervisor with a reason registers it, marked as a late
entry. The gateway runs in-process, intake's submit endpoint too, on the
deployment's default windows."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import httpx
import pytest
from faststream.nats import NatsBroker

from tests.web_kit import add_user, gateway_client, hidden, sign_in
from tousu.services.gateway.web.staff.intake import local_input
from tousu.services.intake import endpoints
from tousu.services.intake.intake import Intake
from tousu.shared.application.context_source import ContextSource
from tousu.shared.application.credentials import credential_key
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.application.nats_commands import register_requests
from tousu.shared.events import utcnow
from tousu.shared.keys import access_code_key
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

REASON = "来信夹在其他公文中，清理时发现"


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(settings) as c:
        yield c


@pytest.fixture
async def intake(settings: Settings, store: PostgresEventStore) -> AsyncIterator[None]:
    """intake's submit over NATS, deciding with the deployment's settings."""
    executor = CommandExecutor(store, ContextSource.for_settings(settings))
    desk = Intake(store, executor, access_code_key=access_code_key(settings))
    broker = NatsBroker(str(settings.nats_url))
    requests = {"submit": endpoints.submit(desk)}
    register_requests(broker, settings.naming, "intake", requests, key=credential_key(settings))
    await broker.start()
    try:
        yield
    finally:
        await broker.stop()


async def letter(client: httpx.AsyncClient, **extra: str) -> httpx.Response:
    """A letter received 40 days ago, registered through the form."""
    page = await client.get("/staff/intake/new")
    assert page.status_code == 200
    form = {
        "csrf_token": hidden(page.text, "csrf_token"),
        "form_id": hidden(page.text, "form_id"),
        "channel": "letter",
        "received_at": local_input(utcnow() - timedelta(days=40)),
        "name": "周红",
        "address": "某市东城区和平路 12 号",
        "subject": "社区服务站长期无人值守",
        "description": "多次前往社区服务站办事均无人接待。",
        **extra,
    }
    return await client.post("/staff/intake/new", data=form)


def error_at(html: str, field: str) -> str:
    """The error shown at ``field`` (without the screen reader's "错误：")."""
    found = re.search(rf'id="{field}-error"[^>]*>(.*?)</p>', html, re.S)
    assert found, f"no error at {field}"
    shown = re.sub(r'<span class="visually-hidden">.*?</span>', "", found.group(1))
    return re.sub(r"<[^>]+>", "", shown).strip()


async def received(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM events WHERE type = 'ComplaintReceived'"))


async def test_a_late_letter_needs_a_supervisor_and_a_reason_on_the_form(
    client: httpx.AsyncClient, intake: None, store: PostgresEventStore, settings: Settings
) -> None:
    pool = store.pool
    await add_user(pool, "op-li", "operator")
    await add_user(pool, "sup-wang", "supervisor")
    days = settings.late_registration_days

    # The form asks for the reason, saying when it is needed.
    assert (await sign_in(client, "op-li")).status_code == 303
    page = await client.get("/staff/intake/new")
    assert 'name="late_reason"' in page.text and "补录原因" in page.text
    assert f"仅当收到时间早于 {days} 天前时填写" in page.text

    # An operator may not register it, reason or not: said at the received time.
    refused = await letter(client, late_reason=REASON)
    assert refused.status_code == 422
    assert "收到时间已超过补录期限" in error_at(refused.text, "received_at")
    assert "须由督办员登记" in error_at(refused.text, "received_at")
    assert f'value="{REASON}"' in refused.text  # kept, to send again
    assert await received(pool) == 0

    # A supervisor must give the reason: said at the reason.
    client.cookies.clear()
    assert (await sign_in(client, "sup-wang")).status_code == 303
    refused = await letter(client)
    assert refused.status_code == 422
    assert error_at(refused.text, "late_reason") == "超过补录期限的登记须填写补录原因。"
    assert await received(pool) == 0

    # With it, registered, and marked as a late entry with its reason.
    done = await letter(client, late_reason=REASON)
    assert done.status_code == 200, done.text
    assert 'id="access-code"' in done.text
    mark = await pool.fetchval("SELECT data FROM events WHERE type = 'LateEntryRecorded'")
    mark = mark if isinstance(mark, dict) else json.loads(mark)
    assert mark["reason"] == REASON and mark["approved_by"] == "sup-wang"
    assert mark["window"] == "registration" and mark["within_window"] is False

"""A web or WeChat complaint that reached the organisation outside tousu (an
e-mail to an office, a WeChat message to a staff phone) registered by an
operator at the staff form with the time it came, days ago: the form offers
both channels and the received time, and the registration is within the
window staff have for it (docs/late-entries.md), marked as a late entry."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from tests.integration.test_web_late_registration import client, intake, received
from tests.web_kit import add_user, hidden, sign_in
from tousu.services.gateway.web.staff.intake import local_input
from tousu.shared.events import utcnow
from tousu.shared.store.postgres import PostgresEventStore

__all__ = ["client", "intake"]  # the fixtures, shared with the letter's test


@pytest.mark.parametrize("channel", ["web", "wechat"])
async def test_an_operator_registers_a_web_or_wechat_complaint_of_days_ago(
    channel: str, client: httpx.AsyncClient, intake: None, store: PostgresEventStore
) -> None:
    await add_user(store.pool, "op-li", "operator")
    assert (await sign_in(client, "op-li")).status_code == 303
    page = await client.get("/staff/intake/new")
    assert f'id="channel-{channel}"' in page.text and 'name="received_at"' in page.text
    assert "系统外收到" in page.text
    came = utcnow() - timedelta(days=10)
    form = {
        "csrf_token": hidden(page.text, "csrf_token"),
        "form_id": hidden(page.text, "form_id"),
        "channel": channel,
        "received_at": local_input(came),
        "name": "李娜",
        "email": "lina@example.cn",
        "subject": "办事大厅叫号系统故障",
        "description": "十天前发邮件反映叫号系统故障，至今无人答复。",
    }
    done = await client.post("/staff/intake/new", data=form)
    assert done.status_code == 200, done.text
    assert await received(store.pool) == 1
    row = await store.pool.fetchrow(
        "SELECT occurred_at, data FROM events WHERE type = 'ComplaintReceived'"
    )
    assert abs(row["occurred_at"] - came) < timedelta(minutes=1)  # the form keeps minutes
    data = row["data"] if isinstance(row["data"], dict) else json.loads(row["data"])
    assert data["channel"] == channel
    mark = await store.pool.fetchval("SELECT data FROM events WHERE type = 'LateEntryRecorded'")
    mark = mark if isinstance(mark, dict) else json.loads(mark)
    assert (mark["window"], mark["within_window"], mark["approved_by"]) == (
        "registration",
        True,
        None,
    )

"""The staff registration form as an operator reads it for a web or WeChat
complaint that came outside tousu: without a phone number or e-mail the
refusal is said at the phone number, naming what the channel needs (it was a
bare "请填写此项。" in the summary, linked to a field the desk's form does not
have, and no field marked); and one received beyond the late-entry window is
refused at the received time without naming only calls, letters and visits."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.integration.test_web_late_registration import client, error_at, intake, received
from tests.web_kit import add_user, hidden, sign_in
from tousu.services.gateway.web.staff.intake import local_input
from tousu.shared.events import utcnow
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

__all__ = ["client", "intake"]  # the fixtures, shared with the letter's test


async def web_complaint(
    client: httpx.AsyncClient, channel: str, days_ago: int, **extra: str
) -> httpx.Response:
    page = await client.get("/staff/intake/new")
    form = {
        "csrf_token": hidden(page.text, "csrf_token"),
        "form_id": hidden(page.text, "form_id"),
        "channel": channel,
        "received_at": local_input(utcnow() - timedelta(days=days_ago)),
        "subject": "办事大厅叫号系统故障",
        "description": "发邮件反映叫号系统故障，至今无人答复。",
        **extra,
    }
    return await client.post("/staff/intake/new", data=form)


@pytest.mark.parametrize("channel", ["web", "wechat"])
async def test_no_way_to_reply_is_said_at_the_phone_number(
    channel: str, client: httpx.AsyncClient, store: PostgresEventStore
) -> None:
    await add_user(store.pool, "op-li", "operator")
    assert (await sign_in(client, "op-li")).status_code == 303
    refused = await web_complaint(client, channel, 3, name="李娜")
    assert refused.status_code == 422
    assert error_at(refused.text, "phone") == "网站、微信投诉须留联系电话或电子邮箱，以便答复。"
    # The summary names the field and links to it.
    assert '<a href="#phone">联系电话：网站、微信投诉须留联系电话或电子邮箱' in refused.text
    assert 'href="#contact"' not in refused.text
    assert await received(store.pool) == 0


async def test_a_web_complaint_beyond_the_window_is_refused_at_the_received_time(
    client: httpx.AsyncClient, intake: None, store: PostgresEventStore, settings: Settings
) -> None:
    await add_user(store.pool, "op-li", "operator")
    assert (await sign_in(client, "op-li")).status_code == 303
    days = settings.late_registration_days
    refused = await web_complaint(client, "web", days + 10, email="lina@example.cn")
    assert refused.status_code == 422
    said = error_at(refused.text, "received_at")
    assert said == (
        f"收到时间已超过补录期限（须在收到后 {days} 天内登记）：须由督办员登记并填写补录原因。"
    )
    assert await received(store.pool) == 0

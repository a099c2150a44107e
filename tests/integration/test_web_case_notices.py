"""The staff case page's 告知记录 (notice delivery): how each notice to the
complainant went out — sent, retried, given up and why — read from followup's
outbox after its dispatcher tried them, on a real PostgreSQL with the gateway
in-process; never the complainant's number."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import httpx
import pytest

from tests.domain_kit import HANDLER, OPERATOR, ReplayExecutor
from tests.web_kit import add_user, gateway_client, sign_in
from tousu.services.followup.notices import (
    Dispatcher,
    NoticeChannel,
    NoticeKind,
    Notification,
    SendError,
    WebSender,
    enqueue_all,
)
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import DecisionContext
from tousu.shared.events import complaint_stream, utcnow
from tousu.shared.events.types import Channel, Complainant
from tousu.shared.settings import NotifySection, Settings
from tousu.shared.store.postgres import PostgresEventStore

PHONE = "13912345678"
MASKED = "139****5678"
TRACKING_NO = "TS-2026-000777"
# What Tencent Cloud answers for a number on the do-not-disturb list; a
# provider may quote the number, which must not reach the page.
BLACKLISTED = (
    f"tencent SendStatusSet[0] FailedOperation.PhoneNumberInBlacklist: "
    f"+86{PHONE} 手机号在免打扰名单库中"
)
THROTTLED = "tencent LimitExceeded.PhoneNumberDailyLimit: 单个手机号日下发条数超过设定的上限"


class Gateway:
    """An SMS sender that takes the acceptance notice, refuses the result for
    good (the number is blacklisted) and the progress notice for now."""

    async def send(self, n: Notification) -> str:
        if n.kind == NoticeKind.RESULT:
            raise SendError(BLACKLISTED, retryable=False)
        if n.kind == NoticeKind.PROGRESS:
            raise SendError(THROTTLED, retryable=True)
        return f"serial-{n.id.hex[:8]}"


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(settings) as c:
        yield c


async def phoned_in_case(store: PostgresEventStore) -> uuid.UUID:
    """A complaint by phone, accepted, routed to water and claimed by h-zhao."""
    executor = ReplayExecutor(
        store, lambda: DecisionContext(calendar=WorkdayCalendar(), now=utcnow())
    )
    cid = uuid.uuid4()
    at = utcnow() - timedelta(minutes=10)
    await executor.execute(
        cid,
        c.SubmitComplaint(
            actor=OPERATOR,
            occurred_at=at,
            channel=Channel.PHONE,
            tracking_no=TRACKING_NO,
            complainant=Complainant(name="王五", phone=PHONE),
            subject="小区停水三天无人处理",
            description="停水三天，物业和水务都说不归自己管。",
        ),
    )
    await executor.execute(
        cid,
        c.AcceptComplaint(
            actor=OPERATOR, occurred_at=at + timedelta(minutes=1), category="service_quality"
        ),
    )
    await executor.execute(
        cid,
        c.RouteComplaint(actor=OPERATOR, occurred_at=at + timedelta(minutes=2), department="water"),
    )
    await executor.execute(cid, c.ClaimCase(actor=HANDLER, occurred_at=at + timedelta(minutes=3)))
    return cid


async def notices_tried(store: PostgresEventStore, database_url: str, cid: uuid.UUID) -> None:
    """The case's notices in the outbox (each on SMS and on the web page, as
    followup's notifier writes them), tried once by a dispatcher."""
    events = await store.read_stream(complaint_stream(cid))
    accepted = next(e for e in events if e.type == "ComplaintAccepted")
    routed = next(e for e in events if e.type == "ComplaintRouted")
    claimed = next(e for e in events if e.type == "CaseClaimed")
    notices = [
        Notification(
            source_event_id=source.event_id,
            complaint_id=cid,
            tracking_no=TRACKING_NO,
            kind=kind,
            channel=channel,
            recipient=PHONE if channel == NoticeChannel.SMS else None,
            recipient_name="王五",
            title=f"{kind} {TRACKING_NO}",
            body="您好：……",
        )
        for source, kind in (
            (accepted, NoticeKind.ACCEPTANCE),
            (routed, NoticeKind.PROGRESS),
            (claimed, NoticeKind.RESULT),
        )
        for channel in (NoticeChannel.SMS, NoticeChannel.WEB)
    ]
    async with store.pool.acquire() as conn, conn.transaction():
        assert await enqueue_all(conn, notices, notify=False) == 6
    dispatcher = Dispatcher(
        store.pool,
        {NoticeChannel.SMS: Gateway(), NoticeChannel.WEB: WebSender()},
        database_url=database_url,
        settings=NotifySection(max_attempts=8, backoff_base=600, batch_size=10),
        name="test",
    )
    assert await dispatcher.run_once() == 6


def section(html: str) -> str:
    found = re.search(r'<section aria-labelledby="deliveries-title".*?</section>', html, re.S)
    assert found, "no 告知记录 section"
    return found.group(0)


def rows(html: str) -> dict[str, str]:
    """Each listed notice's status by its text."""
    return {
        status: item
        for status, item in re.findall(
            r'<li class="delivery [^"]*" data-notice-status="(\w+)">(.*?)</li>', html, re.S
        )
    }


async def test_the_case_page_shows_how_each_notice_went(
    client: httpx.AsyncClient, pool: asyncpg.Pool, store: PostgresEventStore, database_url: str
) -> None:
    cid = await phoned_in_case(store)
    await notices_tried(store, database_url, cid)

    # The supervisor, who sees the case with its complainant masked.
    await add_user(pool, "sup-wang", "supervisor")
    await sign_in(client, "sup-wang")
    page = await client.get(f"/staff/cases/{cid}")
    assert page.status_code == 200, page.text
    html = page.text
    notices = section(html)
    assert "告知记录" in notices
    # One row a notice: the web page's copies go unlisted beside the SMS.
    listed = rows(notices)
    # In the order of the handling, as the timeline.
    statuses = re.findall(r'data-notice-status="(\w+)"', notices)
    assert statuses == ["sent", "retrying", "dead"], statuses
    assert set(listed) == {"sent", "retrying", "dead"}, listed
    assert "受理告知" in listed["sent"] and "已发送" in listed["sent"]
    assert "短信" in listed["sent"] and MASKED in listed["sent"]
    assert "办理进度" in listed["retrying"] and "重试中" in listed["retrying"]
    assert "LimitExceeded.PhoneNumberDailyLimit" in listed["retrying"]
    assert "下次重试" in listed["retrying"]
    # The dead one stands out, with the provider's reason and what to do.
    assert "处理结果反馈" in listed["dead"] and "发送失败，已放弃" in listed["dead"]
    assert "FailedOperation.PhoneNumberInBlacklist" in listed["dead"]
    assert "badge-red" in listed["dead"] and "请以其他方式" in listed["dead"]
    assert "1 份未送达" in notices
    # Seen at the top of the page too, a link to the section.
    assert re.search(r'href="#notice-deliveries" data-undelivered>1 份未送达</a>', html)
    # Nowhere on the page the number, neither the complainant's nor the one
    # the provider quoted in its refusal.
    assert PHONE not in html and MASKED in html

    english = section((await client.get(f"/staff/cases/{cid}?lang=en")).text)
    assert "Notice delivery" in english and "failed, given up" in english
    assert "Acceptance notice" in english and "1 try" in english

    # The handler the case is assigned to sees the complainant's number in the
    # complaint (that view is logged); the notices still show it masked.
    client.cookies.clear()
    await add_user(pool, "h-zhao", "handler", "water")
    await sign_in(client, "h-zhao")
    mine = (await client.get(f"/staff/cases/{cid}")).text
    assert PHONE in mine
    assert PHONE not in section(mine) and set(rows(section(mine))) == {"sent", "retrying", "dead"}


async def test_no_notice_yet(
    client: httpx.AsyncClient, pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    cid = await phoned_in_case(store)
    await add_user(pool, "sup-wang", "supervisor")
    await sign_in(client, "sup-wang")
    html = (await client.get(f"/staff/cases/{cid}")).text
    notices = section(html)
    assert "尚无告知记录" in notices and "data-notice-status" not in notices
    assert "data-undelivered" not in html

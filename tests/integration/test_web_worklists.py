"""The worklists (docs/supervision-web.md) on a real PostgreSQL, the gateway
in-process, the projections brought up to date: the follow-up worklist, the
supervision office's open 督办 items, the 督办 form on the case page, the
links between a 监督举报 and the complaint it names, and intake finding (or
refusing) that complaint. The forms that need the services are walked in
tests/browser/test_operator_and_supervisor.py."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import httpx
import pytest

from tests.domain_kit import HANDLER, OPERATOR, SUPERVISOR, ReplayExecutor
from tests.helpers import project_everything
from tests.web_kit import add_user, gateway_client, sign_in
from tousu.services.gateway.web.formatting import day
from tousu.services.intake.intake import Intake
from tousu.shared.application.context_source import ContextSource
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import DecisionContext
from tousu.shared.domain.errors import InvalidCommand
from tousu.shared.events import Actor, utcnow
from tousu.shared.events.types import Channel, Complainant, PlanMeasure
from tousu.shared.intake.submission import Submission
from tousu.shared.keys import access_code_key
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

CALENDAR = WorkdayCalendar()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(settings) as c:
        yield c


class Cases:
    """Histories written as they happened, a few hours ago up to now."""

    def __init__(self, store: PostgresEventStore) -> None:
        self.executor = ReplayExecutor(
            store, lambda: DecisionContext(calendar=CALENDAR, now=utcnow())
        )
        self.at = utcnow() - timedelta(hours=6)

    async def do(self, cid: uuid.UUID, command: type[c.Command], actor: Actor, **f: object) -> None:
        self.at += timedelta(minutes=5)
        await self.executor.execute(cid, command(actor=actor, occurred_at=self.at, **f))

    async def filed(self, n: int, **fields: object) -> uuid.UUID:
        cid = uuid.uuid4()
        await self.do(
            cid,
            c.SubmitComplaint,
            OPERATOR,
            channel=Channel.PHONE,
            tracking_no=f"TS2612-{n:05d}-00000",
            complainant=Complainant(name="王五", phone="13700000000"),
            subject=f"投诉 {n}",
            description="路灯不亮",
            **fields,
        )
        return cid

    async def handling(self, n: int) -> uuid.UUID:
        cid = await self.filed(n)
        await self.do(cid, c.AcceptComplaint, OPERATOR, category="service_quality")
        await self.do(cid, c.RouteComplaint, OPERATOR, department="water")
        await self.do(cid, c.ClaimCase, HANDLER)
        await self.do(cid, c.RecordInvestigation, HANDLER, findings="已核实")
        measure = PlanMeasure(measure="修复路灯", owner="h-zhao")
        await self.do(cid, c.ProposePlan, HANDLER, measures=[measure], summary="修复")
        await self.do(cid, c.RecordConsultation, HANDLER, agrees=True)
        return cid

    async def fed_back(self, n: int) -> uuid.UUID:
        cid = await self.handling(n)
        await self.do(cid, c.ResolveComplaint, HANDLER, result="已修复", basis="规定")
        await self.do(cid, c.SendFeedback, HANDLER)
        return cid


async def test_the_follow_up_worklist(
    client: httpx.AsyncClient, pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    cases = Cases(store)
    tried = await cases.fed_back(1)
    await cases.do(tried, c.RecordFollowUp, OPERATOR, satisfaction="unreachable")
    fresh = await cases.fed_back(2)
    closed = await cases.fed_back(3)
    await cases.do(closed, c.RecordFollowUp, OPERATOR, satisfaction="satisfied")
    handling = await cases.handling(4)
    await project_everything(store)
    await add_user(pool, "op-li", "operator")
    await add_user(pool, "h-zhao", "handler", "water")

    await sign_in(client, "op-li")
    page = await client.get("/staff/follow-ups")
    assert page.status_code == 200, page.text
    html = page.text
    assert "待回访清单" in html and 'href="/staff/follow-ups" aria-current="page"' in html
    listed = re.findall(r'data-tracking-no="([^"]+)"', html)
    # Both fed back today: the same due date (the earliest due come first).
    assert sorted(listed) == ["TS2612-00001-00000", "TS2612-00002-00000"]
    assert f'href="/staff/cases/{tried}#follow-up-satisfaction"' in html
    assert f'href="/staff/cases/{fresh}"' in html
    assert str(closed) not in html and str(handling) not in html
    row = html[html.index('data-tracking-no="TS2612-00001-00000"') :]
    row = row[: row.index("</tr>")]
    assert "1 次未接通" in row and "最近一次" in row and "badge-" in row
    assert "尚未回访" in html  # the second: no attempt yet
    english = await client.get("/staff/follow-ups?lang=en")
    assert "Follow-up worklist" in english.text and "1 attempt not reached" in english.text

    # The case it links to offers the follow-up form to the operator.
    case = await client.get(f"/staff/cases/{tried}")
    assert 'id="action-follow-up"' in case.text

    client.cookies.clear()
    await sign_in(client, "h-zhao")
    assert (await client.get("/staff/follow-ups")).status_code == 403


async def test_the_supervision_list_and_the_form_on_the_case_page(
    client: httpx.AsyncClient, pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    cases = Cases(store)
    supervised = await cases.handling(1)
    respond_by = utcnow() + timedelta(days=3)
    await cases.do(
        supervised,
        c.RaiseSupervision,
        SUPERVISOR,
        kind="manual",
        note="群众反映强烈，请三日内办结",
        respond_by=respond_by,
    )
    settled = await cases.fed_back(2)
    await cases.do(settled, c.RaiseSupervision, SUPERVISOR, kind="manual", note="已办结的督办")
    await cases.do(settled, c.RecordFollowUp, OPERATOR, satisfaction="satisfied")
    warned = await cases.handling(3)
    await cases.do(warned, c.RaiseSupervision, SUPERVISOR, kind="manual", note="请核实办理进度")
    await project_everything(store)
    await add_user(pool, "sup-wang", "supervisor")
    await add_user(pool, "op-li", "operator")
    await add_user(pool, "h-zhao", "handler", "water")

    await sign_in(client, "sup-wang")
    page = await client.get("/staff/supervision")
    assert page.status_code == 200, page.text
    html = page.text
    assert "未结督办事项" in html
    # Open: the two cases still in handling; the closed case's 督办 is settled.
    listed = re.findall(r'data-tracking-no="([^"]+)"', html)
    assert listed == ["TS2612-00001-00000", "TS2612-00003-00000"]  # a date to answer by first
    assert "群众反映强烈，请三日内办结" in html and "督查室督办" in html
    assert "已办结的督办" not in html
    assert day(respond_by, "zh") in html  # the date to answer by
    assert "未设时限" in html  # the second has no date to answer by
    assert "Sup-Wang" in html  # who raised it, by name

    # The 督办 form on the case page, for a supervisor; not for a handler.
    case = await client.get(f"/staff/cases/{supervised}")
    assert f'action="/staff/cases/{supervised}/supervise"' in case.text
    assert 'name="respond_by"' in case.text and 'type="date"' in case.text
    assert "办理时限" in case.text  # the raised one's date, under the notices
    closed = await client.get(f"/staff/cases/{settled}")
    assert "/supervise" not in closed.text  # a finished case is not supervised

    for who in ("op-li", "h-zhao"):
        client.cookies.clear()
        await sign_in(client, who)
        assert (await client.get("/staff/supervision")).status_code == 403
        if who == "h-zhao":
            case = await client.get(f"/staff/cases/{supervised}")
            assert case.status_code == 200 and "/supervise" not in case.text


async def test_a_report_and_the_complaint_it_names_link_each_other(
    client: httpx.AsyncClient, pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    cases = Cases(store)
    earlier = await cases.handling(1)
    report = await cases.filed(
        2,
        related_tracking_no="TS2612-00001-00000",
        related_complaint_id=str(earlier),
        category="supervision",
    )
    await project_everything(store)
    await add_user(pool, "sup-wang", "supervisor")
    await add_user(pool, "h-zhao", "handler", "water")

    await sign_in(client, "sup-wang")
    on_earlier = await client.get(f"/staff/cases/{earlier}")
    assert "关联投诉" in on_earlier.text
    assert "针对本投诉处理情况的监督举报" in on_earlier.text
    assert f'href="/staff/cases/{report}"' in on_earlier.text
    on_report = await client.get(f"/staff/cases/{report}")
    assert "本件为对原投诉处理情况的监督举报" in on_report.text
    assert f'href="/staff/cases/{earlier}"' in on_report.text

    # The handler of the earlier case sees the report's number, not a link
    # to a case of the supervision office's that would answer 404.
    client.cookies.clear()
    await sign_in(client, "h-zhao")
    as_handler = await client.get(f"/staff/cases/{earlier}")
    assert as_handler.status_code == 200
    assert "TS2612-00002-00000" in as_handler.text
    assert f'href="/staff/cases/{report}"' not in as_handler.text


async def test_the_public_form_checks_the_earlier_tracking_number(
    client: httpx.AsyncClient,
) -> None:
    form = await client.get("/complaints/new")
    assert 'name="related_tracking_no"' in form.text and "原投诉编号" in form.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    sent = await client.post(
        "/complaints/new",
        data={
            "csrf_token": token.group(1),
            "subject": "对处理结果有意见",
            "description": "上次投诉的处理敷衍了事。",
            "phone": "13900000000",
            "related_tracking_no": "not a number",
        },
    )
    assert sent.status_code == 422
    assert "请按告知书上的格式填写投诉编号" in sent.text
    assert 'value="not a number"' in sent.text  # kept to correct


def _intake(store: PostgresEventStore, settings: Settings) -> Intake:
    executor = CommandExecutor(store, ContextSource.for_settings(settings))
    return Intake(store, executor, access_code_key=access_code_key(settings))


def _report(number: str, ref: str) -> Submission:
    return Submission(
        channel=Channel.WEB,
        external_ref=ref,
        complainant=Complainant(phone="13900000000"),
        subject="对处理结果有意见",
        description="上次投诉的处理敷衍了事。",
        category="supervision",
        related_tracking_no=number,
    )


async def test_intake_finds_the_complaint_a_report_names(
    store: PostgresEventStore, settings: Settings
) -> None:
    desk = _intake(store, settings)
    channel = Actor(id="channel:web", role="system")
    earlier = await desk.submit(_report_less(), channel, details=False)
    # Typed loosely (lower case, spaces), as people do.
    loose = earlier.tracking_no.lower().replace("-", " ")
    filed = await desk.submit(_report(loose, "r-1"), channel, details=False)
    stored = await store.pool.fetchrow(
        "SELECT data FROM events WHERE stream_id = $1 AND type = 'ComplaintReceived'",
        f"complaint-{filed.complaint_id}",
    )
    assert stored is not None
    data = stored["data"]
    data = data if isinstance(data, dict) else json.loads(data)
    assert data["related_complaint_id"] == str(earlier.complaint_id)
    assert data["related_tracking_no"] == earlier.tracking_no

    with pytest.raises(InvalidCommand) as refused:
        await desk.submit(_report("TS2612-77470-16352", "r-2"), channel, details=False)
    assert refused.value.field == "related_tracking_no"
    count = await store.pool.fetchval(
        "SELECT count(*) FROM events WHERE type = 'ComplaintReceived'"
    )
    assert count == 2  # nothing stored for the refused one


def _report_less() -> Submission:
    return Submission(
        channel=Channel.WEB,
        external_ref="first",
        complainant=Complainant(phone="13900000000"),
        subject="路灯不亮",
        description="小区路灯坏了一个月。",
    )

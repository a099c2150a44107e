"""The order of the handling steps on the staff case page and the API: the
next step named, the actions the domain would refuse shown disabled with the
missing step, a form posted anyway answered 409 with it (nothing stored), the
API's 409 naming the state and the step; and the register's short path
offered, taken and shown on the timeline for an item that allows it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from faststream.nats import NatsBroker

from tests.domain_kit import OPERATOR, START, ReplayExecutor, as_it_happens
from tests.lifecycle import staff_tokens
from tests.web_kit import add_user, gateway_client, hidden, sign_in
from tousu.services.gateway.complaints.actions import ACTIONS
from tousu.shared.application.credentials import credential_key
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.application.nats_commands import register_commands
from tousu.shared.domain import commands as c
from tousu.shared.events import Actor
from tousu.shared.events.types import Channel, Complainant
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

HANDLER = Actor(id="h-chen", role="handler", department="urban_management")
STEP = timedelta(hours=1)


@pytest.fixture
async def services(settings: Settings, store: PostgresEventStore) -> AsyncIterator[CommandExecutor]:
    """The services' command endpoints, in process, deciding with the
    packaged register's short-path entries as the services do."""
    register = CommitmentRegister.load()
    executor = ReplayExecutor(store, as_it_happens(short_path_allowed=register.allows_short_path))
    broker = NatsBroker(str(settings.nats_url))
    for service in {a.service for a in ACTIONS}:
        commands = {a.name: a.command for a in ACTIONS if a.service == service}
        register_commands(
            broker, settings.naming, service, commands, executor, key=credential_key(settings)
        )
    await broker.start()
    try:
        yield executor
    finally:
        await broker.stop()


async def claimed(executor: CommandExecutor, service_item: str | None) -> uuid.UUID:
    cid = uuid.uuid4()
    steps: list[c.Command] = [
        c.SubmitComplaint(
            actor=OPERATOR,
            occurred_at=START,
            channel=Channel.PHONE,
            tracking_no=f"TS2603-{cid.hex[:4]}-00",
            complainant=Complainant(name="王五", phone="13700000000"),
            subject="路灯不亮",
            description="小区门口路灯连续一周不亮",
            service_item=service_item,
        ),
        c.AcceptComplaint(actor=OPERATOR, occurred_at=START + STEP, category="service_quality"),
        c.RouteComplaint(
            actor=OPERATOR, occurred_at=START + 2 * STEP, department="urban_management"
        ),
        c.ClaimCase(actor=HANDLER, occurred_at=START + 3 * STEP),
    ]
    for command in steps:
        await executor.execute(cid, command)
    return cid


def form(page: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": hidden(page, "csrf_token"),
        "idempotency_key": str(uuid.uuid4()),
        "case_version": hidden(page, "case_version"),
        **fields,
    }


async def test_the_case_page_names_the_next_step_and_holds_back_later_ones(
    settings: Settings, services: CommandExecutor, pool: asyncpg.Pool
) -> None:
    cid = await claimed(services, None)
    await add_user(pool, HANDLER.id, "handler", "urban_management")
    async with gateway_client(settings) as client:
        assert (await sign_in(client, HANDLER.id)).status_code == 303
        page = await client.get(f"/staff/cases/{cid}")
        assert page.status_code == 200, page.text
        html = page.text
        assert "下一步：调查核实。" in html
        # The investigation is offered; the later steps are shown, disabled, with why.
        assert f'action="/staff/cases/{cid}/investigation"' in html
        for later in ("plan", "consultation", "progress", "resolve"):
            assert f'action="/staff/cases/{cid}/{later}"' not in html
            assert f'id="action-{later}" aria-disabled="true"' in html
        assert html.count("暂不能办理：须先完成调查核实。") == 4
        assert "resolve-short" not in html  # no item: no short path
        # A form posted anyway: refused with the missing step, nothing sent.
        before = (await services.load(cid)).version
        posted = await client.post(
            f"/staff/cases/{cid}/resolve", data=form(html, result="已修复", basis="规范")
        )
        assert posted.status_code == 409
        assert "暂不能办理：须先完成调查核实。" in posted.text
        assert (await services.load(cid)).version == before

        # The investigation recorded, the plan is next.
        done = await client.post(
            f"/staff/cases/{cid}/investigation", data=form(html, findings="线路老化")
        )
        assert done.status_code == 303, done.text
        page = await client.get(f"/staff/cases/{cid}")
        assert "下一步：制定处理方案（措施、责任分工、时间安排）。" in page.text
        assert f'action="/staff/cases/{cid}/plan"' in page.text
        assert 'id="action-consultation" aria-disabled="true"' in page.text
        english = await client.get(f"/staff/cases/{cid}?lang=en")
        assert "Next step: a handling plan (measures, owners, dates)." in english.text
        assert "Not yet: record a handling plan (measures, owners, dates) first." in english.text


async def test_the_api_refuses_out_of_order_with_the_state_and_the_step(
    settings: Settings, services: CommandExecutor, database_url: str
) -> None:
    cid = await claimed(services, None)
    headers = await staff_tokens(database_url, [(HANDLER.id, "handler", "urban_management")])
    async with gateway_client(settings) as client:
        url = f"/api/v1/complaints/{cid}"
        case = await client.get(url, headers=headers[HANDLER.id])
        assert case.json()["next_step"] == "investigation"
        response = await client.post(
            f"{url}/consultation", json={"agrees": True}, headers=headers[HANDLER.id]
        )
        assert response.status_code == 409, response.text
        problem = response.json()
        assert problem["current_state"] == "claimed"
        assert problem["missing_step"] == "investigation"
        assert "调查核实" in problem["detail"]
    assert (await services.load(cid)).version == 4  # nothing stored


async def test_the_short_path_is_offered_taken_and_shown_for_an_item_that_allows_it(
    settings: Settings, services: CommandExecutor, pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    cid = await claimed(services, "street_light_repair")
    await services.execute(
        cid, c.RecordInvestigation(actor=HANDLER, occurred_at=START + 4 * STEP, findings="灯泡损坏")
    )
    await add_user(pool, HANDLER.id, "handler", "urban_management")
    async with gateway_client(settings) as client:
        assert (await sign_in(client, HANDLER.id)).status_code == 303
        page = await client.get(f"/staff/cases/{cid}")
        html = page.text
        # The full order's resolve waits for the plan; the short path is offered.
        assert 'id="action-resolve" aria-disabled="true"' in html
        assert f'action="/staff/cases/{cid}/resolve-short"' in html
        # Progress on a short-path item follows the investigation, as decided.
        assert f'action="/staff/cases/{cid}/progress"' in html
        posted = await client.post(
            f"/staff/cases/{cid}/resolve-short",
            data=form(html, result="已更换灯泡", basis="路灯维护规范"),
        )
        assert posted.status_code == 303, posted.text
        stream = await store.read_stream(f"complaint-{cid}")
        resolved = stream[-1]
        assert resolved.type == "ComplaintResolved" and resolved.data["short_path"] is True
        timeline = (await client.get(f"/staff/cases/{cid}")).text
        assert "按服务承诺登记表允许的简易程序办理" in timeline

"""A department system answering back over HTTP with a service account:
`tousu users add --service` makes one (no password, shown as such), `tousu users
token` gives it a long-lived token, and with it the system claims and feeds back
its department's case through /api/v1/complaints/...; another department's case
is refused, and it can never sign in."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from faststream.nats import NatsBroker

from tests.domain_kit import OPERATOR, START, ReplayExecutor, as_it_happens
from tests.helpers import tousu
from tests.web_kit import gateway_client, sign_in
from tousu.services.gateway.auth import repository as repo
from tousu.services.gateway.complaints.actions import ACTIONS
from tousu.shared.application.credentials import credential_key
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.application.nats_commands import register_commands
from tousu.shared.domain import commands as c
from tousu.shared.events import complaint_stream
from tousu.shared.events.types import Channel, Complainant
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

STEP = timedelta(hours=1)


@pytest.fixture
async def command_services(
    settings: Settings, store: PostgresEventStore
) -> AsyncIterator[CommandExecutor]:
    """The services' command endpoints, in process on the test's store."""
    executor = ReplayExecutor(store, as_it_happens())
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


async def routed_case(executor: CommandExecutor, department: str) -> uuid.UUID:
    cid = uuid.uuid4()
    steps: list[c.Command] = [
        c.SubmitComplaint(
            actor=OPERATOR,
            occurred_at=START,
            channel=Channel.PHONE,
            tracking_no=f"TS2603-{cid.hex[:4]}-00",
            complainant=Complainant(name="王五", phone="13700000000"),
            subject="停水",
            description="小区停水两天",
        ),
        c.AcceptComplaint(actor=OPERATOR, occurred_at=START + STEP, category="service_quality"),
        c.RouteComplaint(actor=OPERATOR, occurred_at=START + 2 * STEP, department=department),
    ]
    for command in steps:
        await executor.execute(cid, command)
    return cid


async def test_a_service_account_answers_back_for_its_department_only(
    child_env: dict[str, str],
    settings: Settings,
    command_services: CommandExecutor,
    store: PostgresEventStore,
    pool: asyncpg.Pool,
) -> None:
    code, out, err = await tousu(
        child_env, "users", "add", "water-system", "--service", "-d", "water"
    )
    assert code == 0, err
    assert "added water-system (handler in water, service account)" in out
    code, out, err = await tousu(child_env, "users", "list", "--json")
    assert code == 0, err
    [listed] = [json.loads(line) for line in out.splitlines()]
    assert (listed["role"], listed["department"], listed["service"]) == ("handler", "water", True)
    code, out, err = await tousu(child_env, "users", "token", "water-system")
    assert code == 0, err
    token = out.strip()
    principal = await repo.principal_for_token(pool, token)
    assert principal is not None
    [info] = await repo.list_tokens(pool, principal.user_id)
    assert info.expires_at - info.created_at > timedelta(days=364)  # long-lived, not 30 days
    refused = await tousu(child_env, "users", "add", "x-system", "--service", "-r", "operator")
    assert refused[0] != 0 and "handler, not a operator" in refused[2]

    ours = await routed_case(command_services, "water")
    theirs = await routed_case(command_services, "transport")
    auth = {"Authorization": f"Bearer {token}"}
    answers = [  # the department's answer, step by step, as its system sends it
        ("claim", None),
        ("investigation", {"findings": "管网维修未公告", "methods": ["现场勘查"]}),
        ("plan", {"measures": [{"measure": "恢复供水并公告", "owner": "water-system"}]}),
        ("consultation", {"agrees": True}),
        ("resolve", {"result": "已恢复供水", "basis": "供水条例"}),
        ("feedback", None),
    ]
    async with gateway_client(settings) as client:
        for action, body in answers:
            response = await client.post(
                f"/api/v1/complaints/{ours}/{action}", headers=auth, json=body
            )
            assert response.status_code == 200, (action, response.text)
        # Another department's case: not even there, as for any handler.
        response = await client.post(f"/api/v1/complaints/{theirs}/claim", headers=auth)
        assert response.status_code == 404, response.text
        read = await client.get(f"/api/v1/complaints/{theirs}", headers=auth)
        assert read.status_code == 404
        # No password opens it: not on the API, not on the web form.
        for password in ("x", "correct horse battery"):
            login = await client.post(
                "/api/v1/auth/token", json={"username": "water-system", "password": password}
            )
            assert login.status_code == 401, login.text
            assert (await sign_in(client, "water-system", password)).status_code != 303

    events = await store.read_stream(complaint_stream(ours))
    mine = [e for e in events if e.actor.id == "water-system"]
    types = [e.type for e in mine]
    assert types[0] == "CaseClaimed" and "ResultFeedbackSent" in types, types
    assert {(e.actor.role, e.actor.department) for e in mine} == {("handler", "water")}
    assert (await command_services.load(ours)).status == "fed_back"
    assert len(await store.read_stream(complaint_stream(theirs))) == 3  # nothing added

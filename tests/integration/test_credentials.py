"""Who sends a NATS message is its credential, not its word: the services'
request handlers and channel input as they run (intake's submit and channel
submissions, routing's and metrics' commands), on real NATS and PostgreSQL.
A channel's adapter submits for itself only, a department's system acts on its
own cases only, anyone without a credential of ours is refused."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import nats
import pytest
from faststream.nats import NatsBroker
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from tests.helpers import eventually, tousu
from tests.processes import request
from tousu.services.intake import endpoints
from tousu.services.intake.intake import Intake
from tousu.shared import dlq
from tousu.shared.application.catalogue import INTAKE, METRICS, ROUTING
from tousu.shared.application.context_source import ContextSource
from tousu.shared.application.credentials import HEADER, credential_key, issue
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.application.nats_commands import register_commands, register_requests
from tousu.shared.consumer.host import ConsumerHost
from tousu.shared.events import utcnow
from tousu.shared.keys import access_code_key
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

OPERATOR = {"id": "op-li", "role": "operator"}


@pytest.fixture
async def services(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext
) -> AsyncIterator[None]:
    """intake, routing and metrics answering as their processes do (same
    registration, same credential key from the data folder)."""
    executor = CommandExecutor(store, ContextSource.for_settings(settings))
    desk = Intake(store, executor, access_code_key=access_code_key(settings))
    key = credential_key(settings)
    naming = settings.naming
    broker = NatsBroker(str(settings.nats_url))
    register_requests(broker, naming, "intake", {"submit": endpoints.submit(desk)}, key=key)
    for entry in (INTAKE, ROUTING, METRICS):
        register_commands(broker, naming, entry.name, entry.commands, executor, key=key)
    channel = endpoints.channel_submissions(desk, settings)
    async with ConsumerHost(settings, [], inputs=[channel], broker=broker):
        yield


@pytest.fixture
async def outsider(settings: Settings) -> AsyncIterator[NatsClient]:
    """A connection that signs nothing by itself: each test names the credential."""
    client = await nats.connect(str(settings.nats_url))
    try:
        yield client
    finally:
        await client.close()


def credential(settings: Settings, kind: str, name: str) -> dict[str, str]:
    return {HEADER: issue(credential_key(settings), kind, name)}


def submission(channel: str, **extra: Any) -> dict[str, Any]:
    return {
        "channel": channel,
        "external_ref": f"{channel}-{uuid.uuid4()}",
        "complainant": {"phone": "13900000001"},
        "subject": "停水未通知",
        "description": "小区连续两天停水，供水公司未提前公告。",
        **extra,
    }


async def ask(
    client: NatsClient, subject: str, body: dict[str, Any], headers: dict[str, str] | None
) -> dict[str, Any]:
    reply = await client.request(subject, json.dumps(body).encode(), timeout=10, headers=headers)
    return dict(json.loads(reply.data))


def refused(reply: dict[str, Any]) -> str:
    assert reply["ok"] is False, reply
    return str(reply["error"]["code"])


async def received_actor(store: PostgresEventStore, complaint_id: str) -> dict[str, Any]:
    raw = await store.pool.fetchval(
        "SELECT actor FROM events WHERE stream_id = $1 AND type = 'ComplaintReceived'",
        f"complaint-{complaint_id}",
    )
    return dict(json.loads(raw) if isinstance(raw, str) else raw)


async def test_a_channel_adapter_submits_as_its_channel(
    services: None, settings: Settings, outsider: NatsClient, store: PostgresEventStore
) -> None:
    submit = settings.naming.command("intake", "submit")
    wechat = credential(settings, "channel", "wechat")

    reply = await ask(outsider, submit, {"submission": submission("wechat")}, wechat)

    assert reply["ok"] is True, reply
    actor = await received_actor(store, reply["result"]["complaint_id"])
    assert actor == {"id": "channel:wechat", "role": "system"}


async def test_a_channel_adapter_cannot_forge_an_actor_or_another_channel(
    services: None, settings: Settings, outsider: NatsClient, store: PostgresEventStore
) -> None:
    submit = settings.naming.command("intake", "submit")
    wechat = credential(settings, "channel", "wechat")
    as_admin = {"submission": submission("wechat"), "actor": {"id": "root", "role": "admin"}}

    forged = await ask(outsider, submit, as_admin, wechat)
    web = await ask(outsider, submit, {"submission": submission("web")}, wechat)
    # A department's system files nothing.
    water = await ask(
        outsider,
        submit,
        {"submission": submission("wechat")},
        credential(settings, "department", "water"),
    )

    assert refused(forged) == "forged_actor"
    assert refused(web) == "wrong_channel"
    assert refused(water) == "forbidden"
    assert await store.pool.fetchval("SELECT count(*) FROM events") == 0


async def test_without_a_credential_of_ours_nothing_is_answered_but_unauthenticated(
    services: None, settings: Settings, outsider: NatsClient, store: PostgresEventStore
) -> None:
    submit = settings.naming.command("intake", "submit")
    body = {"submission": submission("web"), "actor": OPERATOR}
    foreign = {HEADER: issue(b"a key that is not the deployment's", "trusted", "gateway")}
    ours = credential(settings, "trusted", "gateway")
    version, claims, signature = ours[HEADER].split(".")
    tampered = {HEADER: f"{version}.{claims}.{signature[:-2]}AA"}

    replies = [
        await ask(outsider, submit, body, None),
        await ask(outsider, submit, body, foreign),
        await ask(outsider, submit, body, tampered),
        await ask(outsider, settings.naming.command("metrics", "supervise"), {}, None),
    ]

    assert [refused(r) for r in replies] == ["unauthenticated"] * 4
    assert await store.pool.fetchval("SELECT count(*) FROM events") == 0


async def routed_case(client: NatsClient, settings: Settings, department: str) -> str:
    """A complaint accepted and routed to ``department`` by staff (trusted senders)."""
    naming = settings.naming
    filed = await request(
        client,
        naming.command("intake", "submit"),
        {"submission": submission("web"), "actor": OPERATOR},
    )
    complaint_id = str(filed["result"]["complaint_id"])
    for service, name, fields in (
        ("intake", "accept", {"category": "service_quality", "verification_note": "核实"}),
        ("routing", "route", {"department": department}),
    ):
        command = {"actor": OPERATOR, "occurred_at": utcnow().isoformat(), **fields}
        body = {"complaint_id": complaint_id, "command": command}
        reply = await request(client, naming.command(service, name), body)
        assert reply["ok"] is True, reply
    return complaint_id


def command(complaint_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "complaint_id": complaint_id,
        "command": {"occurred_at": utcnow().isoformat(), **fields},
    }


async def test_a_department_system_acts_on_its_own_cases_only(
    services: None,
    settings: Settings,
    nats_client: NatsClient,
    outsider: NatsClient,
    store: PostgresEventStore,
) -> None:
    naming = settings.naming
    ours = await routed_case(nats_client, settings, "water")
    theirs = await routed_case(nats_client, settings, "transport")
    water = credential(settings, "department", "water")
    claim = naming.command("routing", "claim")

    claimed = await ask(outsider, claim, command(ours, handler="h-zhao"), water)
    elsewhere = await ask(outsider, claim, command(theirs, handler="h-zhao"), water)
    supervise = await ask(
        outsider,
        naming.command("metrics", "supervise"),
        command(ours, kind="manual", reason="催办"),
        water,
    )
    as_staff = await ask(
        outsider,
        claim,
        command(theirs, actor={"id": "h-sun", "role": "handler", "department": "transport"}),
        water,
    )

    assert claimed["ok"] is True, claimed
    assert claimed["result"]["status"] == "claimed"
    assert refused(elsewhere) == "not_found"
    assert refused(supervise) == "forbidden"
    assert refused(as_staff) == "forged_actor"
    # The refused ones stored nothing: transport's case is unclaimed, ours has no 督办.
    stored = await store.pool.fetch(
        "SELECT stream_id, type FROM events WHERE type IN ('CaseClaimed', 'SupervisionRaised')"
    )
    assert [(r["stream_id"], r["type"]) for r in stored] == [(f"complaint-{ours}", "CaseClaimed")]
    actor = await store.pool.fetchval(
        "SELECT actor FROM events WHERE stream_id = $1 AND type = 'CaseClaimed'",
        f"complaint-{ours}",
    )
    assert (json.loads(actor) if isinstance(actor, str) else actor) == {
        "id": "dept-system:water",
        "role": "handler",
        "department": "water",
    }


async def test_channel_submissions_are_dead_lettered_unless_their_channel_sent_them(
    services: None,
    settings: Settings,
    outsider: NatsClient,
    js: JetStreamContext,
    store: PostgresEventStore,
) -> None:
    naming = settings.naming
    outsiders = outsider.jetstream()
    wechat = credential(settings, "channel", "wechat")
    good = submission("wechat")

    await outsiders.publish(
        naming.intake("web"), json.dumps(submission("web")).encode(), headers=wechat
    )
    await outsiders.publish(naming.intake("wechat"), json.dumps(submission("wechat")).encode())
    await outsiders.publish(naming.intake("wechat"), json.dumps(good).encode(), headers=wechat)

    async def dead_letters() -> int:
        return len(await dlq.list_entries(js, naming))

    await eventually(
        lambda: registered(store, good["external_ref"]),
        "the adapter's own channel's submission registered",
    )
    await eventually(lambda: _is(dead_letters, 2), "both refused submissions dead-lettered")
    entries = await dlq.list_entries(js, naming)
    assert sorted(e.error.split(":")[0] for e in entries) == ["Unauthenticated", "WrongChannel"]
    # The adapter's credential is its secret: not kept with the dead letter.
    assert [HEADER in e.headers for e in entries] == [False, False]


async def registered(store: PostgresEventStore, external_ref: str) -> bool:
    """Whether the submission named ``external_ref`` has been registered."""
    found = await store.pool.fetchval(
        "SELECT count(*) FROM events WHERE data ->> 'external_ref' = $1", external_ref
    )
    return bool(found)


async def _is(count: Callable[[], Awaitable[int]], expected: int) -> bool:
    return await count() == expected


async def test_a_credential_issued_by_the_cli_is_the_services_own(
    services: None,
    settings: Settings,
    child_env: dict[str, str],
    outsider: NatsClient,
    store: PostgresEventStore,
) -> None:
    code, token, said = await tousu(child_env, "credentials", "issue", "channel", "wechat")

    assert code == 0, said
    assert "TOUSU_CREDENTIAL" in said
    submit = settings.naming.command("intake", "submit")
    reply = await ask(
        outsider, submit, {"submission": submission("wechat")}, {HEADER: token.strip()}
    )
    assert reply["ok"] is True, reply
    assert (await received_actor(store, reply["result"]["complaint_id"]))["id"] == "channel:wechat"

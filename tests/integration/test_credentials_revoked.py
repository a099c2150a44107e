"""A leaked credential revoked alone: intake's submit handler and durable channel
input, wired as the service wires them, refuse the credential whose id is in
``TOUSU_CREDENTIAL_REVOKED`` while another credential of the same channel, and
the services' own trusted senders, still work (real NATS and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from faststream.nats import NatsBroker
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from tests.helpers import eventually
from tests.integration.test_credentials import (  # noqa: F401  (outsider: a fixture)
    ask,
    outsider,
    refused,
    registered,
    submission,
)
from tousu.services.intake import endpoints
from tousu.services.intake.intake import Intake
from tousu.shared import dlq
from tousu.shared.application.context_source import ContextSource
from tousu.shared.application.credentials import HEADER, credential_key, issue, verify
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.application.nats_commands import register_requests
from tousu.shared.consumer.host import ConsumerHost
from tousu.shared.keys import access_code_key
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

OPERATOR = {"id": "op-li", "role": "operator"}


@pytest.fixture
def leaked(settings: Settings) -> str:
    """The WeChat adapter's credential that leaked, issued before it was revoked."""
    return issue(credential_key(settings), "channel", "wechat")


@pytest.fixture
def revoking(settings: Settings, leaked: str) -> Settings:
    """The deployment's settings once the leaked credential's id is revoked."""
    credential_id = verify(credential_key(settings), leaked).id
    assert credential_id is not None
    return settings.model_copy(update={"credential_revoked": [credential_id]})


@pytest.fixture
async def intake(
    revoking: Settings, store: PostgresEventStore, js: JetStreamContext
) -> AsyncIterator[None]:
    """intake's submit request and channel input, as its process registers them
    with the revoking settings."""
    executor = CommandExecutor(store, ContextSource.for_settings(revoking))
    desk = Intake(store, executor, access_code_key=access_code_key(revoking))
    broker = NatsBroker(str(revoking.nats_url))
    register_requests(
        broker,
        revoking.naming,
        "intake",
        {"submit": endpoints.submit(desk)},
        key=credential_key(revoking),
    )
    channel = endpoints.channel_submissions(desk, revoking)
    async with ConsumerHost(revoking, [], inputs=[channel], broker=broker):
        yield


async def test_a_revoked_channel_credential_is_refused_and_another_of_its_channel_is_not(
    intake: None,
    settings: Settings,
    leaked: str,
    outsider: NatsClient,  # noqa: F811  (the imported fixture)
    nats_client: NatsClient,
    store: PostgresEventStore,
) -> None:
    submit = settings.naming.command("intake", "submit")
    reissued = {HEADER: issue(credential_key(settings), "channel", "wechat")}

    refusal = await ask(outsider, submit, {"submission": submission("wechat")}, {HEADER: leaked})
    accepted = await ask(outsider, submit, {"submission": submission("wechat")}, reissued)
    # The gateway's own credential (the test's trusted connection), made from the key.
    staff = await ask(
        nats_client, submit, {"submission": submission("web"), "actor": OPERATOR}, None
    )

    assert refused(refusal) == "unauthenticated"
    assert "revoked" in refusal["error"]["message"]
    assert accepted["ok"] is True, accepted
    assert staff["ok"] is True, staff
    assert await store.pool.fetchval("SELECT count(*) FROM events") == 2


async def test_a_revoked_credentials_durable_submission_is_dead_lettered(
    intake: None,
    settings: Settings,
    leaked: str,
    outsider: NatsClient,  # noqa: F811  (the imported fixture)
    js: JetStreamContext,
    store: PostgresEventStore,
) -> None:
    naming = settings.naming
    outsiders = outsider.jetstream()
    reissued = {HEADER: issue(credential_key(settings), "channel", "wechat")}
    good = submission("wechat")

    await outsiders.publish(
        naming.intake("wechat"), json.dumps(submission("wechat")).encode(), headers={HEADER: leaked}
    )
    await outsiders.publish(naming.intake("wechat"), json.dumps(good).encode(), headers=reissued)

    async def dead_lettered() -> bool:
        return len(await dlq.list_entries(js, naming)) == 1

    await eventually(
        lambda: registered(store, good["external_ref"]),
        "the reissued credential's submission registered",
    )
    await eventually(dead_lettered, "the revoked credential's submission dead-lettered")
    (entry,) = await dlq.list_entries(js, naming)
    assert entry.error.startswith("Unauthenticated") and "revoked" in entry.error
    assert await store.pool.fetchval("SELECT count(*) FROM events") == 1

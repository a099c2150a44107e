"""Channel submissions (the durable intake stream) when registering fails: a
database outage is waited out however long it lasts, any other failure is
dead-lettered once the deliveries are used up. Real NATS and PostgreSQL; the
intake is the real one, made to fail its first tries."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from faststream.nats import NatsBroker
from nats.js import JetStreamContext

from tests.helpers import eventually
from tousu.services.intake import endpoints
from tousu.services.intake.intake import Intake, Submitted
from tousu.services.intake.submission import Submission
from tousu.shared import dlq
from tousu.shared.application.context_source import ContextSource
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.events import Actor
from tousu.shared.keys import access_code_key
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore


class FailingIntake(Intake):
    """Raises ``error`` on its first ``failures`` submissions, then registers."""

    def __init__(self, *args: Any, failures: int, error: type[Exception], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failures = failures
        self.error = error
        self.tries = 0

    async def submit(
        self, submission: Submission, actor: Actor, *, details: bool = True
    ) -> Submitted:
        self.tries += 1
        if self.tries <= self.failures:
            raise self.error(f"try {self.tries} refused")
        return await super().submit(submission, actor, details=details)


@asynccontextmanager
async def channel_intake(
    settings: Settings, store: PostgresEventStore, failures: int, error: type[Exception]
) -> AsyncIterator[FailingIntake]:
    desk = FailingIntake(
        store,
        CommandExecutor(store, ContextSource.for_settings(settings)),
        access_code_key=access_code_key(settings),
        failures=failures,
        error=error,
    )
    broker = NatsBroker(str(settings.nats_url))
    endpoints.register(broker, settings, desk)
    await broker.start()
    try:
        yield desk
    finally:
        await broker.stop()


async def submit_by_phone(js: JetStreamContext, settings: Settings) -> str:
    ref = f"call-{uuid.uuid4()}"
    body = {
        "channel": "phone",
        "external_ref": ref,
        "complainant": {"phone": "13900000001"},
        "subject": "停水未通知",
        "description": "小区连续两天停水，供水公司未提前公告。",
    }
    await js.publish(
        settings.naming.intake("phone"),
        json.dumps(body).encode(),
        headers={"Nats-Msg-Id": f"phone:{ref}"},
    )
    return ref


async def registered(store: PostgresEventStore, ref: str) -> int:
    return int(
        await store.pool.fetchval(
            "SELECT count(*) FROM events WHERE type = 'ComplaintReceived' "
            "AND data ->> 'external_ref' = $1",
            ref,
        )
    )


async def settled(js: JetStreamContext, settings: Settings) -> bool:
    info = await js.consumer_info(settings.naming.intake_stream, endpoints.SUBMISSIONS_DURABLE)
    return info.num_pending == 0 and info.num_ack_pending == 0


async def test_a_database_outage_longer_than_the_retries_dead_letters_no_submission(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext
) -> None:
    failures = settings.consumer_max_deliver + 2
    async with channel_intake(settings, store, failures, ConnectionRefusedError) as desk:
        ref = await submit_by_phone(js, settings)
        await eventually(lambda: registered(store, ref), "registered once the database is back")
        await eventually(lambda: settled(js, settings), "the submission acknowledged")

    assert desk.tries == failures + 1
    assert await registered(store, ref) == 1
    assert await dlq.list_entries(js, settings.naming) == []


async def test_a_failure_that_is_not_an_outage_is_dead_lettered_after_the_retries(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext
) -> None:
    async with channel_intake(settings, store, 10**6, RuntimeError) as desk:
        ref = await submit_by_phone(js, settings)

        async def dead_lettered() -> bool:
            return len(await dlq.list_entries(js, settings.naming)) == 1

        await eventually(dead_lettered, "the submission in the DLQ")
        await eventually(lambda: settled(js, settings), "the original settled")

    [entry] = await dlq.list_entries(js, settings.naming)
    assert entry.consumer == endpoints.SUBMISSIONS_DURABLE
    assert entry.deliveries == settings.consumer_max_deliver
    assert entry.error.startswith(f"RuntimeError: try {settings.consumer_max_deliver} refused")
    assert desk.tries == settings.consumer_max_deliver
    assert await registered(store, ref) == 0

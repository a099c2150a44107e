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

import pytest
from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import PubAck

from tests.helpers import eventually
from tousu.services.intake import endpoints
from tousu.services.intake.intake import Intake, Submitted
from tousu.shared import dlq
from tousu.shared.application.context_source import ContextSource
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.consumer import DeadLetters, RetryPolicy
from tousu.shared.consumer.host import ConsumerHost
from tousu.shared.events import Actor
from tousu.shared.intake.submission import Submission
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
    channel = endpoints.channel_submissions(desk, settings)
    async with ConsumerHost(settings, [], inputs=[channel], broker=broker):
        yield desk


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


async def test_a_dead_letter_that_cannot_be_written_leaves_the_submission_to_be_redelivered(
    settings: Settings,
    store: PostgresEventStore,
    js: JetStreamContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Storing the dead letter fails once: the submission is nak'd with the
    back-off, not left unsettled, and dead-lettered on its next delivery, as
    every consumer's message is."""
    real_publish = DeadLetters.publish
    refused_writes: list[int] = []

    async def first_write_fails(
        self: DeadLetters, consumer: str, msg: Msg, error: BaseException, deliveries: int
    ) -> PubAck:
        if not refused_writes:
            refused_writes.append(deliveries)
            raise ConnectionResetError("the DLQ stream is unreachable")
        return await real_publish(self, consumer, msg, error, deliveries)

    real_nak = Msg.nak
    naks: list[float | None] = []

    async def recorded_nak(self: Msg, delay: float | None = None) -> None:
        naks.append(delay)
        await real_nak(self, delay=delay)

    monkeypatch.setattr(DeadLetters, "publish", first_write_fails)
    monkeypatch.setattr(Msg, "nak", recorded_nak)
    async with channel_intake(settings, store, 0, RuntimeError) as desk:
        await js.publish(
            settings.naming.intake("phone"),
            b'{"channel": "phone", "subject": ',  # never a submission: refused at once
            headers={"Nats-Msg-Id": f"phone:broken-{uuid.uuid4()}"},
        )

        async def dead_lettered() -> bool:
            return len(await dlq.list_entries(js, settings.naming)) == 1

        await eventually(dead_lettered, "the submission in the DLQ on its second delivery")
        await eventually(lambda: settled(js, settings), "the original settled")

    assert refused_writes == [1]
    assert naks == [RetryPolicy.from_settings(settings).backoff(1)]
    [entry] = await dlq.list_entries(js, settings.naming)
    assert entry.consumer == endpoints.SUBMISSIONS_DURABLE
    assert entry.deliveries == 2
    assert entry.error.startswith("RefusedSubmission: submission is not valid JSON")
    assert desk.tries == 0

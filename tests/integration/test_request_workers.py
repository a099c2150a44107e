"""How a process answers requests on ``<root>.cmd.<service>.<name>``: as many
at once as the request declares (intake's submit waits on shared commits, so
it takes more than the default), each on the event loop — the sender's
credential is read from the message without a hop to a worker thread.
Real NATS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from faststream.nats import NatsBroker
from nats.aio.client import Client as NatsClient

from tests.processes import request
from tousu.services.intake import endpoints
from tousu.shared.application import nats_commands
from tousu.shared.application.credentials import any_sender, credential_key
from tousu.shared.application.replies import Request
from tousu.shared.consumer.host import ConsumerHost
from tousu.shared.settings import Settings

MORE = nats_commands.CONCURRENT_REQUESTS + 4


class Gate:
    """Lets every request through once ``expected`` are being handled at once."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.inside = 0
        self.open = asyncio.Event()

    async def handle(self, body: dict[str, Any]) -> int:
        self.inside += 1
        if self.inside >= self.expected:
            self.open.set()
        await self.open.wait()
        return self.inside


def _request(gate: Gate, concurrency: int | None) -> Request[dict[str, Any]]:
    return Request(
        lambda body: body,
        gate.handle,
        failed="no",
        title="gate",
        admit=any_sender,
        concurrency=concurrency,
    )


@pytest.fixture
async def gate(settings: Settings) -> AsyncIterator[Gate]:
    gate = Gate(MORE)
    broker = NatsBroker(str(settings.nats_url))
    nats_commands.register_requests(
        broker,
        settings.naming,
        "gated",
        {"wide": _request(gate, MORE)},
        key=credential_key(settings),
    )
    async with ConsumerHost(settings, [], inputs=[], broker=broker):
        yield gate


async def test_a_request_is_answered_as_many_at_once_as_it_declares(
    gate: Gate, nats_client: NatsClient, settings: Settings
) -> None:
    subject = settings.naming.command("gated", "wide")
    # Each is answered only once all are inside: with the default number of
    # workers the last four would wait behind the first sixteen for ever.
    replies = await asyncio.wait_for(
        asyncio.gather(*(request(nats_client, subject, {}) for _ in range(MORE))), timeout=30
    )
    assert all(r["ok"] for r in replies), replies
    assert endpoints.SUBMIT_CONCURRENCY > nats_commands.CONCURRENT_REQUESTS


async def test_a_request_is_answered_without_a_worker_thread(
    gate: Gate, nats_client: NatsClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fast_depends.utils

    hops: list[object] = []
    hop = fast_depends.utils.run_in_threadpool

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(func)
        return await hop(func, *args, **kwargs)

    monkeypatch.setattr(fast_depends.utils, "run_in_threadpool", counted)
    gate.open.set()
    reply = await request(nats_client, settings.naming.command("gated", "wide"), {})
    assert reply["ok"], reply
    assert hops == []

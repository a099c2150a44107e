"""The e2e suite's contract check (message_contracts) finds what breaks the
schemas: an event, a reply, an accepted request, an unlisted subject; and
leaves alone what a test sends broken on purpose and tousu refuses.

It listens under a root of its own, beside the test's: what it publishes to
fail on purpose is not the test's own (whose check would fail the test)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.errors import NoRespondersError

from tests.e2e.message_contracts import listening
from tests.infra import Servers
from tousu.shared.events import new_event, stored
from tousu.shared.events.types import CaseClaimed


def event(**change: Any) -> dict[str, Any]:
    envelope = stored(
        new_event(CaseClaimed(department="water"), department="water"),
        stream_id=f"complaint-{uuid.uuid4()}",
        version=3,
        global_position=9,
        recorded_at=datetime.now(UTC),
    )
    body: dict[str, Any] = json.loads(envelope.model_dump_json())
    body.update(change)
    return body


async def answer(client: NatsClient, subject: str, reply: dict[str, Any]) -> None:
    async def respond(msg: Any) -> None:
        await msg.respond(json.dumps(reply).encode())

    await client.subscribe(subject, cb=respond)


async def test_the_check_names_each_message_that_breaks_its_schema(
    servers: Servers, nats_client: NatsClient, subject_root: str
) -> None:
    root = f"{subject_root}-probe"
    send = nats_client
    async with listening(servers.nats_url, root) as capture:
        await send.publish(f"{root}.events.water.CaseClaimed", json.dumps(event()).encode())
        bad = event(data={"handler": "h-zhao"})  # no department
        await send.publish(f"{root}.events.water.CaseClaimed", json.dumps(bad).encode())
        await send.publish(f"{root}.events.water.NoSuchEvent", b"{}")
        # A reply that is not the reply's shape, to a request tousu's schema refuses.
        await answer(send, f"{root}.cmd.routing.claim", {"ok": True, "result": {"status": 1}})
        await send.request(f"{root}.cmd.routing.claim", b'{"command": {}}', timeout=5)
        # The check is no responder: a request nobody serves fails at once.
        with pytest.raises(NoRespondersError):
            await send.request(f"{root}.cmd.routing.nobody", b"{}", timeout=5)
        # A test's broken submission, which intake refuses: left alone.
        await send.publish(f"{root}.intake.wechat", b'{"channel": "wechat"}')
        await send.flush()
    problems = capture.problems()
    text = "\n".join(problems)
    claim = f"{root}.cmd.routing.claim"
    for expected in [
        f"{root}.events.water.CaseClaimed: event.CaseClaimed.v1: data: "
        "'department' is a required property",
        f"{root}.events.water.NoSuchEvent: published on a subject index.json does not list",
        f"{claim}: reply: cmd.routing.claim.reply: result/status: "
        "1 is not valid under any of the given schemas",
        f"{claim}: answered ok, but the request: cmd.routing.claim: (message): "
        "'complaint_id' is a required property",
    ]:
        assert expected in problems, text
    others = [p for p in problems if not p.startswith(f"{claim}: answered ok, but the request: ")]
    assert len(others) == 3, text
    assert f"{root}.intake.wechat" not in text


@pytest.mark.off_contract(
    "{root}.events.{department}.CaseClaimed", reason="the exemption itself, under test"
)
async def test_a_test_names_the_garbage_it_publishes_on_purpose(
    servers: Servers, subject_root: str
) -> None:
    # Checked by the autouse check at teardown: this garbage is exempt, and
    # the test would error there if it were not.
    client = await nats.connect(servers.nats_url)
    try:
        await client.publish(f"{subject_root}.events.water.CaseClaimed", b"not an event")
        await client.flush()
    finally:
        await client.close()

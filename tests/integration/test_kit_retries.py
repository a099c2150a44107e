"""The channel client against a real NATS server, with tousu's side played by
the test: what it sends (the credential, the reference as external_ref and
Nats-Msg-Id, no actor), and its retries — an internal error and a lost
answer are tried again with the same reference, a refusal is not, and a
durable submission published twice is stored once."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from tousu.kit import ChannelClient, Refused, Retry, Unavailable
from tousu.shared.settings import Settings

FAST = Retry(attempts=4, timeout=0.5, first_delay=0.01, max_delay=0.05)
SUBMISSION = {
    "channel": "walk_in",
    "complainant": {"name": "王芳", "phone": "13912345678"},
    "subject": "取号机故障",
    "description": "取号机坏了。",
}
RESULT = {
    "complaint_id": str(uuid.uuid4()),
    "tracking_no": "TS2612-00001-00001",
    "access_code": "ABCD2345",
    "status": "received",
    "repeated": False,
}


async def intake_answering(
    nc: NatsClient, settings: Settings, answers: list[dict[str, Any] | None]
) -> list[Msg]:
    """Stand in for intake: answer each request with the next of ``answers``
    (None: no answer at all, as a service that died mid-request)."""
    heard: list[Msg] = []

    async def respond(msg: Msg) -> None:
        heard.append(msg)
        answer = answers[len(heard) - 1]
        if answer is not None:
            await msg.respond(json.dumps(answer).encode())

    await nc.subscribe(settings.naming.command("intake", "submit"), cb=respond)
    await nc.flush()
    return heard


def client(settings: Settings) -> ChannelClient:
    return ChannelClient(
        str(settings.nats_url), "v1.the-credential.sig", settings.subject_root, retry=FAST
    )


async def test_an_internal_error_and_a_lost_answer_are_tried_again_with_the_same_reference(
    nats_client: NatsClient, settings: Settings
) -> None:
    failed = {"ok": False, "error": {"code": "internal_error", "message": "", "details": None}}
    heard = await intake_answering(
        nats_client, settings, [failed, None, {"ok": True, "result": RESULT}]
    )
    async with client(settings) as kit:
        filed = await kit.submit(SUBMISSION, reference="kiosk-0001")
    assert (filed.tracking_no, filed.complaint_id, filed.repeated) == (
        RESULT["tracking_no"],
        RESULT["complaint_id"],
        False,
    )
    assert len(heard) == 3
    for msg in heard:
        assert json.loads(msg.data) == {"submission": {**SUBMISSION, "external_ref": "kiosk-0001"}}
        assert msg.headers is not None
        assert msg.headers["Tousu-Credential"] == "v1.the-credential.sig"
        assert msg.headers["Nats-Msg-Id"] == "walk_in:kiosk-0001"


async def test_a_refusal_is_raised_at_once_and_nobody_answering_is_unavailable(
    nats_client: NatsClient, settings: Settings
) -> None:
    refused = {
        "ok": False,
        "error": {"code": "wrong_channel", "message": "no", "details": {"a": 1}},
    }
    heard = await intake_answering(nats_client, settings, [refused, refused])
    async with client(settings) as kit:
        with pytest.raises(Refused) as raised:
            await kit.submit(SUBMISSION, reference="kiosk-0002")
        assert (raised.value.code, raised.value.details) == ("wrong_channel", {"a": 1})
        assert len(heard) == 1
        with pytest.raises(Unavailable, match="after 4 tries"):
            await kit.status("TS2612-00001-00001")  # nobody answers metrics.status here


async def test_a_durable_submission_published_twice_is_stored_once(
    js: JetStreamContext, settings: Settings
) -> None:
    async with client(settings) as kit:
        first = await kit.publish(SUBMISSION, reference="kiosk-0003")
        again = await kit.publish(SUBMISSION, reference="kiosk-0003")
    assert (first.duplicate, again.duplicate) == (False, True)
    assert first.stream == settings.naming.intake_stream
    stored = await js.get_last_msg(settings.naming.intake_stream, settings.naming.intake("walk_in"))
    assert stored.seq == first.seq
    assert json.loads(stored.data or b"{}")["external_ref"] == "kiosk-0003"
    assert (stored.headers or {})["Tousu-Credential"] == "v1.the-credential.sig"

"""Submissions over NATS: every channel's rules, resends, duplicates, the
durable channel subjects, and every channel's complaint through to closing."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from tests.e2e.kit import days_ago, handle_and_feed_back, routed_by_rules
from tests.helpers import eventually
from tests.processes import request
from tousu.shared.intake.identifiers import is_valid_tracking_no, verify_access_code
from tousu.shared.keys import access_code_key
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

OPERATOR = {"id": "op-li", "role": "operator"}
HANDLER = {"id": "h-zhao", "role": "handler", "department": "water"}
PUBLIC = {"id": "public", "role": "complainant"}

SUBMISSIONS: dict[str, dict[str, Any]] = {
    "phone": {"complainant": {"name": "张三", "phone": "138 0000 0001"}},
    "web": {"complainant": {"email": "Li.Si@Example.com"}},
    "wechat": {"complainant": {"anonymous": True}},
    "letter": {
        "received_at": days_ago(2).isoformat(),
        "complainant": {"name": "王五", "address": "某市人民路1号"},
    },
    "walk_in": {"complainant": {"name": "赵六", "phone": "13900000002"}},
}


def submission(channel: str, **extra: Any) -> dict[str, Any]:
    return {
        "channel": channel,
        "subject": "供水维修拖延",
        "description": "报修三天无人上门，热线答复推诿。",
        **SUBMISSIONS[channel],
        **extra,
    }


async def submit(
    client: NatsClient, settings: Settings, body: dict[str, Any], actor: dict[str, Any] = OPERATOR
) -> dict[str, Any]:
    subject = settings.naming.command("intake", "submit")
    return await request(client, subject, {"submission": body, "actor": actor})


async def command(
    client: NatsClient,
    settings: Settings,
    service: str,
    name: str,
    complaint_id: str,
    actor: dict[str, Any],
    **fields: Any,
) -> dict[str, Any]:
    from tousu.shared.events import utcnow

    body = {
        "complaint_id": complaint_id,
        "command": {"actor": actor, "occurred_at": utcnow().isoformat(), **fields},
    }
    reply = await request(client, settings.naming.command(service, name), body)
    assert reply["ok"] is True, reply
    return dict(reply["result"])


@pytest.mark.parametrize("channel", sorted(SUBMISSIONS))
async def test_each_channel_from_submission_to_closed(
    channel: str,
    water_handler: object,
    running_services: Path,
    nats_client: NatsClient,
    settings: Settings,
    store: PostgresEventStore,
) -> None:
    reply = await submit(nats_client, settings, submission(channel))
    assert reply["ok"] is True, reply
    result = reply["result"]
    assert is_valid_tracking_no(result["tracking_no"])
    assert len(result["access_code"]) == 8 and result["status"] == "received"
    cid = result["complaint_id"]
    received = (await store.read_stream(f"complaint-{cid}"))[0]
    assert received.data["channel"] == channel
    key = access_code_key(settings)  # the service's: both read the test's data folder
    assert verify_access_code(received.data["access_code_hash"], result["access_code"], key)

    await command(
        nats_client, settings, "intake", "accept", cid, OPERATOR, category="service_quality"
    )

    routed = await routed_by_rules(store, cid)
    assert routed["department"] == "water"  # 供水 → water
    assert routed["rule_id"] and routed["rule_version"]

    async def send(service: str, name: str, cid: str, actor: dict[str, Any], **f: Any) -> None:
        await command(nats_client, settings, service, name, cid, actor, **f)

    await handle_and_feed_back(send, cid, HANDLER, result="已上门维修", basis="服务承诺")
    closed = await command(
        nats_client, settings, "followup", "follow-up", cid, OPERATOR, satisfaction="satisfied"
    )
    assert closed["status"] == "closed"
    stream = await store.read_stream(f"complaint-{cid}")
    accepted = next(e for e in stream if e.type == "ComplaintAccepted")
    assert result["tracking_no"] in accepted.data["notice_text"]
    assert "受理告知书" in accepted.data["notice_text"]


async def test_channel_rules_resends_and_duplicates(
    running_services: Path, nats_client: NatsClient, settings: Settings, store: PostgresEventStore
) -> None:
    no_number = await submit(nats_client, settings, submission("phone", complainant={"name": "x"}))
    assert no_number["ok"] is False
    assert no_number["error"]["code"] == "validation_error"
    assert [f["field"] for f in no_number["error"]["details"]["fields"]] == ["complainant.phone"]
    letter = submission("letter")
    del letter["received_at"]
    letter["complainant"] = {"name": "王五"}
    refused = await submit(nats_client, settings, letter)
    fields = {f["field"] for f in refused["error"]["details"]["fields"]}
    assert fields == {"received_at", "complainant.address"}
    web = await submit(nats_client, settings, submission("web", complainant={}), PUBLIC)
    assert web["error"]["code"] == "validation_error"

    ref = f"call-{uuid.uuid4()}"
    first = await submit(nats_client, settings, submission("phone", external_ref=ref))
    again = await submit(nats_client, settings, submission("phone", external_ref=ref))
    assert again["result"]["repeated"] is True and again["result"]["access_code"] is None
    assert again["result"]["tracking_no"] == first["result"]["tracking_no"]

    similar = submission("phone", description="报修了三天一直没人上门维修，打热线还推诿。")
    dup = await submit(nats_client, settings, similar)
    suggested = {d["complaint_id"] for d in dup["result"]["duplicates"]}
    assert first["result"]["complaint_id"] in suggested


async def test_durable_channel_subject_and_dead_letters(
    running_services: Path,
    nats_client: NatsClient,
    js: JetStreamContext,
    settings: Settings,
    store: PostgresEventStore,
) -> None:
    ref = f"form-{uuid.uuid4()}"
    body = json.dumps(submission("web", external_ref=ref)).encode()
    headers = {"Nats-Msg-Id": f"web:{ref}"}
    await js.publish(settings.naming.intake("web"), body, headers=headers)
    await js.publish(settings.naming.intake("web"), body, headers=headers)  # a harmless resend

    async def registered() -> bool:
        rows = await store.pool.fetch(
            "SELECT stream_id FROM events WHERE type = 'ComplaintReceived' "
            "AND data ->> 'external_ref' = $1",
            ref,
        )
        return len(rows) == 1

    await eventually(registered, "the web form registered once", timeout=20)

    await js.publish(settings.naming.intake("letter"), b'{"channel": "letter", "subject": ""}')
    dlq = settings.naming.dlq("intake-submissions")

    async def dead_lettered() -> bool:
        try:
            await js.get_last_msg(settings.naming.dlq_stream, dlq)
        except Exception:
            return False
        return True

    await eventually(dead_lettered, "the bad letter in the DLQ", timeout=20)

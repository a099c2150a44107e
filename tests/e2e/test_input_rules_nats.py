"""Issue 14, cases 3 and 5 over NATS, against the running services: a command
or submission with an instant outside the calendar's years or a control
character is refused naming the field, and nothing is stored."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from tests.e2e.kit import SUPERVISOR, Commands, received
from tests.helpers import eventually
from tests.processes import request
from tousu.shared import dlq
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

LETTER: dict[str, Any] = {
    "channel": "letter",
    "subject": "停水未通知",
    "description": "小区连续两天停水",
    "received_at": "2026-03-02T10:00:00+08:00",
    "complainant": {"name": "王五", "address": "幸福路1号"},
}


def refused_fields(reply: dict[str, Any]) -> list[str]:
    assert reply["ok"] is False, reply
    assert reply["error"]["code"] == "validation_error", reply
    return [d["field"] for d in reply["error"]["details"]]


async def test_commands_and_submissions_over_nats_are_refused_naming_the_field(
    running_services: Path,
    nats_client: NatsClient,
    js: JetStreamContext,
    settings: Settings,
    store: PostgresEventStore,
) -> None:
    submit = settings.naming.command("intake", "submit")
    refusals: list[tuple[dict[str, Any], str]] = [
        ({"received_at": "1900-03-01T10:00:00+08:00"}, "submission.received_at"),
        ({"received_at": "0108-03-01T10:00:00+08:00"}, "submission.received_at"),
        ({"description": "水管\u0000漏水"}, "submission.description"),
        ({"late_reason": "补录\u0000"}, "submission.late_reason"),
        (
            {"complainant": {"name": "王\u0000五", "address": "幸福路1号"}},
            "submission.complainant.name",
        ),
    ]
    for change, field in refusals:
        # A supervisor, with a reason: the late-entry rules would let the
        # letter through; only the calendar's bounds stop it.
        body = LETTER | {"late_reason": "旧档案补录"} | change
        reply = await request(nats_client, submit, {"submission": body, "actor": SUPERVISOR})
        assert refused_fields(reply) == [field], reply

    complaint_id = await received(store)
    before = await store.pool.fetchval("SELECT count(*) FROM events")
    cmd = Commands(nats_client, settings, complaint_id)
    rejected = await cmd.send("intake", "reject", SUPERVISOR, reason="重复\u0000", suggestion="无")
    assert refused_fields(rejected) == ["reason"]
    backdated = await request(
        nats_client,
        settings.naming.command("intake", "accept"),
        {
            "complaint_id": str(complaint_id),
            "command": {
                "actor": SUPERVISOR,
                "occurred_at": "1900-01-01T09:00:00+08:00",
                "late_reason": "旧档案补录",
                "category": "service_quality",
            },
        },
    )
    assert refused_fields(backdated) == ["occurred_at"]
    assert await store.pool.fetchval("SELECT count(*) FROM events") == before

    # A channel submission (durable subject): dead-lettered with its reason.
    ref = f"letter-{uuid.uuid4()}"
    body = LETTER | {"external_ref": ref, "received_at": "0108-03-01T10:00:00+08:00"}
    await js.publish(settings.naming.intake("letter"), json.dumps(body).encode())
    errors: list[str] = []

    async def dead_lettered() -> bool:
        entries = await dlq.list_entries(js, settings.naming, "intake-submissions")
        errors[:] = [e.error or "" for e in entries]
        return bool(errors)

    await eventually(dead_lettered, "the letter from year 108 in the DLQ", timeout=20)
    assert "received_at" in errors[0], errors
    assert await store.pool.fetchval("SELECT count(*) FROM events") == before

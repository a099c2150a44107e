"""Bad channel submissions on NATS: each is dead-lettered with a reason a person
can read in ``tousu dlq list``, and intake goes on registering good ones."""

from __future__ import annotations

import json
import time
from pathlib import Path

from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from tests.helpers import eventually, tousu
from tests.processes import spawn, stop, wait_until_answering
from tousu.services.intake.endpoints import SUBMISSIONS_DURABLE
from tousu.shared import dlq
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

GOOD = {
    "channel": "web",
    "complainant": {"name": "王五", "phone": "13911112222"},
    "subject": "停水未通知",
    "description": "小区连续两天停水，供水公司未提前公告。",
}

# external ref → (payload, what the reason in the DLQ must say)
BAD: dict[str, tuple[bytes, str]] = {
    "bad-json": (b'{"channel": "web", "subject": ', "not valid JSON"),
    "wrong-shape": (
        json.dumps({"channel": "web", "title": "no such field"}).encode(),
        "not a valid submission (complainant: Field required",
    ),
    "not-utf8": (b'{"channel": "web", "subject": "\xff\xfe caf\xe9"}', "not UTF-8"),
    "too-large": (
        json.dumps(GOOD | {"description": "水" * 100_000}).encode(),
        "too large",
    ),
    "other-channel": (
        json.dumps(GOOD | {"channel": "letter"}).encode(),
        "submitted on channel web but names channel letter",
    ),
    "field-too-long": (
        json.dumps(GOOD | {"subject": "x" * 501}).encode(),
        "subject: String should have at most 500 characters",
    ),
}


async def received(store: PostgresEventStore, external_ref: str) -> bool:
    count = await store.pool.fetchval(
        "SELECT count(*) FROM events WHERE type = 'ComplaintReceived'"
        " AND data ->> 'external_ref' = $1",
        external_ref,
    )
    return bool(count)


async def test_bad_submissions_are_dead_lettered_and_good_ones_still_registered(
    settings: Settings,
    child_env: dict[str, str],
    nats_client: NatsClient,
    js: JetStreamContext,
    store: PostgresEventStore,
    tmp_path: Path,
) -> None:
    naming = settings.naming
    env = child_env | {"TOUSU_MAX_SUBMISSION_BYTES": "65536"}
    intake = spawn("intake", env, tmp_path)
    try:
        await wait_until_answering(nats_client, naming, "intake", time.monotonic() + 30)
        subject = naming.intake("web")
        for ref, (payload, _) in BAD.items():
            await js.publish(subject, payload, headers={"Nats-Msg-Id": f"web:{ref}"})
            # After every bad one a good one: the consumer must keep going.
            good = json.dumps(GOOD | {"external_ref": f"after-{ref}"}).encode()
            await js.publish(subject, good, headers={"Nats-Msg-Id": f"web:after-{ref}"})

        async def all_dead_lettered() -> bool:
            return len(await dlq.list_entries(js, naming, SUBMISSIONS_DURABLE)) >= len(BAD)

        async def all_good_registered() -> bool:
            return all([await received(store, f"after-{ref}") for ref in BAD])

        await eventually(all_dead_lettered, "every bad submission in the DLQ", timeout=15)
        await eventually(all_good_registered, "every good submission registered", timeout=15)

        entries = await dlq.list_entries(js, naming, SUBMISSIONS_DURABLE)
        assert len(entries) == len(BAD)
        by_ref = {e.headers.get("Tousu-Original-Msg-Id", ""): e for e in entries}
        for ref, (payload, reason) in BAD.items():
            entry = by_ref[f"web:{ref}"]
            assert reason in entry.error, (ref, entry.error)
            assert entry.error.startswith("RefusedSubmission: ")
            assert entry.payload == payload  # kept as sent, bytes and all
            assert entry.deliveries == 1  # refused at once, not retried
        assert intake.poll() is None, "intake crashed"
    finally:
        assert stop(intake) == 0

    code, out, err = await tousu(child_env, "dlq", "list", "--json")
    assert code == 0, err
    listed = [json.loads(line) for line in out.splitlines() if line.strip()]
    reasons = " | ".join(item["error"] for item in listed)
    for _, reason in BAD.values():
        assert reason in reasons

"""A submission that breaks the published schema is refused before it reaches
intake's handler: on ``<root>.cmd.intake.submit`` the reply is a
validation_error naming the field, on ``<root>.intake.<channel>`` it is
dead-lettered with the reason; either way nothing is stored. Among them one
the model read leniently would take (``"yes"`` for a boolean): intake reads
in pydantic's strict mode for JSON, which refuses it as the schema does
(tests/unit/test_strict_submissions.py breaks every field)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from pydantic import ValidationError

from tests.helpers import eventually
from tests.processes import request
from tousu.shared import dlq
from tousu.shared.application import schemas
from tousu.shared.intake.submission import Submission
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

GOOD: dict[str, Any] = {
    "channel": "wechat",
    "complainant": {"phone": "13800000000"},
    "subject": "路灯不亮",
    "description": "小区门口的路灯坏了一周。",
}
ACTOR = {"id": "channel:wechat", "role": "system"}
# (what breaks the schema, the field a refusal names)
BREAKING: list[tuple[dict[str, Any], str]] = [
    ({"complainant": {"phone": "13800000000", "anonymous": "yes"}}, "complainant.anonymous"),
    ({"colour": "red"}, "colour"),
    ({"subject": ""}, "subject"),
    ({"channel": "fax"}, "channel"),
]


def shipped(name: str) -> Draft202012Validator:
    text = schemas.shipped().joinpath(f"{name}{schemas.SUFFIX}").read_text("utf-8")
    return Draft202012Validator(json.loads(text))


def test_each_breaking_submission_breaks_the_published_schema() -> None:
    submission = shipped("intake.submission")
    assert submission.is_valid(GOOD)
    for change, _field in BREAKING:
        assert not submission.is_valid(GOOD | change), change
    # The model read leniently takes the first one ("yes" is true to it); strictly, not.
    assert Submission.model_validate(GOOD | BREAKING[0][0]).complainant.anonymous is True
    with pytest.raises(ValidationError):
        Submission.model_validate_json(json.dumps(GOOD | BREAKING[0][0]), strict=True)


async def test_a_submission_that_breaks_the_schema_is_refused_and_nothing_stored(
    running_services: Path,
    nats_client: NatsClient,
    js: JetStreamContext,
    settings: Settings,
    store: PostgresEventStore,
) -> None:
    submit = settings.naming.command("intake", "submit")
    for change, field in BREAKING:
        body = {"submission": GOOD | change | {"external_ref": f"wx-{uuid.uuid4()}"}}
        reply = await request(nats_client, submit, body | {"actor": ACTOR})
        assert reply["ok"] is False, reply
        assert reply["error"]["code"] == "validation_error", reply
        named = [d["field"] for d in reply["error"]["details"]]
        assert f"submission.{field}" in named, reply

    # The same on the channel's durable subject: each dead-lettered with its reason.
    for change, _field in BREAKING:
        body = GOOD | change | {"external_ref": f"wx-{uuid.uuid4()}"}
        await js.publish(
            settings.naming.intake("wechat"),
            json.dumps(body).encode(),
            headers={"Nats-Msg-Id": body["external_ref"]},
        )
    reasons: list[str] = []

    async def all_dead_lettered() -> bool:
        entries = await dlq.list_entries(js, settings.naming, "intake-submissions")
        reasons[:] = [entry.error for entry in entries]
        return len(reasons) == len(BREAKING)

    await eventually(all_dead_lettered, "every breaking submission dead-lettered", timeout=30)
    for _change, field in BREAKING:
        assert any(f"{field}: " in reason for reason in reasons), (field, reasons)
    assert await store.pool.fetchval("SELECT count(*) FROM events") == 0

    # And a good one goes through, on both ways in.
    good = await request(
        nats_client, submit, {"submission": GOOD | {"external_ref": "wx-good"}, "actor": ACTOR}
    )
    assert good["ok"] is True, good

"""The adapter kit's own rules, without servers: the names it derives as
tousu does (it may not import tousu's), the shipped schemas it checks
against, and how it reads tousu's replies."""

from __future__ import annotations

import json

import pytest

from tousu.kit import Refused, Retry, schemas
from tousu.kit.department import decode, department_token
from tousu.kit.transport import _Failed, _result, stream_prefix
from tousu.shared.naming import Naming
from tousu.shared.naming import department_token as tousus_token

GOOD = {
    "channel": "walk_in",
    "external_ref": "kiosk-1",
    "complainant": {"name": "王芳", "phone": "13912345678"},
    "subject": "取号机故障",
    "description": "取号机坏了。",
}


@pytest.mark.parametrize("code", ["water", "service_center", "a-b", "供水", "wa ter", "w.x", "x\n"])
def test_the_department_token_is_tousus(code: str) -> None:
    assert department_token(code) == tousus_token(code)


@pytest.mark.parametrize("root", ["tousu", "t1a2b3", "my-root", "城市"])
def test_the_events_stream_is_tousus(root: str) -> None:
    assert f"{stream_prefix(root)}_EVENTS" == Naming(root).events_stream


def test_the_shipped_schemas_are_found_by_subject_whatever_the_root() -> None:
    assert schemas.schema_name_for("t9.cmd.routing.claim") == "cmd.routing.claim"
    assert schemas.schema_name_for("tousu.intake.wechat") == "intake.submission"
    assert schemas.schema_name_for("x.events.water.CaseClaimed") == "event.CaseClaimed.v1"
    assert schemas.schema_name_for("tousu.nothing.here") is None


def test_a_submission_is_checked_against_the_shipped_schema() -> None:
    schemas.check(GOOD, name="intake.submission")
    with pytest.raises(Refused) as refused:
        schemas.check({**GOOD, "subject": "", "colour": "red"}, name="intake.submission")
    assert refused.value.code == "validation_error"
    fields = {d["field"] for d in refused.value.details}
    assert "subject" in fields
    # A schema the package does not ship is not checked (tousu checks anyway).
    schemas.check({"anything": 1}, name="no.such.schema")


def test_a_command_without_its_actor_passes_the_check_as_tousu_derives_it() -> None:
    body = {
        "complaint_id": "6f1c2a8e-3b8e-4a59-9d49-1d0c6f2b8a11",
        "command": {"handler": "h-zhao", "occurred_at": "2026-12-07T10:00:00+00:00"},
    }
    schemas.check(body, subject="tousu.cmd.routing.claim", derived=("actor",))
    with pytest.raises(Refused):
        schemas.check({**body, "command": {"handler": "h-zhao"}}, subject="tousu.cmd.routing.claim")


def test_replies_are_results_refusals_or_worth_another_try() -> None:
    assert _result(json.dumps({"ok": True, "result": {"tracking_no": "TS1"}}).encode()) == {
        "tracking_no": "TS1"
    }
    failed = {"ok": False, "error": {"code": "internal_error", "message": "boom"}}
    assert isinstance(_result(json.dumps(failed).encode()), _Failed)
    assert isinstance(_result(b"not json"), _Failed)
    refused = {"ok": False, "error": {"code": "wrong_channel", "message": "no", "details": {}}}
    with pytest.raises(Refused) as raised:
        _result(json.dumps(refused).encode())
    assert (raised.value.code, raised.value.message) == ("wrong_channel", "no")


def test_the_pauses_double_up_to_the_longest() -> None:
    pauses = Retry(attempts=8, first_delay=0.2, max_delay=5.0).delays()
    assert len(pauses) == 7
    bases = [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    assert all(b <= p <= b * 1.5 for p, b in zip(pauses, bases, strict=True))


def test_an_event_names_its_complaint_and_the_commands_answering_it() -> None:
    envelope = {
        "event_id": "0b5d9f0e-8c1a-4d7e-9f3b-2a6c1e4d8b70",
        "type": "ComplaintRouted",
        "stream_id": "complaint-6f1c2a8e-3b8e-4a59-9d49-1d0c6f2b8a11",
        "version": 3,
        "occurred_at": "2026-12-07T10:00:00+00:00",
        "department": "water",
        "data": {"department": "water"},
    }
    event = decode(envelope, delivered=2)
    assert event.complaint_id == "6f1c2a8e-3b8e-4a59-9d49-1d0c6f2b8a11"
    assert event.delivered == 2
    assert event.command_id("claim") == decode(envelope).command_id("claim")
    assert event.command_id("claim") != event.command_id("progress")

"""The credential a NATS sender carries: what issue signs, verify reads back,
and what each kind of principal may send, as whom."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tousu.shared.application.credentials import (
    HEADER,
    ForgedActor,
    Kind,
    Principal,
    Unauthenticated,
    command_admission,
    credential_key,
    issue,
    principal_of,
    submission_admission,
    verify,
)
from tousu.shared.domain.errors import Forbidden, InvalidCommand
from tousu.shared.settings import Settings

KEY = b"k" * 32
OPERATOR = {"id": "op1", "role": "operator"}


def test_a_credential_names_its_kind_and_name() -> None:
    token = issue(KEY, "channel", "wechat", issued_at=1_700_000_000)

    assert token.startswith("v1.") and token.count(".") == 2
    assert verify(KEY, token) == Principal(Kind.CHANNEL, "wechat", 1_700_000_000)
    assert principal_of(KEY, {HEADER: token}).name == "wechat"


def test_the_claims_are_the_documented_json() -> None:
    token = issue(KEY, Kind.DEPARTMENT, "water", issued_at=5)
    part = token.split(".")[1]

    claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))

    assert claims == {"kind": "department", "name": "water", "iat": 5}


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "Bearer abc",
        "v2.e30.sig",
        "v1.e30.签名",
        "v1.签名.sig",
        issue(b"another key, just as long", "trusted", "gateway"),
    ],
)
def test_a_missing_or_foreign_credential_is_unauthenticated(token: str | None) -> None:
    with pytest.raises(Unauthenticated):
        verify(KEY, token)


def test_changing_the_claims_breaks_the_signature() -> None:
    version, _, signature = issue(KEY, "channel", "web").split(".")
    forged = base64.urlsafe_b64encode(b'{"kind":"trusted","name":"web","iat":1}').rstrip(b"=")

    with pytest.raises(Unauthenticated, match="signature"):
        verify(KEY, f"{version}.{forged.decode()}.{signature}")


def test_the_key_is_made_once_in_the_data_folder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", credential_key=None)

    key = credential_key(settings)

    assert key == (tmp_path / "var" / "credential-key").read_bytes().strip()
    assert credential_key(settings) == key
    configured = Settings(data_dir=tmp_path / "var", credential_key="c" * 20)
    assert credential_key(configured) == b"c" * 20


def _submit(actor: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"submission": {"channel": "wechat"}}
    if actor is not None:
        body["actor"] = actor
    return body


def test_a_channel_submits_as_itself() -> None:
    wechat = Principal(Kind.CHANNEL, "wechat", 0)

    admitted = submission_admission(wechat, _submit())
    resent = submission_admission(wechat, _submit({"id": "channel:wechat", "role": "system"}))

    assert admitted["actor"] == {"id": "channel:wechat", "role": "system", "department": None}
    assert resent == admitted


def test_a_channel_naming_another_actor_is_forged() -> None:
    wechat = Principal(Kind.CHANNEL, "wechat", 0)

    with pytest.raises(ForgedActor):
        submission_admission(wechat, _submit({"id": "admin", "role": "admin"}))
    with pytest.raises(ForgedActor):
        submission_admission(wechat, _submit({"id": "channel:web", "role": "system"}))


def test_a_trusted_sender_names_the_actor_and_a_department_does_not_submit() -> None:
    gateway = Principal(Kind.TRUSTED, "gateway", 0)

    assert submission_admission(gateway, _submit(OPERATOR)) == _submit(OPERATOR)
    with pytest.raises(InvalidCommand):
        submission_admission(gateway, _submit())
    with pytest.raises(Forbidden):
        submission_admission(Principal(Kind.DEPARTMENT, "water", 0), _submit())


def _command(actor: dict[str, Any] | None = None) -> dict[str, Any]:
    command: dict[str, Any] = {"occurred_at": "2026-03-02T09:00:00+08:00"}
    if actor is not None:
        command["actor"] = actor
    return {"complaint_id": str(uuid.uuid4()), "command": command}


def test_a_department_sends_its_commands_as_its_system() -> None:
    water = Principal(Kind.DEPARTMENT, "water", 0)

    admitted = command_admission("routing", "claim")(water, _command())

    assert admitted["command"]["actor"] == {
        "id": "dept-system:water",
        "role": "handler",
        "department": "water",
    }
    with pytest.raises(ForgedActor):
        command_admission("handling", "resolve")(
            water, _command({"id": "li", "role": "handler", "department": "transport"})
        )


@pytest.mark.parametrize(
    ("service", "name"),
    [("metrics", "supervise"), ("routing", "route"), ("handling", "extension-decision")],
)
def test_a_department_may_not_send_other_commands(service: str, name: str) -> None:
    water = Principal(Kind.DEPARTMENT, "water", 0)

    with pytest.raises(Forbidden):
        command_admission(service, name)(water, _command())


def test_a_channel_sends_no_commands_and_a_trusted_sender_any() -> None:
    with pytest.raises(Forbidden):
        command_admission("intake", "accept")(Principal(Kind.CHANNEL, "web", 0), _command())
    body = _command(OPERATOR)
    assert command_admission("intake", "accept")(Principal(Kind.TRUSTED, "cli", 0), body) == body

"""The credential a NATS sender carries: what issue signs, verify reads back,
which ids are revoked, and what each kind of principal may send, as whom."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

import tousu.cli.credentials_cmds  # noqa: F401  (registers `tousu credentials`)
from tousu.cli import app
from tousu.shared.application import credentials
from tousu.shared.application.credentials import (
    HEADER,
    CredentialKey,
    ForgedActor,
    Kind,
    Principal,
    Unauthenticated,
    command_admission,
    credential_key,
    issue,
    principal_of,
    submission_admission,
    trusted_headers,
    verify,
)
from tousu.shared.domain.errors import Forbidden, InvalidCommand
from tousu.shared.settings import Settings, env_names

KEY = b"k" * 32
OPERATOR = {"id": "op1", "role": "operator"}


def test_a_credential_names_its_kind_name_and_id() -> None:
    token = issue(KEY, "channel", "wechat", issued_at=1_700_000_000, credential_id="0123456789ab")

    assert token.startswith("v1.") and token.count(".") == 2
    assert verify(KEY, token) == Principal(Kind.CHANNEL, "wechat", 1_700_000_000, "0123456789ab")
    assert principal_of(KEY, {HEADER: token}).name == "wechat"


def _claims(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def test_the_claims_are_the_documented_json() -> None:
    claims = _claims(issue(KEY, Kind.DEPARTMENT, "water", issued_at=5))

    assert claims == {"kind": "department", "name": "water", "iat": 5, "id": claims["id"]}
    assert re.fullmatch("[0-9a-f]{12}", claims["id"])


def test_each_credential_gets_its_own_id() -> None:
    ids = {verify(KEY, issue(KEY, "channel", "wechat", issued_at=5)).id for _ in range(50)}

    assert len(ids) == 50


def _signed(claims: dict[str, Any]) -> str:
    """A token as signed before credentials had ids (or with odd claims)."""
    part = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    mac = hmac.new(KEY, f"v1.{part}".encode(), hashlib.sha256).digest()
    return f"v1.{part}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def test_a_revoked_credential_is_refused_and_another_of_its_channel_is_not() -> None:
    leaked = issue(KEY, "channel", "wechat", credential_id="0123456789ab")
    other = issue(KEY, "channel", "wechat", credential_id="ba9876543210")
    revoking = CredentialKey(KEY, {"0123456789ab"})

    with pytest.raises(Unauthenticated, match=r"0123456789ab .*revoked") as refused:
        verify(revoking, leaked)
    with pytest.raises(Unauthenticated, match="revoked"):
        principal_of(revoking, {HEADER: leaked})

    assert refused.value.code == "unauthenticated"
    assert verify(revoking, other).id == "ba9876543210"
    assert verify(KEY, leaked).id == "0123456789ab"  # a bare key revokes nothing


def test_a_credential_issued_before_ids_stays_valid() -> None:
    old = _signed({"kind": "channel", "name": "web", "iat": 1})

    assert verify(CredentialKey(KEY, {"0123456789ab"}), old) == Principal(Kind.CHANNEL, "web", 1)
    with pytest.raises(Unauthenticated, match="not readable"):
        verify(KEY, _signed({"kind": "channel", "name": "web", "iat": 1, "id": "../x"}))


def test_the_key_carries_the_settings_revocations(tmp_path: Path) -> None:
    before = Settings(data_dir=tmp_path)
    leaked = issue(credential_key(before), "channel", "wechat", credential_id="0123456789ab")
    after = Settings(data_dir=tmp_path, credential_revoked="0123456789ab")

    assert verify(credential_key(before), leaked).name == "wechat"
    with pytest.raises(Unauthenticated, match="revoked"):
        verify(credential_key(after), leaked)


def test_a_revoked_id_is_never_issued_not_even_to_a_trusted_sender(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path, credential_revoked="0123456789ab")
    drawn = iter(["0123456789ab", "0123456789ab", "fedcba987654"])
    monkeypatch.setattr(credentials, "_random_id", lambda: next(drawn))

    headers = trusted_headers(settings, "gateway")

    principal = verify(credential_key(settings), headers[HEADER])
    assert (principal.kind, principal.id) == (Kind.TRUSTED, "fedcba987654")
    with pytest.raises(ValueError, match="revoked"):
        issue(credential_key(settings), "channel", "web", credential_id="0123456789ab")


def test_revoked_ids_are_read_comma_separated_and_a_typo_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert "TOUSU_CREDENTIAL_REVOKED" in env_names()
    monkeypatch.setenv("TOUSU_CREDENTIAL_REVOKED", " 0123456789AB, fedcba987654,,")
    assert Settings().credential_revoked == ["0123456789ab", "fedcba987654"]
    monkeypatch.setenv("TOUSU_CREDENTIAL_REVOKED", "")
    assert Settings().credential_revoked == []
    monkeypatch.setenv("TOUSU_CREDENTIAL_REVOKED", "0123456789ab,0123456789")
    with pytest.raises(ValidationError, match="0123456789"):
        Settings()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    monkeypatch.delenv("TOUSU_CREDENTIAL_KEY", raising=False)
    monkeypatch.delenv("TOUSU_CREDENTIAL_REVOKED", raising=False)
    yield {"TOUSU_DATA_DIR": str(tmp_path / "var")}


def test_the_cli_names_the_id_and_prints_the_revocation_line(cli_env: dict[str, str]) -> None:
    runner = CliRunner()
    issued = runner.invoke(app, ["credentials", "issue", "channel", "wechat"], env=cli_env)
    assert issued.exit_code == 0, issued.output
    # In-process, the key's "created" log line goes to stdout too (the CLI logs to stderr).
    token = issued.stdout.splitlines()[-1]
    credential_id = verify(
        credential_key(Settings(data_dir=Path(cli_env["TOUSU_DATA_DIR"]))), token
    ).id
    assert credential_id is not None and f"credential id {credential_id}" in issued.stderr

    shown = runner.invoke(app, ["credentials", "show", token], env=cli_env)
    revoked = runner.invoke(
        app,
        ["credentials", "revoke", credential_id.upper()],
        env={**cli_env, "TOUSU_CREDENTIAL_REVOKED": "fedcba987654"},
    )
    refused = runner.invoke(
        app,
        ["credentials", "show", token],
        env={**cli_env, "TOUSU_CREDENTIAL_REVOKED": credential_id},
    )
    typo = runner.invoke(app, ["credentials", "revoke", "not-an-id"], env=cli_env)

    assert shown.exit_code == 0 and shown.stdout.startswith(f"channel wechat id {credential_id} ")
    assert revoked.exit_code == 0, revoked.output
    assert revoked.stdout == (
        f"TOUSU_CREDENTIAL_REVOKED={','.join(sorted([credential_id, 'fedcba987654']))}\n"
    )
    assert refused.exit_code == 1 and "revoked" in refused.stderr
    assert typo.exit_code == 2


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

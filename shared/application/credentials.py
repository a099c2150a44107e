"""Who sends a NATS message: the signed credential in its ``Tousu-Credential`` header.

A request on ``<root>.cmd.<service>.<name>`` or a submission on
``<root>.intake.<channel>`` says who sends it by a token signed with the
deployment's credential key (docs/integrations.md, "Who is sending"):

    v1.<base64url(claims)>.<base64url(HMAC-SHA256(key, "v1." + claims part))>

with claims ``{"kind": "trusted"|"channel"|"department", "name": ..., "iat": <unix s>}``.
What the sender may do, and as whom, follows from the verified principal, not
from the message:

- ``trusted`` (the gateway, the CLI): the body's actor stands; the gateway has
  authenticated the staff member it names.
- ``channel`` ``<c>``: submits only, as ``channel:<c>``; a body naming anyone
  else is refused (``forged_actor``), and the domain refuses a submission for
  another channel (``wrong_channel``).
- ``department`` ``<d>``: only the department's commands, as
  ``dept-system:<d>`` (a handler of ``d``); the domain confines it to ``d``'s cases.

A token carries no expiry: it is revoked by changing the key (which revokes
every one). The key is ``TOUSU_CREDENTIAL_KEY``, else one kept in
``<data_dir>/credential-key`` (made on first use, like the access-code key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from nats.aio.client import Client as NatsClient
from pydantic import ValidationError

from tousu.shared.consumer.headers import CREDENTIAL
from tousu.shared.domain.actors import channel_actor, department_system_actor
from tousu.shared.domain.errors import DomainError, Forbidden, InvalidCommand
from tousu.shared.events import Actor
from tousu.shared.keys import configured_or_stored
from tousu.shared.naming import Naming
from tousu.shared.settings import Settings

HEADER = CREDENTIAL
VERSION = "v1"
CREDENTIAL_KEY_FILE = "credential-key"
# A name is a channel, a department code or a trusted sender's name: short,
# one line (it ends up in actor ids and log lines).
MAX_NAME = 64

# What a department's system may send, by (service, command): the steps of
# handling its own cases (routing's claim and return, handling's steps up to
# the result's feedback). Not: routing, extension decisions, supervision.
DEPARTMENT_COMMANDS = frozenset(
    {
        ("routing", "claim"),
        ("routing", "return"),
        ("handling", "investigation"),
        ("handling", "plan"),
        ("handling", "consultation"),
        ("handling", "progress"),
        ("handling", "extension"),
        ("handling", "resolve"),
        ("handling", "feedback"),
    }
)


# Other requests a department's system may send: reading its own cases
# (metrics answers for its department only).
DEPARTMENT_REQUESTS = frozenset({("metrics", "case")})
# What a channel's adapter may send: a submission, and where a complaint it
# filed stands (WeChat's 查询).
CHANNEL_REQUESTS = frozenset({("intake", "submit"), ("metrics", "status")})


class Kind(StrEnum):
    TRUSTED = "trusted"
    CHANNEL = "channel"
    DEPARTMENT = "department"


class Unauthenticated(DomainError):
    """No credential, or one that is not ours (401)."""

    code = "unauthenticated"
    http_status = 401


class ForgedActor(DomainError):
    """The body names an actor other than the one the credential makes it (403)."""

    code = "forged_actor"
    http_status = 403


@dataclass(frozen=True)
class Principal:
    """Who sent a message, as its verified credential says."""

    kind: Kind
    name: str
    issued_at: int

    def actor(self) -> Actor | None:
        """The actor this principal acts as; None for a trusted sender (its body names one)."""
        match self.kind:
            case Kind.CHANNEL:
                return channel_actor(self.name)
            case Kind.DEPARTMENT:
                return department_system_actor(self.name)
            case Kind.TRUSTED:
                return None

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.name}"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, claims_part: str) -> str:
    return _b64(hmac.new(key, f"{VERSION}.{claims_part}".encode(), hashlib.sha256).digest())


def _check_name(name: str) -> None:
    if not name or len(name) > MAX_NAME or not name.isprintable() or name != name.strip():
        raise ValueError(f"a credential's name is 1-{MAX_NAME} printable characters: {name!r}")


def issue(key: bytes, kind: Kind | str, name: str, *, issued_at: int | None = None) -> str:
    """A credential for ``kind`` ``name`` signed with ``key``."""
    kind = Kind(kind)
    _check_name(name)
    claims = {"kind": kind.value, "name": name, "iat": issued_at or int(time.time())}
    part = _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    return f"{VERSION}.{part}.{_signature(key, part)}"


def verify(key: bytes, token: str | None) -> Principal:
    """The principal ``token`` names; :class:`Unauthenticated` if it is missing or not ours."""
    if not token:
        raise Unauthenticated(f"no credential: send a {HEADER} header")
    version, _, rest = token.strip().partition(".")
    part, _, signature = rest.partition(".")
    if version != VERSION or not part or not signature:
        raise Unauthenticated("the credential is not a tousu credential")
    # Compared as bytes: compare_digest refuses a str that is not ASCII.
    expected = _signature(key, part).encode()
    if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
        raise Unauthenticated("the credential's signature does not match")
    try:
        claims = json.loads(_unb64(part))
        principal = Principal(Kind(claims["kind"]), str(claims["name"]), int(claims["iat"]))
        _check_name(principal.name)
    except (ValueError, KeyError, TypeError, binascii.Error):
        # Signed with our key but not made by issue(): refuse it all the same.
        raise Unauthenticated("the credential's claims are not readable") from None
    return principal


def credential_key(settings: Settings) -> bytes:
    """``TOUSU_CREDENTIAL_KEY``, else ``<data_dir>/credential-key``: the same in every process."""
    return configured_or_stored(settings.credential_key, settings.data_dir / CREDENTIAL_KEY_FILE)


def trusted_headers(settings: Settings, name: str) -> dict[str, str]:
    """The header a trusted sender (the gateway, the CLI) puts on its messages."""
    return {HEADER: issue(credential_key(settings), Kind.TRUSTED, name)}


def principal_of(key: bytes, headers: Mapping[str, str] | None) -> Principal:
    """The verified sender of a message with ``headers``."""
    return verify(key, (headers or {}).get(HEADER))


# -- what each principal may send, and as whom ---------------------------------
# An admission takes the request's body as sent and returns the body to parse:
# the trusted sender's unchanged, another's with the actor derived from its
# credential; or refuses (Forbidden, ForgedActor).
Admission = Callable[[Principal, dict[str, Any]], dict[str, Any]]


def trusted_only(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Only a trusted sender may send this request."""
    if principal.kind is not Kind.TRUSTED:
        raise Forbidden(f"{principal} may not send this request", principal=str(principal))
    return body


def _with_actor(body: dict[str, Any], actor: Actor, principal: Principal) -> dict[str, Any]:
    """``body`` with ``actor``; :class:`ForgedActor` if it names someone else."""
    sent = body.get("actor")
    if sent is not None:
        try:
            named = Actor.model_validate(sent)
        except ValidationError:
            named = None
        if named != actor:
            raise ForgedActor(
                f"{principal} acts as {actor.id}; the message names another actor",
                actor=actor.model_dump(mode="json"),
            )
    return {**body, "actor": actor.model_dump(mode="json")}


def any_sender(_principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Any verified sender: a request that acts as nobody (a read such as a
    status look-up), answered alike whoever asks."""
    return body


def submission_admission(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """``cmd.intake.submit``: a trusted sender names the actor, a channel's adapter is
    its channel; a department's system does not submit."""
    if principal.kind is Kind.TRUSTED:
        if body.get("actor") is None:
            raise InvalidCommand("actor", "the submission's actor is missing")
        return body
    actor = principal.actor()
    if principal.kind is not Kind.CHANNEL or actor is None:
        raise Forbidden(f"{principal} may not submit", principal=str(principal))
    return _with_actor(body, actor, principal)


def command_admission(service: str, name: str) -> Admission:
    """A command request: a trusted sender's actor stands; a department's system
    may send its department's commands (``DEPARTMENT_COMMANDS``) as itself."""

    def admit(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
        if principal.kind is Kind.TRUSTED:
            return body
        actor = principal.actor()
        if (
            principal.kind is not Kind.DEPARTMENT
            or actor is None
            or (service, name) not in DEPARTMENT_COMMANDS
        ):
            raise Forbidden(
                f"{principal} may not send {service} {name}",
                principal=str(principal),
                command=f"{service}.{name}",
            )
        command = body.get("command")
        if not isinstance(command, dict):
            return body  # refused by the parse, which names the field
        return {**body, "command": _with_actor(command, actor, principal)}

    return admit


# -- senders -------------------------------------------------------------------
class SigningClient(NatsClient):
    """A NATS connection that signs what it sends to tousu: every message on the
    command (``<root>.cmd.>``) and input (``<root>.intake.>``) subjects carries
    ``headers`` (a JetStream publish and a request are publishes too), unless the
    caller put its own credential on it."""

    def __init__(self, naming: Naming, headers: Mapping[str, str]) -> None:
        super().__init__()
        self._signed = (f"{naming.root}.cmd.", f"{naming.root}.intake.")
        self._credential = dict(headers)

    async def publish(
        self,
        subject: str,
        payload: bytes = b"",
        reply: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        if subject.startswith(self._signed) and HEADER not in (headers or {}):
            headers = {**self._credential, **(headers or {})}
        await super().publish(subject, payload, reply, headers)


async def signed_connect(
    settings: Settings, url: str, name: str, *, sender: str, **options: Any
) -> NatsClient:
    """A connection to ``url`` whose messages to tousu carry ``sender``'s trusted credential."""
    client = SigningClient(settings.naming, trusted_headers(settings, sender))
    await client.connect(url, name=name, **options)
    return client

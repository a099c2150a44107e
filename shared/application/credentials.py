"""Who sends a NATS message: the signed credential in its ``Tousu-Credential`` header.

A request on ``<root>.cmd.<service>.<name>`` or a submission on
``<root>.intake.<channel>`` says who sends it by a token signed with the
deployment's credential key (docs/integrations.md, "Who is sending"):

    v1.<base64url(claims)>.<base64url(HMAC-SHA256(key, "v1." + claims part))>

with claims ``{"kind": "trusted"|"channel"|"department", "name": ..., "iat": <unix s>,
"id": <12 hex>}``.
What the sender may do, and as whom, follows from the verified principal, not
from the message:

- ``trusted`` (the gateway, the CLI): the body's actor stands; the gateway has
  authenticated the staff member it names.
- ``channel`` ``<c>``: submits only, as ``channel:<c>``; a body naming anyone
  else is refused (``forged_actor``), and the domain refuses a submission for
  another channel (``wrong_channel``).
- ``department`` ``<d>``: only the department's commands, as
  ``dept-system:<d>`` (a handler of ``d``); the domain confines it to ``d``'s cases.

A token carries no expiry. It is revoked alone by its ``id``, listed in
``TOUSU_CREDENTIAL_REVOKED``; changing the key revokes every one (the gateway's
and the CLI's too, which each process makes anew from the key). The key is
``TOUSU_CREDENTIAL_KEY``, else one kept in ``<data_dir>/credential-key`` (made
on first use, like the access-code key). A token issued before credentials had
ids has none: it stays valid, so an upgrade stops no adapter, and only a new
key revokes it (reissue it to make it revocable alone).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Self

from nats.aio.client import Client as NatsClient
from pydantic import ValidationError

from tousu.shared.consumer.headers import CREDENTIAL
from tousu.shared.domain.actors import channel_actor, department_system_actor
from tousu.shared.domain.errors import DomainError, Forbidden, InvalidCommand
from tousu.shared.events import Actor
from tousu.shared.keys import configured_or_stored
from tousu.shared.naming import Naming
from tousu.shared.settings import CREDENTIAL_ID, Settings

HEADER = CREDENTIAL
VERSION = "v1"
CREDENTIAL_KEY_FILE = "credential-key"
# A name is a channel, a department code or a trusted sender's name: short,
# one line (it ends up in actor ids and log lines).
MAX_NAME = 64
# A credential's id: random, short enough to read out and to list in
# TOUSU_CREDENTIAL_REVOKED, long enough (48 bits) that two never meet.
ID_BYTES = 6

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
# (metrics answers for its department only), closing its own department's
# improvement items (the domain confines it as it does a handler).
DEPARTMENT_REQUESTS = frozenset({("metrics", "case"), ("metrics", "improvement-close")})
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
    # None: issued before credentials had ids.
    id: str | None = None

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


class CredentialKey(bytes):
    """The deployment's credential key, carrying the ids of the credentials it no
    longer accepts (``TOUSU_CREDENTIAL_REVOKED``).

    It is the key's bytes, so it signs and verifies as the key does; the
    revocations travel with it, so every place that verifies with the key
    :func:`credential_key` gives (each service's requests, intake's durable
    input, the CLI) refuses them, and none can be wired without them.
    """

    revoked: frozenset[str]

    def __new__(cls, secret: bytes, revoked: Iterable[str] = ()) -> Self:
        key = super().__new__(cls, secret)
        key.revoked = frozenset(revoked)
        return key


def revoked_ids(key: bytes) -> frozenset[str]:
    """The ids ``key`` refuses: none for a bare key (a test's, another deployment's)."""
    return key.revoked if isinstance(key, CredentialKey) else frozenset()


def _random_id() -> str:
    return secrets.token_hex(ID_BYTES)


def new_id(avoid: frozenset[str] = frozenset()) -> str:
    """A fresh credential id, never one of ``avoid`` (the revoked ones)."""
    while (credential_id := _random_id()) in avoid:
        pass
    return credential_id


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, claims_part: str) -> str:
    return _b64(hmac.new(key, f"{VERSION}.{claims_part}".encode(), hashlib.sha256).digest())


def _check_name(name: str) -> None:
    if not name or len(name) > MAX_NAME or not name.isprintable() or name != name.strip():
        raise ValueError(f"a credential's name is 1-{MAX_NAME} printable characters: {name!r}")


def issue(
    key: bytes,
    kind: Kind | str,
    name: str,
    *,
    issued_at: int | None = None,
    credential_id: str | None = None,
) -> str:
    """A credential for ``kind`` ``name`` signed with ``key``, with a new id
    (``credential_id``: this one), never one ``key`` refuses.

    Every process makes its own trusted credential this way at start-up, so a
    revoked id can never come back as the gateway's or the CLI's."""
    kind = Kind(kind)
    _check_name(name)
    revoked = revoked_ids(key)
    if credential_id is None:
        credential_id = new_id(revoked)
    elif not CREDENTIAL_ID.fullmatch(credential_id) or credential_id in revoked:
        raise ValueError(f"not a credential id, or a revoked one: {credential_id!r}")
    claims = {
        "kind": kind.value,
        "name": name,
        "iat": issued_at or int(time.time()),
        "id": credential_id,
    }
    part = _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    return f"{VERSION}.{part}.{_signature(key, part)}"


def verify(key: bytes, token: str | None) -> Principal:
    """The principal ``token`` names; :class:`Unauthenticated` if it is missing,
    not ours, or revoked (its id among ``key``'s revoked ones)."""
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
        credential_id = claims.get("id")
        if credential_id is not None and not CREDENTIAL_ID.fullmatch(credential_id):
            raise ValueError(credential_id)
        principal = Principal(
            Kind(claims["kind"]), str(claims["name"]), int(claims["iat"]), credential_id
        )
        _check_name(principal.name)
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        # Signed with our key but not made by issue(): refuse it all the same.
        raise Unauthenticated("the credential's claims are not readable") from None
    if credential_id is not None and credential_id in revoked_ids(key):
        raise Unauthenticated(
            f"the credential {credential_id} ({principal}) is revoked", credential=credential_id
        )
    return principal


def credential_key(settings: Settings) -> CredentialKey:
    """``TOUSU_CREDENTIAL_KEY``, else ``<data_dir>/credential-key``: the same in every
    process; refusing the ids in ``TOUSU_CREDENTIAL_REVOKED``."""
    secret = configured_or_stored(settings.credential_key, settings.data_dir / CREDENTIAL_KEY_FILE)
    return CredentialKey(secret, settings.credential_revoked)


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


def with_actor(body: dict[str, Any], actor: Actor, principal: Principal) -> dict[str, Any]:
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
    return with_actor(body, actor, principal)


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
        return {**body, "command": with_actor(command, actor, principal)}

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

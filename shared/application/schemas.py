"""The JSON Schemas of every NATS message tousu answers or publishes, generated from the models.

One schema per message (docs/integrations.md, "Message contracts: schemas"):

- ``cmd.<service>.<name>``: a request on ``<root>.cmd.<service>.<name>``, and
  ``cmd.<service>.<name>.reply`` its reply (``{"ok": true, "result": ...}`` or
  ``{"ok": false, "error": ...}``). A command request wraps the command
  (``CommandRequest``); the other requests carry their own body (intake's
  ``SubmitRequest``); every service answers ``ping``.
- ``intake.submission``: a channel's submission on ``<root>.intake.<channel>``.
- ``event.<Type>.v<N>``: an event as the relay publishes it on
  ``<root>.events.<department>.<Type>``: the stored envelope with the data of
  version ``N`` of its type (the relay publishes the data as it was stored,
  not upcast, so every version published once stays valid on the subject).

Everything is read from the catalogue (``catalogue.CATALOGUE``) and the event
registry, so a command, request or event type added there is described
without touching this module. :func:`index` maps each subject pattern (with
``{root}``, ``{service}``, ``{department}``, ``{channel}``, ``{consumer}``
placeholders) to its schemas; ``tousu schemas export`` writes both to
``tousu/kit/schemas``, which a test keeps equal to what is generated here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, partial
from importlib.resources import files as package_files
from importlib.resources.abc import Traversable
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, RootModel, create_model

from tousu.shared.application.catalogue import CATALOGUE, RequestEntry, ServiceEntry
from tousu.shared.application.nats_commands import CommandRequest
from tousu.shared.application.results import CommandOutcome, Ping, PingResult, Refused
from tousu.shared.domain.commands import Command
from tousu.shared.events import Actor, Envelope, EventData
from tousu.shared.intake.submission import Submission

DIALECT = "https://json-schema.org/draft/2020-12/schema"
# What index.json's format is; bumped when its shape (not a schema) changes.
INDEX_FORMAT = 1
ROOT = "{root}"
_VERSIONED = re.compile(r"^event\.(?P<type>[A-Za-z0-9_]+)\.v(?P<version>[0-9]+)$")

Kind = Literal["request", "submission", "event", "dead_letter"]


@dataclass(frozen=True)
class Contract:
    """A subject pattern and the schemas of what travels on it."""

    subject: str  # with {root}, {department}, {channel} ... placeholders
    kind: Kind
    title: str
    # None: no shape of its own (a dead letter is the original message's bytes).
    schema: str | None
    # Request-reply: the reply's schema.
    reply: str | None = None
    # Events: every version published on the subject, by schema_version.
    versions: Mapping[int, str] = field(default_factory=dict)
    description: str = ""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "title": self.title, "schema": self.schema}
        if self.reply is not None:
            out["reply"] = self.reply
        if self.versions:
            out["versions"] = {str(v): name for v, name in sorted(self.versions.items())}
        if self.description:
            out["description"] = self.description
        return out


# -- the message models ------------------------------------------------------
def _forbid(name: str) -> ConfigDict:
    return ConfigDict(extra="forbid", title=name)


def command_request_model(command: type[Command]) -> type[BaseModel]:
    """``CommandRequest`` with ``command`` typed as ``command``: what is sent."""
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in CommandRequest.model_fields.items()
    }
    fields["command"] = (_as_sent(command), ...)
    model: type[BaseModel] = create_model(
        f"{command.__name__}Request",
        __config__=_forbid(f"{command.__name__}Request"),
        __doc__=" ".join(
            [f"A command request: the complaint and the {command.__name__} command."]
            + ([command.__doc__] if command.__doc__ else [])
        ),
        **fields,
    )
    return model


def _as_sent(command: type[Command]) -> type[BaseModel]:
    """``command`` as a sender writes it: the actor may be left out, as a
    department's system does (its credential makes it, ``credentials``); a
    trusted sender names it."""
    sent: type[BaseModel] = create_model(
        command.__name__,
        __base__=command,
        __doc__=command.__doc__,
        actor=(
            Actor | None,
            Field(default=None, description="Who acts; derived from a non-trusted credential"),
        ),
    )
    return sent


def reply_model(name: str, result: type[BaseModel] | None) -> type[BaseModel]:
    """``{"ok": true, "result": <result>}`` or ``{"ok": false, "error": {...}}``."""
    answered: type[BaseModel] = create_model(
        f"{name}Answered",
        __config__=_forbid(f"{name}Answered"),
        ok=(Literal[True], ...),
        result=(result if result is not None else Any, ...),
    )
    union = Annotated[answered | Refused, Field(discriminator="ok")]
    reply: type[BaseModel] = create_model(f"{name}Reply", __base__=RootModel[union])
    return reply


def _const(value: object) -> Any:
    """``Literal[value]``, for a value known only when the schemas are made."""
    return cast(Any, Literal)[value]


def event_model(data: type[EventData]) -> type[BaseModel]:
    """The envelope the relay publishes, with ``data`` of this type and version."""
    name = f"{data.event_type()}V{data.schema_version}"
    model: type[BaseModel] = create_model(
        name,
        __base__=Envelope,
        __doc__=data.__doc__ or f"The {data.event_type()} event, as published.",
        type=(_const(data.event_type()), ...),
        schema_version=(_const(data.schema_version), ...),
        data=(data, ...),
    )
    return model


# -- schemas -----------------------------------------------------------------
def _schema(name: str, model: type[BaseModel], mode: Literal["validation", "serialization"]) -> Any:
    """``model``'s JSON Schema as a document of its own named ``name``."""
    body = model.model_json_schema(mode=mode)
    return {"$schema": DIALECT, "$id": f"{name}.schema.json", **body, "title": name}


def _request_name(service: str, name: str) -> str:
    return f"cmd.{service}.{name}"


def _requests(entry: ServiceEntry) -> dict[str, tuple[type[BaseModel], type[BaseModel] | None]]:
    """Each request the service answers: its body's model and its result's."""
    out: dict[str, tuple[type[BaseModel], type[BaseModel] | None]] = {"ping": (Ping, PingResult)}
    for name, command in entry.commands.items():
        out[name] = (command_request_model(command), CommandOutcome)
    for name, request in entry.requests.items():
        out[name] = _request(request)
    return out


def _request(request: RequestEntry) -> tuple[type[BaseModel], type[BaseModel] | None]:
    payload = request.payload
    if issubclass(payload, Command):
        return command_request_model(payload), request.result or CommandOutcome
    return payload, request.result


def event_schema_name(event_type: str, version: int) -> str:
    return f"event.{event_type}.v{version}"


SUBMISSION = "intake.submission"


def _reply_schema(name: str, title: str, result: type[BaseModel] | None) -> Any:
    return _schema(name, reply_model(title, result), "serialization")


def _event_schema(name: str, data: type[EventData]) -> Any:
    return _schema(name, event_model(data), "serialization")


def _makers() -> dict[str, Callable[[], Any]]:
    """Each schema's name and how it is made (made only when asked for)."""
    out: dict[str, Callable[[], Any]] = {}
    for service, entry in CATALOGUE.items():
        for name, (body, result) in _requests(entry).items():
            schema = _request_name(service, name)
            out[schema] = partial(_schema, schema, body, "validation")
            reply = f"{schema}.reply"
            out[reply] = partial(_reply_schema, reply, _pascal(service, name), result)
    out[SUBMISSION] = partial(_schema, SUBMISSION, Submission, "validation")
    for event_type, data in EventData.registry.items():
        schema = event_schema_name(event_type, data.schema_version)
        out[schema] = partial(_event_schema, schema, data)
    return out


@cache
def generate() -> dict[str, Any]:
    """Every schema tousu publishes, by name (``<name>.schema.json``); one
    process's models do not change, so it is made once (do not mutate it)."""
    return {name: make() for name, make in sorted(_makers().items())}


@cache
def one(name: str) -> Any:
    """The schema ``name`` alone (KeyError: no such message)."""
    return _makers()[name]()


def _pascal(*words: str) -> str:
    return "".join(part.capitalize() for word in words for part in re.split(r"[-_]", word))


def archived_versions(names: Iterable[str]) -> dict[str, dict[int, str]]:
    """Of the schema names ``names`` (what is shipped), the event versions older
    than their type's current one: kept, never regenerated (see :func:`contracts`)."""
    out: dict[str, dict[int, str]] = {}
    for name in names:
        found = _VERSIONED.match(name)
        if found is None:
            continue
        event_type, version = found["type"], int(found["version"])
        data = EventData.registry.get(event_type)
        if data is not None and version < data.schema_version:
            out.setdefault(event_type, {})[version] = name
    return out


def contracts(archived: Mapping[str, Mapping[int, str]] | None = None) -> list[Contract]:
    """Every subject tousu answers or publishes on, with its schemas.

    ``archived``: per event type, the files of its versions older than the
    current one. A published version is never changed nor removed: an event
    stored under it is published as it was stored (replays, a new consumer
    reading from the start), so its file stays beside the new version's.
    """
    archived = archived or {}
    out: list[Contract] = []
    for service, entry in CATALOGUE.items():
        titles = {name: request.title for name, request in entry.requests.items()}
        for name in _requests(entry):
            schema = _request_name(service, name)
            title = titles.get(name) or _command_title(service, entry, name)
            subject = f"{ROOT}.cmd.{service}.{name}"
            out.append(Contract(subject, "request", title, schema, reply=f"{schema}.reply"))
    out.append(
        Contract(
            f"{ROOT}.intake.{{channel}}",
            "submission",
            "intake channel submissions",
            SUBMISSION,
            description="Durable (JetStream stream <ROOT>_INTAKE); publish with a Nats-Msg-Id "
            "header; the channel token must equal the submission's channel.",
        )
    )
    for event_type, data in sorted(EventData.registry.items()):
        current = event_schema_name(event_type, data.schema_version)
        versions = {**archived.get(event_type, {}), data.schema_version: current}
        out.append(
            Contract(
                f"{ROOT}.events.{{department}}.{event_type}",
                "event",
                f"{event_type} published",
                current,
                versions=versions,
                description="{department}: the department token holding the case after the "
                "event, '_' before routing. Pick the schema by the envelope's schema_version.",
            )
        )
    for prefix in ("dlq", "dlq-retry"):
        out.append(
            Contract(
                f"{ROOT}.{prefix}.{{consumer}}",
                "dead_letter",
                "dead letters" if prefix == "dlq" else "dead letters replayed",
                None,
                description="The original message's bytes as they were received; why it "
                "failed is in the Tousu-* headers (tousu dlq show).",
            )
        )
    return out


def _command_title(service: str, entry: ServiceEntry, name: str) -> str:
    if name == "ping":
        return f"{service} ping"
    return f"{service} {entry.commands[name].name()}"


def index(archived: Mapping[str, Mapping[int, str]] | None = None) -> dict[str, Any]:
    """index.json: each subject pattern and the names of its schemas."""
    return {
        "format": INDEX_FORMAT,
        "placeholders": {
            "root": "the deployment's subject root (TOUSU_SUBJECT_ROOT, default tousu)",
            "channel": "a channel code (phone, web, wechat, letter, walk_in, open311)",
            "department": "a department's subject token (tousu nats-config lists them), "
            "'_' for a case not routed yet",
            "consumer": "the durable consumer that gave up on the message",
        },
        "subjects": {c.subject: c.as_json() for c in contracts(archived)},
    }


def subject_matches(pattern: str, subject: str, root: str) -> bool:
    """Whether ``subject`` is one of ``pattern``'s (placeholders match one token)."""
    tokens = pattern.replace(ROOT, root).split(".")
    got = subject.split(".")
    if len(tokens) != len(got):
        return False
    return all(
        (want.startswith("{") and want.endswith("}")) or want == have
        for want, have in zip(tokens, got, strict=True)
    )


# -- the shipped files ---------------------------------------------------------
INDEX = "index.json"
SUFFIX = ".schema.json"


def shipped() -> Traversable:
    """Where the package keeps the exported files (``tousu/kit/schemas``)."""
    return package_files("tousu") / "kit" / "schemas"


def dump(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def rendered(present: Iterable[str] = ()) -> dict[str, str]:
    """The files ``tousu schemas export`` writes, by file name, given the file
    names ``present`` in the folder already (their older event versions stay)."""
    archived = archived_versions(n.removesuffix(SUFFIX) for n in present if n.endswith(SUFFIX))
    out = {f"{name}{SUFFIX}": dump(schema) for name, schema in generate().items()}
    out[INDEX] = dump(index(archived))
    return out


def kept(present: Iterable[str]) -> set[str]:
    """Of the file names ``present``, the archived event versions: never rewritten."""
    names = [n.removesuffix(SUFFIX) for n in present if n.endswith(SUFFIX)]
    return {
        f"{name}{SUFFIX}"
        for versions in archived_versions(names).values()
        for name in versions.values()
    }

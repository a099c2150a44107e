"""The AsyncAPI documents' payloads, replies and published events, from the message schemas.

FastStream reads a subscriber's payload from its handler's signature, and
every request handler takes the raw body (``dict[str, Any]``: it is parsed
inside, so that an invalid one is answered, not dropped), so its document
says nothing of what a request carries. Here each channel's messages get the
published schema of their subject (``tousu.shared.application.schemas``,
the same as ``GET /schemas``), each request operation its reply, and the
combined document the events the relay publishes, so that the document and
the shipped schema files cannot say different things.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote

import yaml

from tousu.shared.application import schemas

_REF = "#/components/schemas/"


@cache
def _generated() -> dict[str, Any]:
    return schemas.generate()


@dataclass(frozen=True)
class Document:
    """An AsyncAPI document as FastStream's HTML page and the routes read one
    (its ``Specification`` protocol)."""

    title: str
    body: dict[str, Any]

    def to_jsonable(self) -> Any:
        return self.body

    def to_json(self) -> str:
        return json.dumps(self.body, ensure_ascii=False)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.body, allow_unicode=True, sort_keys=False)


def _key(name: str) -> str:
    """A component or channel name as a reference spells it (FastStream's way)."""
    return quote(name, safe=":")


def _refs(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


class _Components:
    """``components.schemas`` of one document, filled from the generated schemas:
    each schema's ``$defs`` become components of their own, shared when equal."""

    def __init__(self, components: dict[str, Any]) -> None:
        self.schemas: dict[str, Any] = components.setdefault("schemas", {})

    def ref(self, name: str) -> dict[str, str]:
        """A reference to the schema ``name``, added with its definitions."""
        if name not in self.schemas:
            document = copy.deepcopy(_generated()[name])
            definitions: dict[str, Any] = document.pop("$defs", {})
            for drop in ("$schema", "$id"):
                document.pop(drop, None)
            names = self._names(name, definitions)
            for key, body in definitions.items():
                self.schemas.setdefault(names[key], _rewritten(body, names))
            self.schemas[name] = _rewritten(document, names)
        return {"$ref": _REF + _key(name)}

    def _names(self, owner: str, definitions: dict[str, Any]) -> dict[str, str]:
        """What each of ``owner``'s definitions is called among the components:
        its own name, or, where another schema's definition of that name
        differs (a model read as input in a request and as output in an
        event), a name of its own (and so anything that refers to it)."""
        names = {d: d for d in definitions}
        for _ in range(len(definitions) + 1):
            again = {
                d: d
                if self.schemas.get(d, mine := _rewritten(body, names)) == mine
                else f"{owner}.{d}"
                for d, body in definitions.items()
            }
            if again == names:
                break
            names = again
        return names


def _rewritten(node: Any, names: Mapping[str, str]) -> Any:
    """``node`` (copied) with its ``#/$defs/X`` references to the components."""
    out = copy.deepcopy(node)
    for ref in _refs(out):
        target = ref["$ref"]
        if target.startswith("#/$defs/"):
            ref["$ref"] = _REF + _key(names[target.removeprefix("#/$defs/")])
    return out


def with_contracts(document: Mapping[str, Any], root: str, *, events: bool) -> dict[str, Any]:
    """``document`` (FastStream's AsyncAPI 3.0, as JSON) with every message's
    payload the published schema of its subject, each request's reply, and
    with ``events``, the event channels the relay publishes on."""
    doc = copy.deepcopy(dict(document))
    components = doc.setdefault("components", {})
    messages: dict[str, Any] = components.setdefault("messages", {})
    found = _Components(components)
    contracts = schemas.contracts()
    replaced: set[str] = set()
    for channel_name, channel in list(doc.get("channels", {}).items()):
        address = channel.get("address") or ""
        contract = next(
            (c for c in contracts if schemas.subject_matches(c.subject, address, root)), None
        )
        if contract is None or contract.schema is None:
            continue
        for message in channel.get("messages", {}).values():
            key = message["$ref"].rsplit("/", 1)[-1]
            target = next(m for k, m in messages.items() if _key(k) == key)
            old = target.get("payload", {}).get("$ref")
            if isinstance(old, str):
                replaced.add(old)
            target["payload"] = _payload(found, contract)
        if contract.reply is not None:
            _reply(doc, found, channel_name, contract)
    if events:
        _events(doc, found, contracts, root)
    _drop_unused(doc, replaced)
    return doc


def _payload(found: _Components, contract: schemas.Contract) -> dict[str, Any]:
    assert contract.schema is not None
    if len(contract.versions) > 1:
        return {"oneOf": [found.ref(name) for _, name in sorted(contract.versions.items())]}
    return found.ref(contract.schema)


def _reply(
    doc: dict[str, Any], found: _Components, channel_name: str, contract: schemas.Contract
) -> None:
    assert contract.reply is not None
    message = f"{contract.title}:Reply"
    doc["components"]["messages"][message] = {
        "title": message,
        "summary": "{ok: true, result} or {ok: false, error: {code, message, details}}",
        "payload": found.ref(contract.reply),
    }
    reply_channel = f"{channel_name}:Reply"
    doc["channels"][reply_channel] = {
        # The requester's inbox: the NATS reply subject of its request.
        "address": None,
        "description": "The reply subject the request names (its inbox).",
        "messages": {"Reply": {"$ref": f"#/components/messages/{_key(message)}"}},
    }
    for operation in doc.get("operations", {}).values():
        if operation.get("channel", {}).get("$ref") == f"#/channels/{_key(channel_name)}":
            operation["reply"] = {
                "channel": {"$ref": f"#/channels/{_key(reply_channel)}"},
                "messages": [{"$ref": f"#/channels/{_key(reply_channel)}/messages/Reply"}],
            }


def _events(
    doc: dict[str, Any], found: _Components, contracts: list[schemas.Contract], root: str
) -> None:
    first: dict[str, Any] = next(iter(doc.get("channels", {}).values()), {})
    servers = first.get("servers")
    for contract in contracts:
        if contract.kind != "event":
            continue
        event_type = contract.subject.rsplit(".", 1)[-1]
        channel_name = f"relay:{event_type}"
        channel: dict[str, Any] = {
            "address": contract.subject.replace(schemas.ROOT, root),
            "title": contract.title,
            "description": contract.description,
            "parameters": {
                "department": {
                    "description": "The department token holding the case, '_' before routing."
                }
            },
            "messages": {},
        }
        if servers:
            channel["servers"] = servers
        for version, name in sorted(contract.versions.items()):
            message = f"{event_type} v{version}:PublishMessage"
            doc["components"]["messages"][message] = {
                "title": message,
                "summary": f"{event_type}, schema_version {version}",
                "payload": found.ref(name),
            }
            channel["messages"][f"v{version}"] = {"$ref": f"#/components/messages/{_key(message)}"}
        doc["channels"][channel_name] = channel
        doc.setdefault("operations", {})[f"{channel_name}:Publish"] = {
            "action": "send",
            "title": f"the relay publishes {event_type}",
            "channel": {"$ref": f"#/channels/{_key(channel_name)}"},
            "messages": [
                {"$ref": f"#/channels/{_key(channel_name)}/messages/{key}"}
                for key in channel["messages"]
            ],
        }


def _drop_unused(doc: dict[str, Any], replaced: set[str]) -> None:
    """FastStream's payloads that no message names any more."""
    used = {node["$ref"] for node in _refs(doc)}
    for ref in replaced - used:
        for name in list(doc["components"]["schemas"]):
            if _REF + _key(name) == ref:
                del doc["components"]["schemas"][name]

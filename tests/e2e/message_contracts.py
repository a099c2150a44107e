"""The contract test of the e2e suite: every message tousu publishes during a
test matches the published JSON Schemas (tousu/kit/schemas).

An autouse fixture (imported by tests/e2e/conftest.py) listens, on a NATS
connection of its own, to the test's subject root (events, intake, dead
letters; the requests as the test process sends them, see :func:`listening`)
and to the reply inboxes, and when the test ends checks what it heard against
the schema its subject maps to through index.json:

- every event the relay publishes (by its envelope's ``schema_version``);
- every reply to a request on ``<root>.cmd.>`` (a request's reply subject is
  its own inbox, so the replies are picked out of ``_INBOX.>`` by the reply
  subjects the requests named);
- every request tousu answered with ``ok: true`` and every channel submission
  intake did not dead-letter: what tousu accepts, its schema must accept too
  (a test's deliberately broken messages are refused, and left alone);
- and that nothing is published, or answered, on a subject the index does not list.

A mismatch fails the test at teardown, naming the subject and the error. A
test that publishes garbage on purpose names those subjects with
``@pytest.mark.off_contract(<pattern>, reason=...)``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import nats
import pytest
from jsonschema import Draft202012Validator
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from pydantic import ValidationError

from tests.infra import Servers
from tousu.shared.application import schemas
from tousu.shared.intake.submission import Submission

# How many problems a failure lists (the rest are counted).
SHOWN = 10


@cache
def _index() -> dict[str, Any]:
    folder = schemas.shipped()
    subjects: dict[str, Any] = json.loads(folder.joinpath(schemas.INDEX).read_text("utf-8"))[
        "subjects"
    ]
    return subjects


@cache
def _validator(name: str) -> Draft202012Validator:
    text = schemas.shipped().joinpath(f"{name}{schemas.SUFFIX}").read_text("utf-8")
    return Draft202012Validator(
        json.loads(text), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def schema_errors(name: str, message: Any) -> list[str]:
    out = []
    for error in _validator(name).iter_errors(message):
        # Not "is not valid under any of the given schemas": the reason deepest
        # in the message (the branch that matched furthest, as {"ok": true} for a reply).
        found = max(error.context, key=lambda e: len(e.absolute_path)) if error.context else error
        where = "/".join(map(str, found.absolute_path)) or "(message)"
        out.append(f"{name}: {where}: {found.message[:300]}")
    return out


def _model_reads(data: bytes) -> bool:
    try:
        Submission.model_validate_json(data)
    except ValidationError:
        return False
    return True


@dataclass(frozen=True)
class Heard:
    subject: str
    reply: str
    data: bytes
    headers: dict[str, str] | None


@dataclass
class Capture:
    root: str
    messages: list[Heard] = field(default_factory=list)
    inbox: dict[str, list[Heard]] = field(default_factory=dict)
    # How many messages of each kind were checked.
    checked: Counter[str] = field(default_factory=Counter)

    async def on_root(self, msg: Msg) -> None:
        self.messages.append(Heard(msg.subject, msg.reply, msg.data, msg.headers))

    async def on_inbox(self, msg: Msg) -> None:
        self.inbox.setdefault(msg.subject, []).append(
            Heard(msg.subject, msg.reply, msg.data, msg.headers)
        )

    def contract(self, subject: str) -> dict[str, Any] | None:
        for pattern, contract in _index().items():
            if schemas.subject_matches(pattern, subject, self.root):
                found: dict[str, Any] = contract
                return found
        return None

    def dead_letters(self) -> set[bytes]:
        """What was dead-lettered: the original messages' bytes."""
        return {
            heard.data
            for heard in self.messages
            if heard.subject.startswith((f"{self.root}.dlq.", f"{self.root}.dlq-retry."))
        }

    def problems(self) -> list[str]:
        out: list[str] = []
        for heard in self.messages:
            contract = self.contract(heard.subject)
            if contract is None and heard.subject.startswith(f"{self.root}.cmd."):
                if self.inbox.get(heard.reply):
                    out.append(f"{heard.subject}: answered on a subject index.json does not list")
                continue  # a request nobody serves (a test's, for no_responders)
            if contract is None:
                out.append(f"{heard.subject}: published on a subject index.json does not list")
                continue
            out += [f"{heard.subject}: {p}" for p in self._check(heard, contract)]
        return out

    def _check(self, heard: Heard, contract: dict[str, Any]) -> list[str]:
        kind = contract["kind"]
        if kind == "dead_letter":
            return []  # the original bytes, whatever they were
        try:
            body = json.loads(heard.data) if heard.data else {}
        except ValueError:
            body = None
        if kind == "event":
            if body is None:
                return [f"not JSON: {heard.data[:80]!r}"]
            version = str(body.get("schema_version")) if isinstance(body, dict) else ""
            name = contract["versions"].get(version, contract["schema"])
            self.checked["events"] += 1
            return schema_errors(name, body)
        if kind == "submission":
            if heard.data in self.dead_letters() or not _model_reads(heard.data):
                return []  # refused by intake (dead-lettered): a test's broken message
            self.checked["submissions"] += 1
            return [f"accepted by intake, but {p}" for p in schema_errors(contract["schema"], body)]
        return self._check_request(heard, contract, body)

    def _check_request(self, heard: Heard, contract: dict[str, Any], body: Any) -> list[str]:
        out: list[str] = []
        for reply in self.inbox.get(heard.reply, []) if heard.reply else []:
            if reply.headers and "Status" in reply.headers:
                continue  # the server's own (no responders), not tousu's
            try:
                answer = json.loads(reply.data)
            except ValueError:
                out.append(f"reply is not JSON: {reply.data[:200]!r}")
                continue
            self.checked["replies"] += 1
            out += [f"reply: {p}" for p in schema_errors(contract["reply"], answer)]
            if isinstance(answer, dict) and answer.get("ok") is True:
                self.checked["requests"] += 1
                out += [
                    f"answered ok, but the request: {p}"
                    for p in schema_errors(contract["schema"], body)
                ]
        return out


def _stream_prefixes() -> set[str]:
    """The subjects' second tokens other than the requests' (events, intake, dlq ...)."""
    return {pattern.split(".")[1] for pattern in _index()} - {"cmd"}


@asynccontextmanager
async def listening(nats_url: str, root: str) -> AsyncIterator[Capture]:
    """What is published under ``root`` (and the inboxes) while inside.

    The request subjects are not listened to: a listener there is a responder
    to the server, and a request nobody serves would then time out instead of
    failing at once with "no responders" (which the gateway tells apart). The
    requests this process sends are taken as it sends them instead; those of
    other processes (a spawned gateway, the CLI) are not checked.
    """
    capture = Capture(root)
    send = NatsClient.publish

    async def publish(
        self: NatsClient,
        subject: str,
        payload: bytes = b"",
        reply: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        if reply and subject.startswith(f"{root}.cmd."):
            capture.messages.append(Heard(subject, reply, payload, headers))
        await send(self, subject, payload, reply, headers)

    client = await nats.connect(nats_url, name="tousu-test-contracts")
    NatsClient.publish = publish  # type: ignore[method-assign]
    try:
        for prefix in sorted(_stream_prefixes()):
            await client.subscribe(f"{root}.{prefix}.>", cb=capture.on_root)
        await client.subscribe("_INBOX.>", cb=capture.on_inbox)
        await client.flush()
        yield capture
    finally:
        NatsClient.publish = send  # type: ignore[method-assign]
        # Every message the server sent before is handled, then the connection closes.
        await client.drain()


def failure(problems: list[str]) -> str:
    more = f"\n... and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
    return (
        f"{len(problems)} message(s) do not match the published schemas "
        f"(tousu/kit/schemas; `tousu schemas export` regenerates them from the models):\n"
        + "\n".join(problems[:SHOWN])
        + more
    )


OFF_CONTRACT = "off_contract"
# Of the whole run, for its summary.
CHECKED: Counter[str] = Counter()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{OFF_CONTRACT}(*subjects, reason): the test itself publishes messages on these subject "
        "patterns ({root} placeholder) that break their schema on purpose (garbage for a "
        "consumer to dead-letter): the contract check leaves those alone",
    )


@pytest.fixture(autouse=True)
async def published_messages_follow_the_schemas(
    servers: Servers, subject_root: str, request: pytest.FixtureRequest
) -> AsyncIterator[Capture]:
    """Checks, when the test ends, what was published under its subject root."""
    marker = request.node.get_closest_marker(OFF_CONTRACT)
    if marker is not None and not marker.kwargs.get("reason"):
        pytest.fail(f"@pytest.mark.{OFF_CONTRACT} needs a reason=", pytrace=False)
    async with listening(servers.nats_url, subject_root) as capture:
        yield capture
    exempt = marker.args if marker is not None else ()
    problems = [
        problem
        for problem in capture.problems()
        if not any(
            schemas.subject_matches(p, problem.partition(":")[0], subject_root) for p in exempt
        )
    ]
    CHECKED.update(capture.checked)
    if problems:
        pytest.fail(failure(problems), pytrace=False)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if CHECKED:
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(CHECKED.items()))
        terminalreporter.write_line(f"messages checked against the published schemas: {counts}")

"""A department's own system: follow the department's cases, and work them.

```python
async with DepartmentClient(NATS_URL, CREDENTIAL, "water") as tousu:
    async def on_event(event: Event) -> None:
        if event.type == "ComplaintRouted":
            case = await tousu.case(event.complaint_id)       # subject, description ...
            await tousu.claim(event.complaint_id, handler="h-zhao",
                              command_id=event.command_id("claim"))
    await tousu.follow(on_event)
```

The department's events come through a durable JetStream pull consumer
(``dept-<token>`` on ``<ROOT>_EVENTS``, filtered to ``<root>.events.<token>.>``):
it remembers what was acknowledged, so a system that stops — or a tousu
that restarts — carries on where it stopped. An event is acknowledged only
after the handler returned; one whose handler failed comes back later. So a
handler may see an event again after a crash: name each command after the
event (``event.command_id("claim")``) and a repeated command does nothing twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError, ServiceUnavailableError

from tousu.kit import schemas
from tousu.kit.errors import Unavailable
from tousu.kit.transport import Connection, Retry, stream_prefix

log = logging.getLogger("tousu.kit.department")

# Names each command a handler sends after an event (Event.command_id).
COMMAND_NAMESPACE = uuid.UUID("5d0c6bb4-7b8e-4c1e-9a57-2f4a6c1d0e18")
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


def department_token(department: str) -> str:
    """The subject token of a department code, as tousu derives it: the code
    itself when it is one (letters, digits, ``_``, ``-``), else ``X-`` and 24
    hex digits of its SHA-256."""
    if _TOKEN.fullmatch(department):
        return department
    return "X-" + hashlib.sha256(department.encode("utf-8", "surrogatepass")).hexdigest()[:24]


@dataclass(frozen=True)
class Event:
    """One of the department's events, decoded (docs/design.md, "Events")."""

    event_id: str
    # ComplaintRouted, CaseClaimed, ProgressReported, ComplaintReopened, ...
    type: str
    complaint_id: str
    # The event's place in its complaint's history (1, 2, ...).
    version: int
    occurred_at: str
    # The department holding the case after the event.
    department: str | None
    data: dict[str, Any]
    # The whole envelope as published.
    envelope: dict[str, Any]
    # 1 the first time; more when it comes again (the handler failed, or the
    # system stopped before acknowledging it).
    delivered: int = 1
    # When JetStream stored it, i.e. when tousu published it (the relay
    # publishes each event moments after it is stored, in commit order).
    published_at: datetime | None = None

    def command_id(self, name: str) -> str:
        """The id of the ``name`` command sent in answer to this event: the same
        each time the event comes, so a command sent again changes nothing."""
        return str(uuid.uuid5(COMMAND_NAMESPACE, f"{self.event_id}:{name}"))


def decode(
    envelope: dict[str, Any], delivered: int = 1, published_at: datetime | None = None
) -> Event:
    stream_id = str(envelope.get("stream_id", ""))
    return Event(
        event_id=str(envelope["event_id"]),
        type=str(envelope["type"]),
        complaint_id=stream_id.removeprefix("complaint-"),
        version=int(envelope.get("version", 0)),
        occurred_at=str(envelope.get("occurred_at", "")),
        department=envelope.get("department"),
        data=dict(envelope.get("data") or {}),
        envelope=envelope,
        delivered=delivered,
        published_at=published_at,
    )


def _event_of(msg: Any) -> Event:
    """The event a JetStream message carries (ValueError, KeyError: not one)."""
    meta = msg.metadata
    if meta is None:
        return decode(_json(msg.data))
    return decode(_json(msg.data), meta.num_delivered, meta.timestamp)


Handler = Callable[[Event], Awaitable[None]]
When = datetime | str | None


def _instant(when: When) -> str:
    if when is None:
        return datetime.now(UTC).isoformat()
    return when.isoformat() if isinstance(when, datetime) else when


class DepartmentClient:
    """tousu as a department's own system sees it (docs/integrations.md).

    ``credential`` is the department's token (``tousu credentials issue
    department <code>``): its commands act as the department's system, on
    the department's cases only. ``durable`` names the consumer that keeps
    the system's place (default ``dept-<token>``; one per system). ``start``
    is where a new consumer begins: ``"all"`` the department's events still
    in the stream, ``"new"`` only those published from now.
    """

    def __init__(
        self,
        nats_url: str,
        credential: str,
        department: str,
        subject_root: str = "tousu",
        durable: str | None = None,
        *,
        start: str = "all",
        ack_wait: float = 30.0,
        retry: Retry | None = None,
        nats_options: dict[str, Any] | None = None,
        validate: bool = True,
    ) -> None:
        if start not in ("all", "new"):
            raise ValueError("start is 'all' or 'new'")
        self.root = subject_root
        self.department = department
        self.token = department_token(department)
        self.durable = durable or f"dept-{self.token}"
        self.stream = f"{stream_prefix(subject_root)}_EVENTS"
        self.filter_subject = f"{subject_root}.events.{self.token}.>"
        self.start = start
        self.ack_wait = ack_wait
        self.validate = validate
        self._retry = retry or Retry()
        self._nats = Connection(
            nats_url,
            credential,
            name=f"tousu-kit-{self.durable}",
            retry=self._retry,
            nats_options=nats_options,
        )
        self._sub: JetStreamContext.PullSubscription | None = None

    # -- lifetime --------------------------------------------------------------------
    async def connect(self) -> None:
        await self._nats.connect()

    async def close(self) -> None:
        if self._sub is not None:
            sub, self._sub = self._sub, None
            try:
                await sub.unsubscribe()
            except Exception:  # closing anyway; the durable consumer stays
                log.debug("unsubscribing failed", exc_info=True)
        await self._nats.close()

    async def __aenter__(self) -> DepartmentClient:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _subscription(self) -> JetStreamContext.PullSubscription:
        """The durable consumer, made the first time (tousu's events stream must
        exist: until tousu has started once, this waits for it)."""
        if self._sub is not None:
            return self._sub
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL if self.start == "all" else DeliverPolicy.NEW,
            ack_wait=self.ack_wait,
            max_deliver=-1,
            filter_subject=self.filter_subject,
        )
        js = self._nats.nc.jetstream()
        last = ""
        for delay in [*self._retry.delays(), None]:
            try:
                self._sub = await js.pull_subscribe(
                    self.filter_subject, durable=self.durable, stream=self.stream, config=config
                )
                return self._sub
            except NotFoundError:
                last = f"no stream {self.stream} (has tousu started?)"
            except (NatsTimeout, ServiceUnavailableError):
                last = "JetStream did not answer"
            if delay is not None:
                await asyncio.sleep(delay)
        raise Unavailable(f"{last} (after {self._retry.attempts} tries)")

    # -- following the department's cases ---------------------------------------------
    async def follow(
        self,
        handler: Handler,
        *,
        stop: asyncio.Event | None = None,
        batch: int = 1,
        wait: float = 2.0,
    ) -> None:
        """Call ``handler`` with each of the department's events, in the order
        tousu stored them, until ``stop`` is set (or forever): it stops within
        ``wait`` seconds, giving back the events it fetched and did not handle.

        Each event is acknowledged once ``handler`` has returned. If it
        raises, the event comes back after a pause (with ``delivered``
        counting the tries) and the others go on; the error is logged.
        ``batch``: events fetched at once. One arrives as soon as it is
        published; a larger batch catches up faster on a backlog, but when
        fewer are waiting, nats-py waits up to ``wait`` seconds to fill it.
        """
        stop = stop or asyncio.Event()
        sub = await self._subscription()
        while not stop.is_set():
            messages = await self._fetch(sub, batch, wait)
            for i, msg in enumerate(messages):
                if stop.is_set():
                    # Not handled: back at once for whoever follows next.
                    for rest in messages[i:]:
                        await rest.nak()
                    break
                try:
                    event = _event_of(msg)
                except (ValueError, KeyError, TypeError):
                    log.error("not an event, skipped: %r", msg.data[:200])
                    await msg.term()
                    continue
                try:
                    await handler(event)
                except Exception:
                    log.exception("handling %s %s failed", event.type, event.event_id)
                    await msg.nak(delay=min(2.0 ** min(event.delivered, 6), 60.0))
                    continue
                await msg.ack_sync()

    async def events(self, *, batch: int = 1, wait: float = 2.0) -> AsyncIterator[Event]:
        """The department's events, one by one, forever: ``async for event in
        client.events(): ...``. Each is acknowledged when the loop asks for the
        next, i.e. after its body ran; leaving the loop (``break``, an error)
        leaves it unacknowledged, to come back after ``ack_wait`` seconds."""
        sub = await self._subscription()
        while True:
            for msg in await self._fetch(sub, batch, wait):
                yield _event_of(msg)
                await msg.ack_sync()

    async def _fetch(
        self, sub: JetStreamContext.PullSubscription, batch: int, wait: float
    ) -> list[Any]:
        # Never cut short: the server has the pull request and would deliver
        # to it still, and what it delivered would come back only after
        # ack_wait. A caller stopping waits for it (``wait`` at most) and
        # gives back what it brought.
        try:
            return list(await sub.fetch(batch, timeout=wait))
        except (TimeoutError, NatsTimeout):
            return []  # nothing new within ``wait``
        except Exception as exc:  # the connection is away: it reconnects by itself
            log.warning("fetching events failed (%s); trying again", type(exc).__name__)
            await asyncio.sleep(1.0)
            return []

    async def backlog(self) -> int:
        """How many of the department's events wait for this system: not yet
        delivered, or delivered and not yet acknowledged (to watch its lag)."""
        sub = await self._subscription()
        info = await sub.consumer_info()
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    # -- reading a case --------------------------------------------------------------
    async def case(self, complaint_id: str) -> dict[str, Any]:
        """One of the department's cases as it stands, with what the events do
        not carry (the complaint's subject, description, location, demands):
        see docs/integrations.md for the fields. Another department's case
        is ``Refused`` (``not_found``)."""
        result: dict[str, Any] = await self._nats.request(
            f"{self.root}.cmd.metrics.case", {"complaint_id": str(complaint_id)}
        )
        return result

    # -- the department's steps -------------------------------------------------------
    async def send(
        self,
        service: str,
        name: str,
        complaint_id: str,
        fields: dict[str, Any],
        *,
        command_id: str | uuid.UUID | None = None,
        occurred_at: When = None,
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        """Send the command ``<root>.cmd.<service>.<name>`` about ``complaint_id``
        and return tousu's result (the complaint's ``status``, ``version`` and
        the events stored). Tried again on timeouts with the same
        ``command_id`` (a new one when not given), so it is executed once."""
        command: dict[str, Any] = {
            **{k: v for k, v in fields.items() if v is not None},
            "command_id": str(command_id or uuid.uuid4()),
            "occurred_at": _instant(occurred_at),
        }
        if expected_version is not None:
            command["expected_version"] = expected_version
        body = {"complaint_id": str(complaint_id), "command": command}
        subject = f"{self.root}.cmd.{service}.{name}"
        if self.validate:
            schemas.check(body, subject=subject, derived=("actor",))
        result: dict[str, Any] = await self._nats.request(subject, body)
        return result

    async def claim(self, complaint_id: str, *, handler: str, **options: Any) -> dict[str, Any]:
        """Claim a case routed to the department, for ``handler`` (the staff
        member's account name who handles it: the case counts in their figures)."""
        return await self.send("routing", "claim", complaint_id, {"handler": handler}, **options)

    async def return_case(
        self, complaint_id: str, *, reason: str, basis: str, **options: Any
    ) -> dict[str, Any]:
        """Return a case that is not the department's, with the reason and its basis."""
        fields = {"reason": reason, "basis": basis}
        return await self.send("routing", "return", complaint_id, fields, **options)

    async def investigation(
        self,
        complaint_id: str,
        *,
        findings: str,
        methods: Iterable[str] = (),
        attachments: Iterable[dict[str, Any]] = (),
        **options: Any,
    ) -> dict[str, Any]:
        fields = {"findings": findings, "methods": list(methods), "attachments": list(attachments)}
        return await self.send("handling", "investigation", complaint_id, fields, **options)

    async def plan(
        self,
        complaint_id: str,
        *,
        measures: Iterable[dict[str, Any]],
        summary: str | None = None,
        attachments: Iterable[dict[str, Any]] = (),
        **options: Any,
    ) -> dict[str, Any]:
        """Propose the handling plan: ``measures`` as ``{"measure", "owner", "due"}``."""
        fields = {
            "measures": list(measures),
            "summary": summary,
            "attachments": list(attachments),
        }
        return await self.send("handling", "plan", complaint_id, fields, **options)

    async def consultation(
        self, complaint_id: str, *, agrees: bool, opinion: str | None = None, **options: Any
    ) -> dict[str, Any]:
        """Record the complainant's opinion of the plan (agrees or not)."""
        fields = {"agrees": agrees, "opinion": opinion}
        return await self.send("handling", "consultation", complaint_id, fields, **options)

    async def progress(
        self,
        complaint_id: str,
        *,
        progress: str,
        notify_complainant: bool = True,
        attachments: Iterable[dict[str, Any]] = (),
        **options: Any,
    ) -> dict[str, Any]:
        fields = {
            "progress": progress,
            "notify_complainant": notify_complainant,
            "attachments": list(attachments),
        }
        return await self.send("handling", "progress", complaint_id, fields, **options)

    async def extension(
        self, complaint_id: str, *, working_days: int, reason: str, **options: Any
    ) -> dict[str, Any]:
        """Ask for more working days (1 to 10), for a supervisor to decide."""
        fields = {"working_days": working_days, "reason": reason}
        return await self.send("handling", "extension", complaint_id, fields, **options)

    async def resolve(
        self,
        complaint_id: str,
        *,
        result: str,
        basis: str,
        improvements: str | None = None,
        short_path: bool = False,
        attachments: Iterable[dict[str, Any]] = (),
        **options: Any,
    ) -> dict[str, Any]:
        fields = {
            "result": result,
            "basis": basis,
            "improvements": improvements,
            "short_path": short_path,
            "attachments": list(attachments),
        }
        return await self.send("handling", "resolve", complaint_id, fields, **options)

    async def feedback(
        self, complaint_id: str, *, channel: str | None = None, **options: Any
    ) -> dict[str, Any]:
        """Record that the result was fed back to the complainant (by ``channel``,
        default the one they chose)."""
        fields = {"channel": channel}
        return await self.send("handling", "feedback", complaint_id, fields, **options)

    # -- improvement items (整改跟踪) ------------------------------------------------
    async def close_improvement(
        self,
        item_id: str,
        *,
        evidence: str,
        command_id: str | uuid.UUID | None = None,
    ) -> dict[str, Any]:
        """Close one of the department's improvement items with its evidence
        (``<root>.cmd.metrics.improvement-close``): an ``ImprovementItemOpened``
        event's item is ``event.complaint_id`` with ``improvement-`` taken off
        (its stream). Another department's item is ``Refused("not_found")``,
        one closed already ``illegal_transition``, empty evidence
        ``invalid_command``; the result names the item, its case and its
        ``version``. Tried again on timeouts with the same ``command_id``."""
        command = {
            "evidence": evidence,
            "command_id": str(command_id or uuid.uuid4()),
            "occurred_at": _instant(None),
        }
        body = {"item_id": str(item_id).removeprefix("improvement-"), "command": command}
        subject = f"{self.root}.cmd.metrics.improvement-close"
        if self.validate:
            schemas.check(body, subject=subject, derived=("actor",))
        result: dict[str, Any] = await self._nats.request(subject, body)
        return result


def _json(data: bytes) -> dict[str, Any]:
    found = json.loads(data)
    if not isinstance(found, dict):
        raise ValueError("not an object")
    return found

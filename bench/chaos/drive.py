"""Complaints driven through their whole lifecycle, a bounded number at a time.

Each complaint: submitted on the phone channel, accepted and routed by the
services' rules, then claimed, resolved and fed back by a handler of the
department it was routed to, and followed up. Every ``reopen_every``-th
complainant is dissatisfied the first time: reopened, resolved and fed back
again, then satisfied. Either way it ends ``closed``.

A command whose answer was lost (timeout, no responder while its service
restarts, an internal error while the database restarts) is sent again with
the same command id, which the executor answers from the events already
stored instead of deciding twice; a submission is published again with the
same ``Nats-Msg-Id``. Nothing is ever sent under a new identity.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError

from tousu.services.gateway.auth.repository import create_user
from tousu.services.intake.intake import SUBMISSION_NAMESPACE
from tousu.services.relay.message import MSG_ID
from tousu.shared.calendar import TZ
from tousu.shared.events import complaint_stream
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.naming import Naming

OPERATOR = {"id": "op-chaos", "role": "operator"}
# Answers that say "not now", not "no": sent again with the same command id.
RETRIED_CODES = frozenset({"internal_error", "concurrency_conflict"})
POLL = 0.2  # seconds between looks for routed complaints

_TOPICS = (
    ("小区停水未通知", "小区连续两天停水，供水公司未提前公告。"),
    ("公交末班车提前发车", "末班车比时刻表早十分钟开走，乘客滞留。"),
    ("社保卡补办太慢", "补办社保卡一个月仍未拿到，窗口说系统问题。"),
    ("路灯不亮", "小区门口路灯坏了两周，晚上出行不安全。"),
)


def _handling_steps(handler: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The steps before a round's result (policy: 调查核实, 处理方案, 征求意见)."""
    return [
        ("investigation", {"findings": "经核实，情况属实"}),
        ("plan", {"measures": [{"measure": "限期整改", "owner": handler["id"]}]}),
        ("consultation", {"agrees": True}),
    ]


class Refused(RuntimeError):
    """A command was refused for good: the run reports it as a failure."""


@dataclass
class Tally:
    """What the driver did and saw; ``acknowledged`` backs the lost-events audit."""

    submitted: int = 0
    closed: int = 0
    acknowledged_count: int = 0
    reopened: int = 0
    commands: int = 0
    retries: int = 0
    retried_codes: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    # complaint stream → command ids whose success was acknowledged
    acknowledged: dict[str, list[uuid.UUID]] = field(default_factory=dict)
    # stream → whether it takes the dissatisfied round
    plans: dict[str, bool] = field(default_factory=dict)


class RoutedWatch:
    """Tells complaint tasks where their complaint was routed, by polling the store.

    The store, not NATS: it is the truth, and a look that fails while a server
    restarts is simply made again.
    """

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._waiting: dict[str, asyncio.Future[str]] = {}

    def wait(self, stream_id: str) -> asyncio.Future[str]:
        future = asyncio.get_running_loop().create_future()
        self._waiting[stream_id] = future
        return future

    async def run(self) -> None:
        while True:
            await asyncio.sleep(POLL)
            if not self._waiting:
                continue
            try:
                rows = await self._look(list(self._waiting))
            except Exception:
                # A server being killed fails a look in many ways; look again.
                # A pooled connection once left this loop answering nothing
                # after PostgreSQL's kill (a run waited 180 s for complaints
                # routed a minute before), so each look has a connection of
                # its own.
                continue
            for row in rows:
                future = self._waiting.pop(row["stream_id"], None)
                if future is not None and not future.done():
                    future.set_result(row["department"])

    async def _look(self, streams: list[str]) -> list[asyncpg.Record]:
        # A bound on every look: a connection to a killed server can hang
        # rather than fail.
        async with asyncio.timeout(5):
            conn = await asyncpg.connect(self._url)
            try:
                rows: list[asyncpg.Record] = await conn.fetch(
                    "SELECT stream_id, department FROM events "
                    "WHERE type = 'ComplaintRouted' AND stream_id = any($1::text[])",
                    streams,
                )
                return rows
            finally:
                conn.terminate()


def handler_of(department: str) -> str:
    """The username of the bench's handler of ``department`` (``handler_accounts``)."""
    return f"h-chaos-{department}"


async def handler_accounts(database_url: str) -> None:
    """A handler account for every department of the register: the services
    let only an active account of the holding department claim a case."""
    conn = await asyncpg.connect(database_url)
    try:
        for department in CommitmentRegister.load().departments:
            await create_user(
                conn,
                handler_of(department.code),
                role="handler",
                department=department.code,
                password_hash="!",  # no sign-in: the bench sends commands over NATS
            )
    finally:
        await conn.close()


class Driver:
    def __init__(
        self,
        nc: NatsClient,
        naming: Naming,
        watch: RoutedWatch,
        *,
        run_id: str,
        seed: int,
        reopen_every: int = 5,
        answer_timeout: float = 5.0,
        give_up_after: float = 180.0,
    ) -> None:
        self._nc = nc
        self._js = nc.jetstream()
        self._naming = naming
        self._watch = watch
        self._run_id = run_id
        self._random = random.Random(seed)
        self._reopen_every = reopen_every
        self._answer_timeout = answer_timeout
        self._give_up_after = give_up_after
        self.tally = Tally()

    def commands_planned(self, count: int) -> int:
        """How many commands ``count`` complaints take: claim, then a round's
        handling steps and its resolve, feedback and follow-up. The killer
        spreads its kills by this, so it must count every command sent."""
        per_round = len(_handling_steps({"id": ""})) + 3
        return (1 + per_round) * count + per_round * (count // self._reopen_every)

    async def drive(
        self, count: int, in_flight: int, hold: tuple[int, asyncio.Event] | None = None
    ) -> None:
        """Drive ``count`` complaints, ``in_flight`` at a time; with ``hold``
        (n, event), complaint n and later wait for the event, so that work is
        still to come when whatever sets it happens."""
        slots = asyncio.Semaphore(in_flight)

        async def one(n: int) -> None:
            try:
                await self._complaint(n)
            except Refused as exc:
                self.tally.failures.append(str(exc))
            finally:
                slots.release()

        tasks = []
        for n in range(count):
            if hold is not None and n == hold[0]:
                await hold[1].wait()
            await slots.acquire()
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)

    async def _complaint(self, n: int) -> None:
        key = f"phone:chaos-{self._run_id}-{n}"
        complaint_id = uuid.uuid5(SUBMISSION_NAMESPACE, key)
        stream_id = complaint_stream(complaint_id)
        dissatisfied_first = n % self._reopen_every == self._reopen_every - 1
        self.tally.plans[stream_id] = dissatisfied_first
        routed = self._watch.wait(stream_id)
        await self._submit(key, n)
        department = await asyncio.wait_for(routed, self._give_up_after)
        handler = {"id": handler_of(department), "role": "handler", "department": department}
        await self._command(complaint_id, "routing", "claim", handler)
        rounds = ("dissatisfied", "satisfied") if dissatisfied_first else ("satisfied",)
        for satisfaction in rounds:
            # Each round in the policy's order: investigate, plan, the
            # complainant's opinion on it, then the result.
            for step, fields in _handling_steps(handler):
                await self._command(complaint_id, "handling", step, handler, **fields)
            resolution = {"result": "已处理并答复", "basis": "服务规范"}
            await self._command(complaint_id, "handling", "resolve", handler, **resolution)
            await self._command(complaint_id, "handling", "feedback", handler)
            status = await self._command(
                complaint_id, "followup", "follow-up", OPERATOR, satisfaction=satisfaction
            )
        if status != "closed":
            raise Refused(f"{stream_id} ended {status}, not closed")
        self.tally.reopened += dissatisfied_first
        self.tally.closed += 1

    async def _submit(self, key: str, n: int) -> None:
        subject, description = _TOPICS[n % len(_TOPICS)]
        body = {
            "channel": "phone",
            "external_ref": key.removeprefix("phone:"),
            # A number each: the duplicate check looks for the same contact.
            "complainant": {"phone": f"139{n:08d}"},
            "subject": subject,
            "description": description,
            "category": "service_quality",
        }
        payload = json.dumps(body).encode()
        deadline = time.monotonic() + self._give_up_after
        while True:
            try:
                await self._js.publish(
                    self._naming.intake("phone"),
                    payload,
                    headers={MSG_ID: key},
                    timeout=self._answer_timeout,
                )
                self.tally.submitted += 1
                return
            except (NatsError, TimeoutError) as exc:
                await self._again(deadline, type(exc).__name__, f"submission {key}")

    async def _command(
        self,
        complaint_id: uuid.UUID,
        service: str,
        command: str,
        actor: dict[str, Any],
        **fields: Any,
    ) -> str:
        command_id = uuid.uuid4()
        body = {
            "complaint_id": str(complaint_id),
            "command": {
                "actor": actor,
                "occurred_at": datetime.now(TZ).isoformat(),
                "command_id": str(command_id),
                **fields,
            },
        }
        payload = json.dumps(body).encode()
        subject = self._naming.command(service, command)
        deadline = time.monotonic() + self._give_up_after
        self.tally.commands += 1
        while True:
            try:
                msg = await self._nc.request(subject, payload, timeout=self._answer_timeout)
            except (NatsError, TimeoutError) as exc:
                await self._again(deadline, type(exc).__name__, f"{command} {complaint_id}")
                continue
            reply = json.loads(msg.data)
            if reply.get("ok"):
                stream_id = complaint_stream(complaint_id)
                self.tally.acknowledged.setdefault(stream_id, []).append(command_id)
                self.tally.acknowledged_count += 1
                return str(reply["result"]["status"])
            code = str(reply.get("error", {}).get("code"))
            if code not in RETRIED_CODES:
                raise Refused(f"{command} {complaint_id} refused: {reply.get('error')}")
            await self._again(deadline, code, f"{command} {complaint_id}")

    async def _again(self, deadline: float, why: str, what: str) -> None:
        if time.monotonic() > deadline:
            raise Refused(f"{what}: no answer for {self._give_up_after:.0f}s (last: {why})")
        self.tally.retries += 1
        self.tally.retried_codes[why] = self.tally.retried_codes.get(why, 0) + 1
        # Jitter: the complaints that lost their answers together do not all
        # come back at the same instant.
        await asyncio.sleep(0.2 + self._random.random() * 0.3)

"""Drives demo complaints through their lifecycles with the commands staff
would send, each later than the one before and none in the future.

The demo makes up weeks of history, which the deployment's late-entry windows
(补录, TOUSU_LATE_*) refuse to staff: its commands are decided in this
process, by the services' own code (intake's desk, the command executor) on
the same store, with the demo's wider windows (:data:`DEMO_LATE_ENTRIES`).
Every back-dated step stays recorded as a late entry, with
:data:`DEMO_REASON` as its reason. The running services do the rest as for
any complaint: the relay publishes the events, routing routes them, the
projections and notices follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dt_time
from typing import Any

import asyncpg

from tousu.demo.data import HANDLING
from tousu.demo.plan import WINDOW_DAYS, DemoCase, Outcome
from tousu.services.gateway.auth.repository import UserExists, create_user
from tousu.services.intake.intake import Intake
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.calendar import TZ
from tousu.shared.domain import commands as c
from tousu.shared.domain.context import LateEntryRules
from tousu.shared.domain.errors import DomainError
from tousu.shared.events import Actor
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.intake.submission import Submission
from tousu.shared.intake.taxonomy import Taxonomy

# The demo's own late-entry windows: its whole made-up history, and no more.
DEMO_LATE_ENTRIES = LateEntryRules(
    registration=timedelta(days=WINDOW_DAYS + 1), step_working_days=WINDOW_DAYS
)
# Why each back-dated step was recorded late: on its LateEntryRecorded mark.
DEMO_REASON = "演示数据：tousu demo seed 补录的演示历史"

OPERATOR = {"id": "op-demo", "role": "operator"}
SUPERVISOR = {"id": "sup-demo", "role": "supervisor"}
PUBLIC = {"id": "public", "role": "complainant"}
# Most steps a lifecycle takes: spacing the clock by it keeps the last one
# before "until".
MAX_STEPS = 16
OFFICE_OPENS, OFFICE_CLOSES = 8, 18  # hours, Asia/Shanghai


def staff_of(department: str) -> str:
    """The demo's handler of ``department``."""
    return f"{department}-staff"


class DemoError(RuntimeError):
    pass


class Clock:
    """Instants for one case's commands: increasing, never past ``until``."""

    def __init__(self, start: datetime, until: datetime, rng: random.Random) -> None:
        self.now = start
        self.until = until
        self.rng = rng
        self.left = MAX_STEPS

    def next(self) -> datetime:
        room = (self.until - self.now) / (self.left + 1)
        gap = min(timedelta(hours=self.rng.uniform(0.5, 20)), room)
        self.left = max(self.left - 1, 1)
        at = self.now + max(gap, timedelta(seconds=1))
        # Staff work office hours: a step that would fall at night waits for
        # the next morning, when there is room for it.
        local = at.astimezone(TZ)
        if not OFFICE_OPENS <= local.hour < OFFICE_CLOSES:
            day = local.date() + timedelta(days=local.hour >= OFFICE_CLOSES)
            morning = datetime.combine(day, dt_time(OFFICE_OPENS), TZ)
            morning += timedelta(minutes=self.rng.randint(30, 240))
            if morning <= self.now + room:
                at = morning
        self.now = at
        return self.now


@dataclass
class Result:
    case: DemoCase
    complaint_id: str | None = None
    tracking_no: str | None = None
    # Shown once by intake, kept for the closing "try it" table.
    access_code: str | None = None
    error: str | None = None


class Driver:
    def __init__(
        self,
        intake: Intake,
        executor: CommandExecutor,
        pool: asyncpg.Pool,
        timeout: float = 30.0,
    ) -> None:
        self.intake = intake
        self.executor = executor
        self.pool = pool
        self.timeout = timeout
        self.taxonomy = Taxonomy.load()

    @staticmethod
    async def add_staff(pool: asyncpg.Pool) -> None:
        """A handler account for each department of the register (``Run.handler``):
        a claim is only for an active account of the holding department."""
        for department in CommitmentRegister.load().departments:
            with contextlib.suppress(UserExists):  # seeded before
                await create_user(
                    pool,
                    staff_of(department.code),
                    role="handler",
                    department=department.code,
                    password_hash="!",  # no password: nobody signs in as it
                )

    async def submit(self, case: DemoCase) -> tuple[str, str, str | None]:
        actor = PUBLIC if case.channel.value in ("web", "wechat") else OPERATOR
        submission = Submission.model_validate({**case.submission, "late_reason": DEMO_REASON})
        try:
            done = await self.intake.submit(submission, Actor.model_validate(actor), details=False)
        except DomainError as exc:
            raise DemoError(f"submit: {exc}") from exc
        return str(done.complaint_id), done.tracking_no, done.access_code

    async def send(
        self,
        command: type[c.Command],
        complaint_id: str,
        actor: dict[str, Any],
        at: datetime,
        **fields: Any,
    ) -> None:
        body = {"actor": actor, "occurred_at": at, "late_reason": DEMO_REASON, **fields}
        try:
            await self.executor.execute(uuid.UUID(complaint_id), command.model_validate(body))
        except DomainError as exc:
            raise DemoError(f"{command.name()}: {exc}") from exc

    async def routed(self, complaint_id: str, times: int) -> str:
        """The department of the ``times``-th routing, once the routing service made it."""
        deadline = time.monotonic() + self.timeout
        while True:
            history = await self.executor.history(uuid.UUID(complaint_id))
            routings = [e.data["department"] for e in history if e.type == "ComplaintRouted"]
            if len(routings) >= times:
                return str(routings[times - 1])
            if time.monotonic() > deadline:
                raise DemoError(f"complaint {complaint_id} was not routed in {self.timeout:.0f}s")
            await asyncio.sleep(0.1)  # routing is asynchronous: poll until it is done

    async def drive(self, case: DemoCase, seed: int) -> Result:
        result = Result(case)
        try:
            result.complaint_id, result.tracking_no, result.access_code = await self.submit(case)
            await Lifecycle(self, case, result.complaint_id, random.Random(seed)).run()
        except (DemoError, TimeoutError, OSError) as exc:
            result.error = str(exc)
        except Exception as exc:  # nats errors and the like: report, go on with the others
            result.error = f"{type(exc).__name__}: {exc}"
        return result


class Lifecycle:
    """The commands of one case, as its outcome calls for."""

    def __init__(self, d: Driver, case: DemoCase, cid: str, rng: random.Random) -> None:
        self.d = d
        self.case = case
        self.cid = cid
        self.rng = rng
        self.clock = Clock(case.received_at, case.until, rng)
        self.department = ""

    def pick(self, key: str) -> str:
        return self.rng.choice(HANDLING[key])

    @property
    def handler(self) -> dict[str, Any]:
        return {"id": staff_of(self.department), "role": "handler", "department": self.department}

    async def cmd(self, command: type[c.Command], actor: dict[str, Any], **f: Any) -> None:
        await self.d.send(command, self.cid, actor, self.clock.next(), **f)

    async def run(self) -> None:
        outcome = self.case.outcome
        if outcome == Outcome.REJECTED:
            await self.reject()
            return
        await self.accept()
        self.department = await self.d.routed(self.cid, 1)
        if outcome == Outcome.RETURNED:
            await self.cmd(
                c.ReturnCase,
                self.handler,
                reason="该事项不属于本单位职责范围",
                basis="部门职责分工规定",
            )
            self.department = await self.d.routed(self.cid, 2)
        await self.cmd(c.ClaimCase, self.handler)
        await self.cmd(c.RecordInvestigation, self.handler, findings=self.pick("findings"))
        if outcome == Outcome.LATE:
            return  # left in handling: its feedback deadline passes
        await self.plan_and_consult()
        if outcome in (Outcome.EXTENDED, Outcome.EXTENSION_REFUSED):
            await self.extension(approved=outcome == Outcome.EXTENDED)
        await self.resolve_and_feed_back()
        if outcome == Outcome.REOPENED:
            await self.cmd(
                c.RecordFollowUp,
                OPERATOR,
                satisfaction="dissatisfied",
                comment="问题没有真正解决，要求重新处理",
            )
            # The reopened round is handled afresh, in the policy's order.
            await self.cmd(c.RecordInvestigation, self.handler, findings="重新核查，问题仍存在")
            await self.plan_and_consult()
            await self.resolve_and_feed_back()
        satisfaction = "satisfied" if self.rng.random() < 0.8 else "basically_satisfied"
        await self.cmd(c.RecordFollowUp, OPERATOR, satisfaction=satisfaction)

    async def reject(self) -> None:
        assert self.case.out_of_scope is not None
        kind = self.d.taxonomy.out_of_scope(self.case.out_of_scope)
        await self.cmd(
            c.RejectComplaint,
            OPERATOR,
            reason=kind.reason.get("zh"),
            suggestion=kind.referral.get("zh"),
            reason_code=kind.code,
        )

    async def accept(self) -> None:
        topic = self.case.topic
        assert topic is not None
        fields: dict[str, Any] = {"category": topic.category}
        if topic.subcategory:
            fields["subcategory"] = topic.subcategory
        if topic.service_item:
            fields["service_item"] = topic.service_item
        await self.cmd(
            c.AcceptComplaint, OPERATOR, verification_note="信息完整，属于受理范围", **fields
        )

    async def extension(self, *, approved: bool) -> None:
        days = self.rng.choice((3, 5, 10))
        await self.cmd(
            c.RequestExtension,
            self.handler,
            working_days=days,
            reason="涉及多个单位协调，需要进一步调查取证",
        )
        reason = "情况复杂，同意延期" if approved else "不属于复杂情形，应在原期限内办结"
        await self.cmd(c.DecideExtension, SUPERVISOR, approved=approved, reason=reason)
        await self.cmd(c.ReportProgress, self.handler, progress=self.pick("progress"))

    @property
    def short_path(self) -> bool:
        """Whether the case's service item allows the register's short path
        (resolved after the investigation alone)."""
        item = self.case.topic.service_item if self.case.topic else None
        return CommitmentRegister.load().allows_short_path(item)

    async def plan_and_consult(self) -> None:
        """A handling plan (measures, owner, date) and the complainant's opinion
        on it; a short-path item goes without."""
        if self.short_path:
            return
        measure = {"measure": "责成责任单位限期整改并回告", "owner": self.handler["id"]}
        await self.cmd(
            c.ProposePlan, self.handler, measures=[measure], summary="限期整改，整改后回告"
        )
        await self.cmd(c.RecordConsultation, self.handler, agrees=True, opinion="同意处理方案")

    async def resolve_and_feed_back(self) -> None:
        await self.cmd(
            c.ResolveComplaint,
            self.handler,
            result=self.pick("result"),
            basis=self.pick("basis"),
            improvements=self.pick("improvements"),
            short_path=self.short_path,
        )
        await self.cmd(c.SendFeedback, self.handler)

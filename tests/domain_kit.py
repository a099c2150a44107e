"""A tiny harness for pure domain tests: run commands against one complaint in memory."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from tousu.shared.application.executor import CommandExecutor, Outcome
from tousu.shared.calendar import TZ, WorkdayCalendar
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import ComplaintState, DecisionContext, decide, evolve
from tousu.shared.events import Actor, Envelope, EventData, decode, stored, utcnow
from tousu.shared.events.types import Channel, Complainant, PlanMeasure
from tousu.shared.store import EventStore, UnitOfWork

OPERATOR = Actor(id="op-li", role="operator")
SUPERVISOR = Actor(id="sup-wang", role="supervisor")
HANDLER = Actor(id="h-zhao", role="handler", department="water")
DEPT_HEAD = Actor(id="dh-qian", role="dept_head", department="water")
OTHER_HANDLER = Actor(id="h-sun", role="handler", department="transport")
COMPLAINANT = Actor(id="public", role="complainant")
SYSTEM = Actor(id="tousu", role="system")

CALENDAR = WorkdayCalendar()
START = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)  # a Monday
NOW = datetime(2027, 6, 1, 9, 0, tzinfo=TZ)  # after all test times


@dataclass
class Case:
    """One complaint's stream in memory; ``at`` is the clock commands happen on.

    Each step is recorded as it happens (the decision's "now" is its
    ``occurred_at``), unless ``now`` fixes the recording time: then steps
    dated earlier are late entries (补录).
    """

    complaint_id: uuid.UUID = field(default_factory=uuid.uuid4)
    at: datetime = START
    envelopes: list[Envelope] = field(default_factory=list)
    state: ComplaintState = field(default_factory=ComplaintState)
    now: datetime | None = None
    recording: datetime = START  # the occurred_at of the step being decided

    @property
    def stream_id(self) -> str:
        return f"complaint-{self.complaint_id}"

    def context(self) -> DecisionContext:
        return DecisionContext(calendar=CALENDAR, now=self.now or self.recording)

    def do(self, command_type: type[c.Command], actor: Actor, **fields: Any) -> list[EventData]:
        at = fields.pop("occurred_at", self.at + timedelta(hours=1))
        command = command_type(actor=actor, occurred_at=at, **fields)
        self.recording = at
        new = decide(self.state, command, self.context())
        self.at = at
        out = []
        for event in new:
            envelope = stored(
                event,
                stream_id=self.stream_id,
                version=self.state.version + 1,
                global_position=len(self.envelopes) + 1,
                recorded_at=utcnow(),
            )
            self.envelopes.append(envelope)
            self.state = evolve(self.state, envelope)
            out.append(decode(envelope))
        return out

    # -- the usual steps ---------------------------------------------------------
    def submit(self, channel: Channel = Channel.PHONE, **fields: Any) -> Case:
        fields.setdefault("tracking_no", "TS2603-0001-00")
        fields.setdefault(
            "complainant", Complainant(name="张三", phone="13800000000", preferred_channel=channel)
        )
        fields.setdefault("subject", "自来水停水未通知")
        fields.setdefault("description", "小区连续两天停水，物业和供水公司互相推诿。")
        self.do(c.SubmitComplaint, OPERATOR, channel=channel, **fields)
        return self

    def accept(self) -> Case:
        self.do(c.AcceptComplaint, OPERATOR, category="service_quality", subcategory="efficiency")
        return self

    def route(self, department: str = "water", actor: Actor = OPERATOR) -> Case:
        self.do(c.RouteComplaint, actor, department=department)
        return self

    def claim(self, actor: Actor = HANDLER) -> Case:
        self.do(c.ClaimCase, actor)
        return self

    def investigate(self, actor: Actor = HANDLER) -> Case:
        self.do(c.RecordInvestigation, actor, findings="管网维修未提前公告", methods=["现场勘查"])
        return self

    def plan(self, actor: Actor = HANDLER) -> Case:
        measure = PlanMeasure(measure="补发停水公告并致歉", owner=actor.id)
        self.do(c.ProposePlan, actor, measures=[measure], summary="公告并致歉")
        return self

    def consult(self, actor: Actor = HANDLER, agrees: bool = True) -> Case:
        self.do(c.RecordConsultation, actor, agrees=agrees, opinion="同意方案")
        return self

    def handle(self, actor: Actor = HANDLER) -> Case:
        """This round's steps before the result, in the policy's order:
        investigate, plan, the complainant's opinion on it."""
        return self.investigate(actor).plan(actor).consult(actor)

    def resolve(self, actor: Actor = HANDLER) -> Case:
        self.do(
            c.ResolveComplaint,
            actor,
            result="已恢复供水并公开致歉",
            basis="《城市供水条例》第二十二条",
            improvements="停水前48小时公告",
        )
        return self

    def feedback(self, actor: Actor = HANDLER) -> Case:
        self.do(c.SendFeedback, actor)
        return self

    def follow_up(self, satisfaction: str, actor: Actor = OPERATOR) -> Case:
        self.do(c.RecordFollowUp, actor, satisfaction=satisfaction)
        return self

    def in_handling(self) -> Case:
        """Claimed and handled up to the result (investigated, planned, consulted)."""
        return self.submit().accept().route().claim().handle()


# -- histories written in the past, onto a real store ---------------------------
# The occurred_at of the command being decided (ReplayExecutor), if any.
_RECORDING: ContextVar[datetime | None] = ContextVar("recording", default=None)


def as_it_happens(
    calendar: WorkdayCalendar | Callable[[], WorkdayCalendar] = CALENDAR, **fields: Any
) -> Callable[[], DecisionContext]:
    """A context factory for a :class:`ReplayExecutor`: "now" is the
    occurred_at of the command being decided (NOW outside one)."""

    def context() -> DecisionContext:
        cal = calendar if isinstance(calendar, WorkdayCalendar) else calendar()
        return DecisionContext(calendar=cal, now=_RECORDING.get() or NOW, **fields)

    return context


class ReplayExecutor(CommandExecutor):
    """Writes a history set in the past, each command recorded as it
    happened: none is a late entry (补录), and the time rules hold as they
    did then."""

    def __init__(
        self,
        store: EventStore,
        context: Callable[[], DecisionContext] | None = None,
        **kwargs: Any,
    ) -> None:
        base = context or as_it_happens()

        def recorded_as_it_happens() -> DecisionContext:
            ctx = base()
            recording = _RECORDING.get()
            # Never later than the context's own now: a command dated in the
            # future is still refused as one.
            return ctx if recording is None else replace(ctx, now=min(ctx.now, recording))

        super().__init__(store, recorded_as_it_happens, **kwargs)

    async def execute_in(
        self,
        uow: UnitOfWork,
        complaint_id: uuid.UUID,
        command: c.Command,
        *,
        history: list[Envelope] | None = None,
    ) -> Outcome:
        token = _RECORDING.set(command.occurred_at)
        try:
            return await super().execute_in(uow, complaint_id, command, history=history)
        finally:
            _RECORDING.reset(token)

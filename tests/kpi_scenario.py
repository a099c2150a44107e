"""A scripted year of complaints whose KPI figures were worked out by hand.

32 complaints, driven through the real domain (CommandExecutor on a real event
store) with chosen ``occurred_at`` instants from 2025-12-31 to 2026-11-27.
The expected figures live in tests/integration/test_kpi_scenario.py; each
complaint below says what it is there to show.

Working days of 2026 (Asia/Shanghai), numbered, from the built-in calendar's
month listings (元旦 01-01..03 off, Sun 01-04 调休; 春节 02-15..23 off, Sat
02-14 and Sat 02-28 调休; 清明 04-04..06 off; 劳动节 05-01..05 off, Sat 05-09
调休; 端午 06-19..21 off; Sun 09-20 调休; 中秋 09-25..27 off; 国庆 10-01..07
off, Sat 10-10 调休):

  Jan  Sun 4 #1, 5-9 #2-6, 12-16 #7-11, 19-23 #12-16, 26-30 #17-21
  Feb  2-6 #22-26, 9-13 #27-31, Sat 14 #32, (15-23 off), 24-27 #33-36, Sat 28 #37
  Mar  2-6 #38-42, 9-13 #43-47, 16-20 #48-52, 23-27 #53-57, 30-31 #58-59
  Apr  1-3 #60-62, (4-6 off), 7-10 #63-66, 13-17 #67-71, 20-24 #72-76, 27-30 #77-80
  May  (1-5 off), 6-8 #81-83, Sat 9 #84, 11-15 #85-89, 18-22 #90-94, 25-29 #95-99
  Jun  1-5 #100-104, 8-12 #105-109, 15-18 #110-113, (19 off), 22-26 #114-118, 29-30 #119-120
  Jul  1-3 #121-123, 6-10 #124-128, 13-17 #129-133, 20-24 #134-138, 27-31 #139-143
  Aug  3-7 #144-148, 10-14 #149-153, 17-21 #154-158, 24-28 #159-163, 31 #164
  Sep  1-4 #165-168, 7-11 #169-173, 14-18 #174-178, Sun 20 #179, 21-24 #180-183,
       (25-27 off), 28-30 #184-186
  Oct  (1-7 off), 8-9 #187-188, Sat 10 #189, 12-16 #190-194, 19-23 #195-199,
       26-30 #200-204
  Nov  2-6 #205-209, 9-13 #210-214, 16-20 #215-219, 23-27 #220-224, 30 #225
  Dec  1-3 #226-228

"N working days from a day #k" is the end of day #(k+N); a day off counts as
the working day before it (e.g. 02-17 as #32). Handling working days are
#(first feedback) - #(acceptance).

The two instants the figures are taken at: T1 = Tue 2026-10-20 12:00,
T2 = Wed 2026-11-25 12:00.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from tousu.shared.application.context_source import scope_problem
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.calendar import TZ, WorkdayCalendar
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import DecisionContext
from tousu.shared.events import Actor
from tousu.shared.events.types import Channel, Complainant, PlanMeasure
from tousu.shared.intake.taxonomy import Taxonomy
from tousu.shared.store import EventStore

OPERATOR = Actor(id="op-li", role="operator")
SUPERVISOR = Actor(id="sup-wang", role="supervisor")
H_ZHAO = Actor(id="h-zhao", role="handler", department="water")
H_LIN = Actor(id="h-lin", role="handler", department="water")
H_SUN = Actor(id="h-sun", role="handler", department="transport")
H_ZHOU = Actor(id="h-zhou", role="handler", department="housing")
H_WU = Actor(id="h-wu", role="handler", department="housing")
H_ZHENG = Actor(id="h-zheng", role="handler", department="health")

T1 = datetime(2026, 10, 20, 12, 0, tzinfo=TZ)
T2 = datetime(2026, 11, 25, 12, 0, tzinfo=TZ)
# "Now" for every decision: after every occurred_at of the scenario.
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=TZ)


def at(month: int, day: int, hour: int = 10, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


def complaint_id(number: int) -> uuid.UUID:
    """C07 is 2026c0de-0000-4000-8000-000000000007."""
    return uuid.UUID(f"2026c0de-0000-4000-8000-{number:012d}")


@dataclass(frozen=True)
class Step:
    command: type[c.Command]
    actor: Actor
    occurred_at: datetime
    fields: dict[str, Any]
    # When it was typed in, if later than it happened (a back-dated fact).
    entered_at: datetime | None = None

    @property
    def order(self) -> datetime:
        return self.entered_at or self.occurred_at


@dataclass
class Script:
    """One complaint's history, written step by step."""

    number: int
    channel: Channel
    steps: list[Step] = field(default_factory=list)
    handler: Actor | None = None
    # The handling steps this round has had (a reopening starts afresh).
    handled: set[type[c.Command]] = field(default_factory=set)

    @property
    def complaint_id(self) -> uuid.UUID:
        return complaint_id(self.number)

    @property
    def name(self) -> str:
        return f"C{self.number:02d}"

    def _add(
        self,
        command: type[c.Command],
        actor: Actor,
        when: datetime,
        entered_at: datetime | None = None,
        **fields: Any,
    ) -> Script:
        step = Step(command, actor, when, fields, entered_at)
        if self.steps and step.order < self.steps[-1].order:
            raise ValueError(f"{self.name}: steps out of order at {when}")
        self.steps.append(step)
        if command in (c.ReopenComplaint, c.RecordFollowUp) and fields.get("satisfaction") in (
            None,
            "dissatisfied",
        ):
            self.handled.clear()
        else:
            self.handled.add(command)
        return self

    def submit(self, when: datetime, entered_at: datetime | None = None) -> Script:
        return self._add(
            c.SubmitComplaint,
            OPERATOR,
            when,
            entered_at,
            channel=self.channel,
            tracking_no=f"TS2026-{self.number:04d}",
            external_ref=f"{self.channel.value}-{self.number:04d}",
            complainant=Complainant(
                name=f"投诉人{self.number}", phone="13800000000", preferred_channel=self.channel
            ),
            subject=f"投诉 {self.name}",
            description="办事遇到问题，要求处理。",
        )

    def accept(self, when: datetime, category: str, subcategory: str) -> Script:
        return self._add(
            c.AcceptComplaint, OPERATOR, when, category=category, subcategory=subcategory
        )

    def reject(self, when: datetime, reason_code: str = "litigation") -> Script:
        return self._add(
            c.RejectComplaint,
            OPERATOR,
            when,
            reason="不属于受理范围",
            suggestion="请通过相应渠道办理",
            reason_code=reason_code,
        )

    def route(self, department: str, when: datetime) -> Script:
        return self._add(c.RouteComplaint, OPERATOR, when, department=department)

    def claim(self, handler: Actor, when: datetime) -> Script:
        self.handler = handler
        return self._add(c.ClaimCase, handler, when)

    def work(self, handler: Actor, when: datetime) -> Script:
        """Routed to the handler's department at ``when``, claimed an hour
        later and investigated an hour after that."""
        assert handler.department is not None
        self.route(handler.department, when)
        self.claim(handler, when + timedelta(hours=1))
        return self._add(
            c.RecordInvestigation, handler, when + timedelta(hours=2), findings="已核实"
        )

    def give_back(self, when: datetime) -> Script:
        """The department returns the case (退单)."""
        assert self.handler is not None
        return self._add(
            c.ReturnCase, self.handler, when, reason="不属本部门职责", basis="三定方案"
        )

    def extend(self, requested: datetime, decided: datetime, days: int, approved: bool) -> Script:
        assert self.handler is not None
        self._add(c.RequestExtension, self.handler, requested, working_days=days, reason="需协调")
        return self._add(c.DecideExtension, SUPERVISOR, decided, approved=approved)

    def answer(self, when: datetime) -> Script:
        """Resolved an hour before ``when``, result fed back at ``when``.

        The round's steps the policy puts before the result and the script
        has not had (investigation, plan, the complainant's opinion) are
        taken at the instant of the resolution: no KPI counts them, so the
        figures stay those worked out by hand."""
        assert self.handler is not None
        resolved = when - timedelta(hours=1)
        if c.RecordInvestigation not in self.handled:
            self._add(c.RecordInvestigation, self.handler, resolved, findings="已核实")
        if c.ProposePlan not in self.handled:
            measure = PlanMeasure(measure="整改", owner=self.handler.id)
            self._add(c.ProposePlan, self.handler, resolved, measures=[measure])
        if c.RecordConsultation not in self.handled:
            self._add(c.RecordConsultation, self.handler, resolved, agrees=True)
        self._add(
            c.ResolveComplaint,
            self.handler,
            when - timedelta(hours=1),
            result="已处理",
            basis="相关规定",
        )
        return self._add(c.SendFeedback, self.handler, when)

    def follow_up(self, satisfaction: str, when: datetime) -> Script:
        return self._add(c.RecordFollowUp, OPERATOR, when, satisfaction=satisfaction)

    def reopen(self, when: datetime) -> Script:
        return self._add(c.ReopenComplaint, SUPERVISOR, when, reason="监督举报：问题仍未解决")


def _scripts() -> list[Script]:
    s: list[Script] = []

    def new(number: int, channel: Channel) -> Script:
        script = Script(number, channel)
        s.append(script)
        return script

    # -- January: 元旦 and the make-up Sunday 01-04 ---------------------------
    # C01 web, received on the holiday Fri 01-02 (counted from before #1), so
    # acceptance is due Mon 01-05 (#2) thanks to the make-up Sun 01-04 (#1):
    # accepted 01-05 on time; fed back 01-23 (#16, due #17 = 01-26) on time,
    # 14 wd; satisfied.
    (
        new(1, Channel.WEB)
        .submit(at(1, 2))
        .accept(at(1, 5, 9, 30), "service_quality", "efficiency")
        .work(H_ZHAO, at(1, 5, 11))
        .answer(at(1, 23, 15))
        .follow_up("satisfied", at(1, 26))
    )
    # C02 phone, received on the make-up Sun 01-04 (#1): acceptance due Tue
    # 01-06 (#3); accepted Wed 01-07 (#4): LATE. Feedback due #19 = 01-28,
    # fed back 01-27 (#18) on time, 14 wd; basically satisfied.
    (
        new(2, Channel.PHONE)
        .submit(at(1, 4, 16))
        .accept(at(1, 7, 9), "service_environment", "facilities")
        .work(H_SUN, at(1, 7, 11))
        .answer(at(1, 27))
        .follow_up("basically_satisfied", at(1, 29))
    )

    # -- February: 春节 02-15..23, make-up Sat 02-14 and Sat 02-28 ------------
    # C03 phone, received Fri 02-13 (#31): acceptance due Tue 02-24 (#33, the
    # example of docs/design.md, "Deadlines"); accepted on the make-up Sat
    # 02-14 (#32) on time.
    # Feedback due #47 = Fri 03-13; fed back 03-13 16:00 on time, 15 wd;
    # satisfied.
    (
        new(3, Channel.PHONE)
        .submit(at(2, 13))
        .accept(at(2, 14), "service_result", "below_standard")
        .work(H_ZHOU, at(2, 14, 11))
        .answer(at(3, 13, 16))
        .follow_up("satisfied", at(3, 16))
    )
    # C04 letter, received Fri 02-13 (#31), accepted Wed 02-25 (#34): acceptance
    # LATE (due Tue 02-24). Feedback due #49 = Tue 03-17, fed back Fri 03-20
    # (#52): LATE, 18 wd. Dissatisfied Mon 03-23 (#53) -> reopened, round 2
    # due #68 = Tue 04-14; round 2 fed back Fri 04-10, basically satisfied
    # 04-13: reopened once, second round answered and closed.
    (
        new(4, Channel.LETTER)
        .submit(at(2, 13, 15))
        .accept(at(2, 25), "service_quality", "attitude")
        .work(H_LIN, at(2, 25, 11))
        .answer(at(3, 20))
        .follow_up("dissatisfied", at(3, 23))
        .answer(at(4, 10))
        .follow_up("basically_satisfied", at(4, 13))
    )
    # C05 web, received on the make-up Sat 02-14 (#32) at 20:00: acceptance due
    # Wed 02-25 (#34); rejected Tue 02-24: on time.
    new(5, Channel.WEB).submit(at(2, 14, 20)).reject(at(2, 24))
    # C06 wechat, received during the holiday (Tue 02-17, counts from #32):
    # acceptance due Wed 02-25 (#34), accepted 02-25 17:00 on time. Feedback
    # due #49 = Tue 03-17; 5 wd extension requested 03-12, approved 03-13 ->
    # due #54 = Tue 03-24; fed back Mon 03-23 (#53): on time only thanks to
    # the extension, 19 wd; satisfied.
    (
        new(6, Channel.WECHAT)
        .submit(at(2, 17, 9))
        .accept(at(2, 25, 17), "service_quality", "process")
        .work(H_SUN, at(2, 25, 18))
        .extend(at(3, 12), at(3, 13), 5, approved=True)
        .answer(at(3, 23))
        .follow_up("satisfied", at(3, 24))
    )
    # C07 walk_in, received Thu 02-12 (#30): acceptance due on the make-up Sat
    # 02-14 (#32); accepted Tue 02-24 (#33): LATE because the Saturday counts.
    # Feedback due #48 = Mon 03-16, fed back Tue 03-10 (#44), 11 wd.
    # Unreachable 03-13, then satisfied 03-16.
    (
        new(7, Channel.WALK_IN)
        .submit(at(2, 12))
        .accept(at(2, 24), "service_environment", "order_safety")
        .work(H_WU, at(2, 24, 11))
        .answer(at(3, 10))
        .follow_up("unreachable", at(3, 13))
        .follow_up("satisfied", at(3, 16))
    )

    # -- March to August ---------------------------------------------------
    # C08 phone, received Mon 03-30 (#58), accepted Tue 03-31 (#59) on time
    # (due #60). Feedback due #74 = Wed 04-22, fed back 04-22 18:00 on time,
    # 15 wd. Dissatisfied Fri 04-24 (#76) -> round 2 due #91 = Tue 05-19,
    # never answered: reopened, still open and overdue at T1 and T2.
    (
        new(8, Channel.PHONE)
        .submit(at(3, 30))
        .accept(at(3, 31), "misconduct", "abuse_of_power")
        .work(H_ZHENG, at(3, 31, 11))
        .answer(at(4, 22, 18))
        .follow_up("dissatisfied", at(4, 24))
    )
    # C09 letter, received Fri 04-03 (#62): acceptance due Wed 04-08 (#64)
    # across 清明; accepted 04-08 on time. Feedback due #79 = Wed 04-29; 3 wd
    # extension approved 04-28 -> due #82 = Thu 05-07 (across 劳动节); fed
    # back Fri 05-08 (#83): LATE even with the extension, 19 wd; basically
    # satisfied.
    (
        new(9, Channel.LETTER)
        .submit(at(4, 3))
        .accept(at(4, 8), "service_result", "wrong_information")
        .work(H_ZHAO, at(4, 8, 11))
        .extend(at(4, 27), at(4, 28), 3, approved=True)
        .answer(at(5, 8))
        .follow_up("basically_satisfied", at(5, 11))
    )
    # C10 web, received Mon 04-20 (#72), accepted Tue 04-21 (#73) on time.
    # Feedback due #88 = Thu 05-14; extension requested 05-11, REFUSED
    # 05-12; fed back Fri 05-15 (#89): LATE, 16 wd; satisfied.
    (
        new(10, Channel.WEB)
        .submit(at(4, 20))
        .accept(at(4, 21), "service_quality", "efficiency")
        .work(H_SUN, at(4, 21, 11))
        .extend(at(5, 11), at(5, 12), 5, approved=False)
        .answer(at(5, 15))
        .follow_up("satisfied", at(5, 18))
    )
    # C11 phone, received Wed 05-06 (#81): due Fri 05-08 (#83); rejected Thu
    # 05-07 on time.
    new(11, Channel.PHONE).submit(at(5, 6)).reject(at(5, 7), "consumer_dispute")
    # C12 web, received Thu 06-18 (#113): acceptance due Tue 06-23 (#115)
    # across 端午; accepted Mon 06-22 (#114). Feedback due #129 = Mon 07-13,
    # fed back Fri 07-03 (#123): on time, 9 wd; satisfied.
    (
        new(12, Channel.WEB)
        .submit(at(6, 18))
        .accept(at(6, 22), "service_quality", "attitude")
        .work(H_ZHENG, at(6, 22, 11))
        .answer(at(7, 3))
        .follow_up("satisfied", at(7, 6))
    )
    # C13 walk_in, received and accepted Mon 07-20 (#134). Routed to water,
    # returned by water 07-21 (退单), routed to housing and claimed by h-wu:
    # counts for housing / h-wu. Feedback due #149 = Mon 08-10, fed back Fri
    # 08-07 (#148) on time, 14 wd; satisfied.
    (
        new(13, Channel.WALK_IN)
        .submit(at(7, 20, 9))
        .accept(at(7, 20), "misconduct", "discipline")
        .route("water", at(7, 20, 11))
        .claim(H_ZHAO, at(7, 20, 12))
        .give_back(at(7, 21))
        .route("housing", at(7, 21, 15))
        .claim(H_WU, at(7, 22, 9))
        .answer(at(8, 7))
        .follow_up("satisfied", at(8, 10))
    )
    # C14 phone, received and accepted Mon 08-17 (#154). Feedback due #169 =
    # Mon 09-07, fed back Tue 09-01 (#165), 11 wd; satisfied 09-02 (closed).
    # Reopened by supervision Mon 10-12 (#190): round 2 due #205 = Mon 11-02.
    # At T1 open again (not closed, closure numerator lost, not overdue); round
    # 2 fed back Fri 10-30, satisfied 11-02: closed again at T2.
    (
        new(14, Channel.PHONE)
        .submit(at(8, 17))
        .accept(at(8, 17, 11), "service_environment", "hygiene")
        .work(H_LIN, at(8, 17, 12))
        .answer(at(9, 1))
        .follow_up("satisfied", at(9, 2))
        .reopen(at(10, 12))
        .answer(at(10, 30))
        .follow_up("satisfied", at(11, 2))
    )

    # -- National Day: make-up Sun 09-20, 中秋 09-25..27, 国庆 10-01..07,
    #    make-up Sat 10-10 -------------------------------------------------
    # C15 phone, received and accepted Fri 09-18 (#178): feedback due #193 =
    # Thu 10-15 (the example of docs/design.md, "Deadlines"); fed back 10-15
    # 17:00 on time, 15 wd; basically satisfied 10-16.
    (
        new(15, Channel.PHONE)
        .submit(at(9, 18))
        .accept(at(9, 18, 15), "service_quality", "process")
        .work(H_SUN, at(9, 18, 16))
        .answer(at(10, 15, 17))
        .follow_up("basically_satisfied", at(10, 16))
    )
    # C16 web, received Fri 09-18 20:00 (#178): acceptance due Mon 09-21
    # (#180) because Sun 09-20 is a working day; accepted Tue 09-22 (#181):
    # LATE. Feedback due #196 = Tue 10-20, not yet passed at T1 (12:00 that
    # day); fed back Wed 10-21 (#197): LATE, 16 wd; satisfied 10-26.
    (
        new(16, Channel.WEB)
        .submit(at(9, 18, 20))
        .accept(at(9, 22, 9), "service_result", "below_standard")
        .work(H_ZHOU, at(9, 22, 11))
        .answer(at(10, 21))
        .follow_up("satisfied", at(10, 26))
    )
    # C17 walk_in, received Tue 09-29 (#185): acceptance due Thu 10-08 (#187)
    # across 国庆; accepted 10-08 on time. Feedback due #202 = Wed 10-28, fed
    # back Tue 10-27 (#201), 14 wd; satisfied.
    (
        new(17, Channel.WALK_IN)
        .submit(at(9, 29))
        .accept(at(10, 8), "service_environment", "facilities")
        .work(H_ZHENG, at(10, 8, 11))
        .answer(at(10, 27))
        .follow_up("satisfied", at(10, 28))
    )
    # C18 letter, received Wed 09-30 16:00 (#186): acceptance due Fri 10-09
    # (#188); accepted on the make-up Sat 10-10 (#189): LATE. Feedback due
    # #204 = Fri 10-30: never fed back, so overdue at T2 (not yet at T1).
    (
        new(18, Channel.LETTER)
        .submit(at(9, 30, 16))
        .accept(at(10, 10), "service_result", "below_standard")
        .work(H_LIN, at(10, 10, 11))
    )
    # C19 phone, received on holiday Thu 10-01: acceptance due Fri 10-09
    # (#188); never decided: overdue at T1 and T2, in no department.
    new(19, Channel.PHONE).submit(at(10, 1))
    # C20 web, received Thu 10-08 (#187): acceptance due on the make-up Sat
    # 10-10 (#189); accepted Fri 10-09 (#188) on time.
    # Feedback due #203 = Thu 10-29; 10 wd extension approved Tue 10-27 ->
    # due #213 = Thu 11-12; fed back Tue 11-10 (#211): on time only thanks to
    # the extension, 23 wd. Dissatisfied Thu 11-12 (#213) -> round 2 due
    # #228 = Thu 12-03: reopened and open at T2, not overdue.
    (
        new(20, Channel.WEB)
        .submit(at(10, 8, 9))
        .accept(at(10, 9), "misconduct", "discipline")
        .work(H_SUN, at(10, 9, 11))
        .extend(at(10, 26), at(10, 27), 10, approved=True)
        .answer(at(11, 10))
        .follow_up("dissatisfied", at(11, 12))
    )
    # C21 letter, received Fri 10-09 (#188) but registered only Wed 10-14: a
    # back-dated fact, typed in after later events of other complaints.
    # Acceptance due Mon 10-12 (#190, make-up Sat 10-10 is #189); accepted
    # Wed 10-14 (#192): LATE. Feedback due #207 = Wed 11-04, fed back Tue
    # 11-03 (#206) on time, 14 wd; basically satisfied.
    (
        new(21, Channel.LETTER)
        .submit(at(10, 9), entered_at=at(10, 14, 9))
        .accept(at(10, 14), "service_quality", "attitude")
        .work(H_WU, at(10, 14, 11))
        .answer(at(11, 3))
        .follow_up("basically_satisfied", at(11, 5))
    )
    # C22 phone, received Mon 10-12 (#190), rejected Tue 10-13 on time.
    new(22, Channel.PHONE).submit(at(10, 12)).reject(at(10, 13), "labour_dispute")
    # C23 wechat, received Thu 10-15 (#193): acceptance due Mon 10-19 (#195);
    # undecided at T1: overdue, in no department or category then. Accepted
    # Wed 10-21 (#197): LATE. Feedback due #212 = Wed 11-11, fed back 11-11
    # 16:00 on time, 15 wd; not followed up by T2.
    (
        new(23, Channel.WECHAT)
        .submit(at(10, 15))
        .accept(at(10, 21), "service_environment", "order_safety")
        .work(H_ZHAO, at(10, 21, 11))
        .answer(at(11, 11, 16))
    )
    # C24 walk_in, received Mon 10-19 15:00 (#195): acceptance due Wed 10-21;
    # accepted Tue 10-20 14:00, two hours after T1 (so undecided and not
    # overdue at T1). Feedback due #211 = Tue 11-10: never fed back, overdue
    # at T2.
    (
        new(24, Channel.WALK_IN)
        .submit(at(10, 19, 15))
        .accept(at(10, 20, 14), "misconduct", "bribery")
        .work(H_ZHENG, at(10, 20, 15))
    )

    # -- After T1 ------------------------------------------------------------
    # C25 phone, received and accepted Thu 10-22 (#198): feedback due #213 =
    # Thu 11-12, fed back Fri 11-13 (#214): LATE, 16 wd; satisfied.
    (
        new(25, Channel.PHONE)
        .submit(at(10, 22))
        .accept(at(10, 22, 14), "service_result", "wrong_information")
        .work(H_SUN, at(10, 22, 15))
        .answer(at(11, 13))
        .follow_up("satisfied", at(11, 16))
    )
    # C26 web, received Fri 10-30 18:00 (#204): acceptance due Tue 11-03
    # (#206); rejected Wed 11-04: LATE rejection.
    new(26, Channel.WEB).submit(at(10, 30, 18)).reject(at(11, 4))
    # C27 letter, received Mon 11-02 (#205), accepted Tue 11-03 (#206) on
    # time. Feedback due #221 = Tue 11-24: never fed back, overdue at T2.
    (
        new(27, Channel.LETTER)
        .submit(at(11, 2))
        .accept(at(11, 3), "service_environment", "facilities")
        .work(H_ZHOU, at(11, 3, 11))
    )
    # C28 wechat, received Mon 11-16 (#215), accepted Tue 11-17 (#216); fed
    # back Tue 11-24 (#221), 5 wd; follow-up unreachable 11-25 09:00, which
    # counts for no 满意率.
    (
        new(28, Channel.WECHAT)
        .submit(at(11, 16))
        .accept(at(11, 17), "service_quality", "efficiency")
        .work(H_LIN, at(11, 17, 11))
        .answer(at(11, 24))
        .follow_up("unreachable", at(11, 25, 9))
    )
    # C29 phone, received Mon 11-23 (#220): acceptance due Wed 11-25 (#222),
    # not passed at T2; rejected 11-25 15:00, after T2: at T2 neither decided
    # nor in the acceptance denominator.
    new(29, Channel.PHONE).submit(at(11, 23)).reject(at(11, 25, 15))
    # C30 web, received Fri 11-20 (#219): acceptance due Tue 11-24 (#221);
    # undecided at T2: overdue. Accepted late on 11-26, after T2.
    (
        new(30, Channel.WEB)
        .submit(at(11, 20))
        .accept(at(11, 26), "service_quality", "attitude")
        .route("transport", at(11, 26, 11))
    )
    # C31 phone, received Thu 11-26, after T2: counted at neither instant.
    new(31, Channel.PHONE).submit(at(11, 26)).accept(at(11, 27), "service_quality", "process")
    # C32 phone, received Wed 2025-12-31 23:50 (Shanghai; still 2025): outside
    # the 2026 cohort though accepted on the make-up Sun 2026-01-04.
    (
        new(32, Channel.PHONE)
        .submit(at(12, 31, 23, 50, year=2025))
        .accept(at(1, 4), "service_quality", "attitude")
    )
    return s


SCRIPTS: list[Script] = _scripts()


def decision_context() -> DecisionContext:
    return DecisionContext(
        calendar=WorkdayCalendar(),
        now=NOW,
        category_problem=partial(scope_problem, Taxonomy.load()),
    )


async def drive(store: EventStore, scripts: list[Script] = SCRIPTS) -> None:
    """Execute every step of every complaint in the order they were typed in."""
    # Each step decided as typed in (now = when it was entered): only the
    # back-dated ones are late entries (补录).
    typed_in = [NOW]
    executor = CommandExecutor(store, lambda: replace(decision_context(), now=typed_in[0]))
    steps = [
        (step.order, script.number, i, script, step)
        for script in scripts
        for i, step in enumerate(script.steps)
    ]
    steps.sort(key=lambda t: t[:3])
    for order, _, i, script, step in steps:
        typed_in[0] = order
        command = step.command(actor=step.actor, occurred_at=step.occurred_at, **step.fields)
        try:
            await executor.execute(script.complaint_id, command)
        except Exception as exc:
            raise AssertionError(
                f"{script.name} step {i} {step.command.name()} at {step.occurred_at}: {exc!r}"
            ) from exc

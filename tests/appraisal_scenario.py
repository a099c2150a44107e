"""A scripted month for the appraisal (考核): 13 complaints received in October
2026 by 4 departments and 6 handlers (and one in September whose improvement
item falls due in October), driven through the real domain as
tests/kpi_scenario.py does (its Script, actors and calendar), with the
month's quality inspection. The appraisal worked out by hand from them is in
tests/integration/test_appraisal_scenario.py.

Working days (kpi_scenario.py's numbering): Oct 12-16 #190-194, 19-23
#195-199, 26-30 #200-204; Nov 2-6 #205-209, 9-13 #210-214, 16-20 #215-219.
Acceptance is due 2 working days after receipt (#k → #k+2), the result
feedback 15 after acceptance (#k → #k+15), at the end of the day.

    case  unit               受理   及时    办结   满意    also
    A01   water  / h-zhao    on     on      yes    sat
    A02   water  / h-zhao    on     LATE    yes    basic   registered a day late: 补录
    A03   water  / h-lin     LATE   on      no     dissat  (reopened by the dissatisfaction)
    A04   water  / h-lin     on     missed  no     —       督办 overdue
    A05   transport / h-sun  on     on      yes    sat     returned first by water / h-zhao: 退单
    A06   transport / h-sun  on     on      yes    sat
    A07   transport / h-sun  on     on      yes    unreachable (no 满意率)
    A08   housing / h-zhou   on     on      yes    sat
    A09   housing / h-zhou   on     on      yes    sat     fed back on its due day
    A10   housing / h-wu     on     missed  no     —       督办 warning (uncounted), overdue, manual
    A11   housing / h-wu     on     on      yes    basic   registered four days late: 补录
    A12   health / h-zheng   on     on      yes    —       no follow-up
    A13   health / h-zheng   on     LATE    yes    —       no follow-up: health has no 满意率
    A14   (received in September: in no rate of October) water / h-lin, fed back
          Tue 09-08 (#170) promising an improvement (改进措施), due 20 working
          days later, Mon 10-12 (#190), and never closed: overdue in October

The October inspection (:func:`record_quality`) draws every case closed in
October (share 1): A01 and A08. A01 scores 70 (below the pass mark of 80; a
督办 of kind inspection follows, on water / h-zhao), A08 scores 100.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from tests.kpi_scenario import (
    H_LIN,
    H_SUN,
    H_WU,
    H_ZHAO,
    H_ZHENG,
    H_ZHOU,
    SUPERVISOR,
    Script,
    complaint_id,
    decision_context,
)
from tests.kpi_scenario import at as _at
from tousu.services.metrics.improvements.opening import improvements
from tousu.services.metrics.inspection.service import draw, review
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.domain import commands as c
from tousu.shared.domain.inspection import DrawInspection, ItemScore, ReviewInspection
from tousu.shared.events import utcnow
from tousu.shared.events.types import Channel, DeadlineKind, PlanMeasure
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

# Every fact of the month happened by then; figures as of any later instant
# are the same.
SETTLED = datetime(2026, 12, 1, 12, 0, tzinfo=_at(12, 1).tzinfo)


def at(month: int, day: int, hour: int = 10) -> datetime:
    return _at(month, day, hour)


def supervise(script: Script, kind: str, when: datetime) -> Script:
    fields: dict[str, Any] = {"kind": kind}
    if kind in ("warning", "overdue"):
        fields["deadline"] = DeadlineKind.FEEDBACK
    if kind == "manual":
        fields["note"] = "请说明未按期反馈的原因"
    return script._add(c.RaiseSupervision, SUPERVISOR, when, **fields)


def _scripts() -> list[Script]:
    s: list[Script] = []

    def new(number: int, channel: Channel = Channel.WEB) -> Script:
        script = Script(100 + number, channel)
        s.append(script)
        return script

    def accepted(script: Script, received: datetime, accept: datetime) -> Script:
        return script.submit(received).accept(accept, "service_quality", "efficiency")

    # -- water ------------------------------------------------------------
    # A01 received Mon 10-12 (#190), accepted that day; due #205 = Mon 11-02;
    # fed back Fri 10-23: on time; satisfied.
    a01 = accepted(new(1), at(10, 12, 9), at(10, 12))
    a01.work(H_ZHAO, at(10, 12, 11)).answer(at(10, 23)).follow_up("satisfied", at(10, 26))
    # A02 phone, received Tue 10-13 (#191) but registered Wed 10-14 (a late
    # entry); accepted 10-14 (#192): on time (due #193); due #207 = Wed 11-04;
    # fed back Thu 11-05: LATE; basically satisfied.
    a02 = new(2, Channel.PHONE).submit(at(10, 13), entered_at=at(10, 14, 9))
    a02.accept(at(10, 14), "service_quality", "efficiency").work(H_ZHAO, at(10, 14, 11))
    a02.answer(at(11, 5)).follow_up("basically_satisfied", at(11, 6))
    # A03 received Wed 10-14 (#192): acceptance due Fri 10-16 (#194), accepted
    # Mon 10-19 (#195): LATE; due #210 = Mon 11-09; fed back Fri 11-06 on
    # time; dissatisfied Mon 11-09 (reopened: out of the closure numerator).
    a03 = accepted(new(3), at(10, 14), at(10, 19))
    a03.work(H_LIN, at(10, 19, 11)).answer(at(11, 6)).follow_up("dissatisfied", at(11, 9))
    # A04 received Tue 10-20 (#196), accepted that day; due #211 = Tue 11-10;
    # never fed back; 督办 (overdue) Wed 11-11.
    a04 = accepted(new(4), at(10, 20), at(10, 20, 11)).work(H_LIN, at(10, 20, 12))
    supervise(a04, "overdue", at(11, 11))

    # -- transport --------------------------------------------------------
    # A05 received Mon 10-12 (#190), accepted; routed to water and claimed by
    # h-zhao, returned by water 10-13 (退单: water's, h-zhao's); routed to
    # transport, claimed by h-sun; due #205 = Mon 11-02, fed back Fri 10-30
    # on time; satisfied.
    a05 = accepted(new(5), at(10, 12, 9), at(10, 12))
    a05.route("water", at(10, 12, 11)).claim(H_ZHAO, at(10, 12, 12)).give_back(at(10, 13))
    a05.route("transport", at(10, 13, 15)).claim(H_SUN, at(10, 14, 9))
    a05.answer(at(10, 30)).follow_up("satisfied", at(11, 2))
    # A06 received Thu 10-15 (#193), accepted; due #208 = Thu 11-05; fed back
    # Wed 11-04 on time; satisfied.
    a06 = accepted(new(6), at(10, 15), at(10, 15, 11)).work(H_SUN, at(10, 15, 12))
    a06.answer(at(11, 4)).follow_up("satisfied", at(11, 6))
    # A07 received Wed 10-21 (#197), accepted; due #212 = Wed 11-11; fed back
    # Tue 11-10 on time; the follow-up did not reach the complainant.
    a07 = accepted(new(7), at(10, 21), at(10, 21, 11)).work(H_SUN, at(10, 21, 12))
    a07.answer(at(11, 10)).follow_up("unreachable", at(11, 12))

    # -- housing ----------------------------------------------------------
    # A08 received Mon 10-12 (#190), accepted; due #205; fed back Wed 10-28;
    # satisfied.
    a08 = accepted(new(8), at(10, 12, 9), at(10, 12)).work(H_ZHOU, at(10, 12, 11))
    a08.answer(at(10, 28)).follow_up("satisfied", at(10, 30))
    # A09 received Fri 10-16 (#194), accepted; due #209 = Fri 11-06, fed back
    # 11-06 10:00: on time; satisfied.
    a09 = accepted(new(9), at(10, 16), at(10, 16, 11)).work(H_ZHOU, at(10, 16, 12))
    a09.answer(at(11, 6)).follow_up("satisfied", at(11, 9))
    # A10 received Mon 10-19 (#195), accepted; due #210 = Mon 11-09; never fed
    # back. 督办: a warning Fri 11-06 (not counted), overdue Tue 11-10, the
    # office's own (manual) Wed 11-11.
    a10 = accepted(new(10), at(10, 19), at(10, 19, 11)).work(H_WU, at(10, 19, 12))
    supervise(a10, "warning", at(11, 6))
    supervise(a10, "overdue", at(11, 10))
    supervise(a10, "manual", at(11, 11))
    # A11 letter, received Thu 10-22 (#198), registered Mon 10-26 (a late
    # entry); acceptance due #200 = Mon 10-26, accepted then: on time; due
    # #215 = Mon 11-16; fed back Thu 11-12; basically satisfied.
    a11 = new(11, Channel.LETTER).submit(at(10, 22), entered_at=at(10, 26, 9))
    a11.accept(at(10, 26), "service_quality", "efficiency").work(H_WU, at(10, 26, 11))
    a11.answer(at(11, 12)).follow_up("basically_satisfied", at(11, 13))

    # -- health -----------------------------------------------------------
    # A12 received Tue 10-13 (#191), accepted; due #206 = Tue 11-03; fed back
    # Thu 10-29 on time; no follow-up.
    a12 = accepted(new(12), at(10, 13), at(10, 13, 11)).work(H_ZHENG, at(10, 13, 12))
    a12.answer(at(10, 29))
    # A13 received Fri 10-23 (#199), accepted Mon 10-26 (#200): on time (due
    # #201); due #215 = Mon 11-16; fed back Fri 11-20: LATE; no follow-up.
    a13 = accepted(new(13), at(10, 23), at(10, 26)).work(H_ZHENG, at(10, 26, 11))
    a13.answer(at(11, 20))

    # -- September: an improvement promised, due in October ----------------
    a14 = accepted(new(14), at(9, 1), at(9, 1, 11)).work(H_LIN, at(9, 1, 12))
    plan = PlanMeasure(measure="更换老旧水表", owner=H_LIN.id)
    a14._add(c.ProposePlan, H_LIN, at(9, 7), measures=[plan])
    a14._add(c.RecordConsultation, H_LIN, at(9, 7, 11), agrees=True)
    a14._add(
        c.ResolveComplaint,
        H_LIN,
        at(9, 8, 9),
        result="已处理",
        basis="相关规定",
        improvements="更换片区老旧水表",
    )
    a14._add(c.SendFeedback, H_LIN, at(9, 8))
    return s


SCRIPTS: list[Script] = _scripts()

# The checklist (services/metrics/inspection/data/checklist.yaml, version 1)
# has ten items worth 100 points; A01 loses 5 on each of five items and the
# follow-up's 5: 70. A08 gets every point: 100.
FULL = {
    "acceptance_timely": 10,
    "routing_claim": 10,
    "steps_in_order": 10,
    "feedback_timely": 10,
    "notices_and_progress": 10,
    "result_answers_demands": 15,
    "basis_sound": 10,
    "improvements_concrete": 10,
    "reply_clear": 10,
    "follow_up_done": 5,
}
SEVENTY = FULL | {
    "steps_in_order": 5,
    "result_answers_demands": 10,
    "basis_sound": 5,
    "improvements_concrete": 5,
    "reply_clear": 5,
    "follow_up_done": 0,
}


def _scores(points: dict[str, int]) -> list[ItemScore]:
    return [ItemScore(item=item, points=p) for item, p in points.items()]


async def record_quality(store: PostgresEventStore, settings: Settings) -> None:
    """A14's improvement item (as the improvements consumer opens it), and the
    October inspection: drawn from every case closed in October, A01 and A08
    reviewed. Run after :func:`drive`."""
    a14 = SCRIPTS[-1]
    [fed_back] = [
        e
        for e in await store.read_stream(f"complaint-{a14.complaint_id}")
        if e.type == "ResultFeedbackSent"
    ]
    consumer = improvements(WorkdayCalendar, settings.quality.improvement_days)
    async with store.unit_of_work() as uow:
        await consumer.handle(fed_back, uow)
    await draw(store, settings, DrawInspection(actor=SUPERVISOR, period="2026-10", share=1.0))
    executor = CommandExecutor(store, lambda: replace(decision_context(), now=utcnow()))
    for number, points, action in ((1, SEVENTY, "supervise"), (8, FULL, "none")):
        review_cmd = ReviewInspection(
            actor=SUPERVISOR,
            period="2026-10",
            complaint_id=complaint_id(100 + number),
            scores=_scores(points),
            action=action,
            reason="答复未回应诉求" if action != "none" else None,
        )
        await review(store, executor, review_cmd)

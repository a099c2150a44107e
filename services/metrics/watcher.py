"""The deadline watcher (督办): a warning when a deadline's last working day
begins, an overdue notice once it has passed — each exactly once.

A sweep raises what is due and notes when the next notice of the deadlines
it read falls due; the watcher sleeps until then, or ``interval`` seconds at
most (for deadlines set meanwhile, and a calendar that changed), rather than
looking every ``interval`` seconds: a notice goes out on time, and a quiet
system is looked at once an interval.

Every replica of the metrics service sweeps. A notice is a
``RaiseSupervision`` command whose id is derived from the notice
(:func:`tousu.services.metrics.supervision.policy.notice_command_id`), so two replicas
sweeping at once, or a replica restarted half-way, repeat a command the
executor has already seen, and nothing is appended twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import asyncpg

from tousu.services.metrics.deadlines import OwedDeadline, owed_before, provisional_in
from tousu.services.metrics.projections.apply import CalendarSource
from tousu.services.metrics.supervision.policy import (
    SUPERVISED,
    Level,
    Notice,
    due_notices,
    notice_command_id,
    warning_at,
)
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.calendar import TZ, WorkdayCalendar
from tousu.shared.domain import commands as c
from tousu.shared.domain.errors import DomainError
from tousu.shared.domain.labels import deadline_label
from tousu.shared.events import Actor, utcnow
from tousu.shared.logs import get_logger
from tousu.shared.store import ConcurrencyConflict

log = get_logger(__name__)

WATCHER = Actor(id="deadline-watcher", role="system")
# Further ahead than any warning can come: the working day before a due day
# lies at most a long holiday (Spring Festival: 9 days) before it.
LOOKAHEAD = timedelta(days=15)
# A notice is due once its instant has passed: the watcher wakes this late.
_PAST = timedelta(milliseconds=1)
_MIN_PAUSE = 0.01  # seconds


def notice_text(notice: Notice) -> str:
    due = notice.due_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    what = deadline_label(notice.kind.value, "zh")
    if notice.level == Level.WARNING:
        return f"预警：{what}将于 {due} 届满"
    return f"超期：{what}已于 {due} 届满"


class DeadlineWatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        executor: CommandExecutor,
        calendar: CalendarSource,
        *,
        interval: float = 30.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._pool = pool
        self._executor = executor
        self._calendar = calendar
        self._interval = interval
        self._clock = clock
        self._official: frozenset[int] = frozenset()
        # When the next notice of the deadlines the last sweep read falls due.
        self.next_notice_at: datetime | None = None

    async def sweep(self) -> int:
        """Raise what is due now; how many notices this sweep issued.

        A notice another replica issued at the same moment may be counted by
        both (the store keeps it once: its event ids are the same).
        """
        now = self._clock()
        calendar = self._calendar()
        official = calendar.official_years
        if official != self._official:
            # A year's schedule arrived (or this is the first sweep): make the
            # deadlines that fall in an official year firm, before judging them.
            await self.recalculate(official, now)
            self._official = official
        raised = 0
        owed_now = await owed_before(self._pool, now + LOOKAHEAD)
        self.next_notice_at = _next_notice_at(owed_now, now, calendar)
        for owed in owed_now:
            for notice in due_notices({owed.kind: owed.due_at}, now, calendar):
                if _recorded(owed, notice):
                    continue
                raised += await self._raise(owed, notice, now)
        return raised

    def pause(self) -> float:
        """Seconds until the next sweep: when the next notice falls due, at most ``interval``."""
        if self.next_notice_at is None:
            return self._interval
        until = (self.next_notice_at + _PAST - self._clock()).total_seconds()
        return min(self._interval, max(_MIN_PAUSE, until))

    async def _raise(self, owed: OwedDeadline, notice: Notice, now: datetime) -> int:
        command = c.RaiseSupervision(
            actor=WATCHER,
            occurred_at=now,
            command_id=notice_command_id(owed.complaint_id, notice, owed.round),
            kind=notice.level.value,
            deadline=notice.kind,
            due_at=notice.due_at,
            note=notice_text(notice),
        )
        try:
            outcome = await self._executor.execute(owed.complaint_id, command)
        except (DomainError, ConcurrencyConflict) as exc:
            # The case moved on meanwhile (or is busy): the next sweep sees it anew.
            log.info("supervision not raised", complaint_id=str(owed.complaint_id), reason=str(exc))
            return 0
        if outcome.repeated or not outcome.events:
            return 0
        log.info(
            "supervision raised",
            complaint_id=str(owed.complaint_id),
            tracking_no=owed.tracking_no,
            level=notice.level.value,
            deadline=notice.kind.value,
            due_at=notice.due_at.isoformat(),
        )
        return 1

    async def recalculate(self, official: frozenset[int], now: datetime) -> int:
        """``RecalculateDeadlines`` for open cases with a provisional deadline
        in a year now official; how many cases had a deadline moved or firmed.

        Needs no command id: a second run finds nothing provisional and
        appends nothing, and a concurrent one loses the append race and then
        finds the same.
        """
        changed = 0
        for complaint_id in await provisional_in(self._pool, official):
            command = c.RecalculateDeadlines(
                actor=WATCHER, occurred_at=now, reason="节假日安排已公布，期限按正式日历重算"
            )
            try:
                outcome = await self._executor.execute(complaint_id, command)
            except (DomainError, ConcurrencyConflict) as exc:
                log.info(
                    "deadlines not recalculated", complaint_id=str(complaint_id), reason=str(exc)
                )
                continue
            changed += bool(outcome.events)
        if changed:
            log.info("provisional deadlines recalculated", cases=changed, years=sorted(official))
        return changed

    async def run(self) -> None:
        while True:
            try:
                await self.sweep()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("deadline sweep failed; retrying", error=str(exc))
            await asyncio.sleep(self.pause())


def _next_notice_at(
    owed: list[OwedDeadline], now: datetime, calendar: WorkdayCalendar
) -> datetime | None:
    """The earliest instant after ``now`` at which a notice not yet raised for
    one of ``owed`` falls due (those due by ``now`` are this sweep's)."""
    instants: list[datetime] = []
    for deadline in owed:
        if deadline.kind not in SUPERVISED:
            continue
        warn = warning_at(deadline.due_at, calendar)
        if not deadline.warned and warn > now:
            instants.append(warn)
        # Overdue once the due instant has passed (now > due_at).
        if not deadline.overdue_raised and deadline.due_at >= now:
            instants.append(deadline.due_at)
    return min(instants, default=None)


def _recorded(owed: OwedDeadline, notice: Notice) -> bool:
    """Already in the case view (the executor would refuse a repeat anyway)."""
    return owed.warned if notice.level == Level.WARNING else owed.overdue_raised

"""When the deadline watcher raises supervision (督办): pure timing rules.

Every supervised deadline gets at most two notices: a *warning* when its last
working day begins, and an *overdue* notice once it has passed. The watcher
asks :func:`due_notices` what is due by now and sends each notice as a
``RaiseSupervision`` command whose id :func:`notice_command_id` derives from
the notice itself, so asking again (another replica, a restart) repeats a
command the executor has seen and appends nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from tousu.shared.calendar import TZ, WorkdayCalendar, end_of_day
from tousu.shared.events.types import DeadlineKind

# The return window is the department's right, not a duty: nobody is chased
# for not returning a case.
SUPERVISED: frozenset[DeadlineKind] = frozenset(
    {DeadlineKind.ACCEPTANCE, DeadlineKind.CLAIM, DeadlineKind.FEEDBACK, DeadlineKind.FOLLOW_UP}
)

# Fixed for good: changing it would give every notice already sent a new id,
# and the watcher would send them all again.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:tousu:supervision-notice")


class Level(StrEnum):
    # The values double as SupervisionRaised.kind.
    WARNING = "warning"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class Notice:
    kind: DeadlineKind
    level: Level
    due_at: datetime


def _shanghai_day(instant: datetime, what: str) -> date:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {instant.isoformat()}")
    return instant.astimezone(TZ).date()


def warning_at(due_at: datetime, calendar: WorkdayCalendar) -> datetime:
    """The end of the working day before the due day, i.e. the moment the last
    working day before the deadline begins. Holidays and weekends in between
    are skipped, so before a long holiday the warning comes days ahead."""
    return end_of_day(calendar.previous_workday(_shanghai_day(due_at, "due_at")))


def standing(due_at: datetime, now: datetime, calendar: WorkdayCalendar) -> Level | None:
    """Where a deadline stands at ``now``: overdue once it has passed, a warning
    from the start of its last working day (:func:`warning_at`), else None —
    the watcher's notices and the staff pages' colours both ask this."""
    if now > due_at:
        return Level.OVERDUE
    if now >= warning_at(due_at, calendar):
        return Level.WARNING
    return None


def due_notices(
    pending: Mapping[DeadlineKind, datetime], now: datetime, calendar: WorkdayCalendar
) -> list[Notice]:
    """The notices whose moment has come by ``now``, for the pending (not yet
    met) deadlines; at most one per deadline, in DeadlineKind order."""
    _shanghai_day(now, "now")
    notices: list[Notice] = []
    for kind in DeadlineKind:
        due_at = pending.get(kind)
        if due_at is None or kind not in SUPERVISED:
            continue
        # Once the deadline has passed only the overdue notice is raised: a
        # warning is worth something only while there is time left to act,
        # and a late one (the watcher was down) would count as a second
        # supervision of the same lapse.
        level = standing(due_at, now, calendar)
        if level is not None:
            notices.append(Notice(kind, level, due_at))
    return notices


def notice_command_id(complaint_id: uuid.UUID, notice: Notice, round: int) -> uuid.UUID:
    """The same id for the same notice on every replica and after every restart.

    The due instant is part of it, so a deadline that moves (extension,
    recalculation) is supervised afresh; the handling round, so a reopened
    case whose new deadline falls on the same instant is too.
    """
    _shanghai_day(notice.due_at, "due_at")
    due = notice.due_at.astimezone(UTC).isoformat()
    name = f"{complaint_id}|{notice.kind.value}|{notice.level.value}|{due}|{round}"
    return uuid.uuid5(_NAMESPACE, name)


def overdue_working_days(due_at: datetime, now: datetime, calendar: WorkdayCalendar) -> int:
    """How many working days late: the working days strictly after the due day
    up to and including now's day (Shanghai days), 0 when not overdue.

    So a deadline at the end of Friday is 0 days late all weekend and 1 day
    late on Monday; that is ``working_days_between`` from the deadline.
    """
    if now <= due_at:
        return 0
    return calendar.working_days_between(due_at, now)

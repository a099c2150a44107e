"""Late entries (补录): facts recorded later than they happened.

A command's ``occurred_at`` is when the fact happened, ``ctx.now`` when it is
recorded. More than the grace apart, it is a late entry. Staff may record
one on their own within a window: registering a complaint that reached the
organisation by letter, visit, call, or by web or WeChat outside tousu (an
e-mail, a message to a staff phone) within ``registration`` (30 days), any
other step within the working day
(``step_working_days`` back; 0: the same day). Beyond that only a supervisor
(or an administrator) may record it, with a ``late_reason``. System actors
(the deadline watcher, automatic routing, channel adapters) date their steps
by the stored facts they follow or by the instant a channel received a
submission, so no window applies to them: a backlog must not lose a citizen's
complaint. An import of an earlier system's history (``ctx.importing``,
shared/domain/imports.py) has a window of its own, ``import``, with no limit.
Every late entry, within its window or not, is marked by a
:class:`~tousu.shared.events.types.LateEntryRecorded` stored after its events.

Pure: the time comes from the context.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

from tousu.shared.calendar import TZ
from tousu.shared.domain import commands as c
from tousu.shared.domain.context import DecisionContext
from tousu.shared.domain.errors import InvalidCommand
from tousu.shared.domain.imports import imported_mark
from tousu.shared.domain.state import ComplaintState
from tousu.shared.events import Envelope
from tousu.shared.events import types as ev
from tousu.shared.events.types import Channel

# What staff register, often after the day it came in: from paper or speech,
# and a web or WeChat complaint that reached the organisation outside tousu
# (an e-mail to an office, a WeChat message to a staff member's phone). Every
# channel but Open311, whose clients submit themselves.
REGISTERED_CHANNELS = frozenset(
    {Channel.LETTER, Channel.WALK_IN, Channel.PHONE, Channel.WEB, Channel.WECHAT}
)
STAFF = frozenset({"operator", "handler", "dept_head", "supervisor", "admin"})
APPROVERS = frozenset({"supervisor", "admin"})
# Past any clock skew: an occurred_at later than now by more is refused.
CLOCK_SKEW = timedelta(minutes=5)


def check_order(state: ComplaintState, command: c.Command, ctx: DecisionContext) -> None:
    """Never in the future (beyond clock skew), never before the stream's last event."""
    if command.occurred_at > ctx.now + CLOCK_SKEW:
        raise InvalidCommand("occurred_at", "occurred_at is in the future")
    if state.received_at is not None and command.occurred_at < state.received_at:
        raise InvalidCommand("occurred_at", "occurred_at is before the complaint was received")
    last = state.last_occurred_at
    if last is not None and command.occurred_at < last:
        raise InvalidCommand(
            "occurred_at",
            f"occurred_at is before this complaint's previous step ({_local(last)}): "
            "steps are recorded in the order they happened",
        )


def assess(command: c.Command, ctx: DecisionContext) -> ev.LateEntryRecorded | None:
    """The late-entry mark the command's events get, or None if it is not late.

    Raises InvalidCommand if it is later than the actor may record it.
    """
    if ctx.importing:
        return imported_mark(command, ctx.now)
    rules = ctx.late_entries
    late_by = ctx.now - command.occurred_at
    if late_by <= rules.grace:
        return None
    role = command.actor.role
    if role == "system":
        window, within, limit = "system", True, ""
    elif (
        role in STAFF
        and isinstance(command, c.SubmitComplaint)
        and command.channel in REGISTERED_CHANNELS
    ):
        window = "registration"
        within = late_by <= rules.registration
        limit = f"staff may register a complaint up to {_span(rules.registration)} late"
    else:
        window = "working_day"
        earliest = _earliest_step(ctx)
        within = command.occurred_at >= earliest
        limit = (
            "a step may be recorded late only on the day it happened"
            if rules.step_working_days == 0
            else f"a step may be recorded late back to {_local(earliest)}"
        )
    approved_by = None
    if not within:
        beyond = f"occurred_at is {_span(late_by)} before now: {limit}"
        if role not in APPROVERS:
            raise InvalidCommand(
                "occurred_at",
                f"{beyond}; beyond that a supervisor may record it (补录) with a late_reason",
            )
        if command.late_reason is None:
            raise InvalidCommand(
                "late_reason", f"{beyond}; a supervisor's late entry (补录) needs a late_reason"
            )
        approved_by = command.actor.id
    return ev.LateEntryRecorded(
        events=[],  # filled in by decide, once the events are known
        late_by_seconds=int(late_by.total_seconds()),
        window=window,
        within_window=within,
        reason=command.late_reason,
        approved_by=approved_by,
    )


def _earliest_step(ctx: DecisionContext) -> datetime:
    day = ctx.now.astimezone(TZ).date()
    for _ in range(ctx.late_entries.step_working_days):
        day = ctx.calendar.previous_workday(day)
    return datetime.combine(day, time.min, TZ)


def _local(instant: datetime) -> str:
    return instant.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def _span(delta: timedelta) -> str:
    if delta >= timedelta(days=1):
        return f"{delta.days} day{'s' * (delta.days != 1)}"
    hours, rest = divmod(int(delta.total_seconds()), 3600)
    return f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min"


def late_marks(
    history: Sequence[Envelope],
) -> dict[int, tuple[Envelope, ev.LateEntryRecorded]]:
    """The late-entry mark of each marked event of one stream, by the marked
    event's version (a mark follows the events it marks)."""
    marks: dict[int, tuple[Envelope, ev.LateEntryRecorded]] = {}
    for envelope in history:
        if envelope.type == ev.LateEntryRecorded.event_type():
            mark = ev.LateEntryRecorded.model_validate(envelope.data)
            for version in range(envelope.version - len(mark.events), envelope.version):
                marks[version] = (envelope, mark)
    return marks

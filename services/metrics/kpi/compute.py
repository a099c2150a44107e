"""The KPIs of docs/design.md, "Metrics", computed from :class:`ComplaintFacts`.

Every rate is a numerator over a denominator as of T; a deadline has
"passed by T" when it lies strictly before T, and an act is "by the deadline"
when it happened at or before it (deadlines are the end of a day).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tousu.services.metrics.kpi.facts import ComplaintFacts
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.events.types import Satisfaction

GroupBy = Literal["department", "handler", "channel", "category", "month"]
RateName = Literal[
    "acceptance_timeliness", "feedback_timeliness", "closure_rate", "satisfaction_rate"
]
GROUPINGS: tuple[GroupBy, ...] = ("department", "handler", "channel", "category", "month")
SATISFIED = frozenset({Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED})


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True)
class KpiRow:
    group: str | None  # None: the total row, or complaints with no value for the key
    received: int
    accepted: int
    rejected: int
    fed_back: int
    closed: int
    reopened: int  # complaints reopened at least once
    overdue_now: int
    acceptance_timeliness: Rate
    feedback_timeliness: Rate
    closure_rate: Rate
    satisfaction_rate: Rate
    avg_handling_working_days: float | None
    # Late entries (补录) in these complaints' histories: how much of the
    # figures rests on back-dated facts.
    late_entries: int = 0
    # Complaints with evidence: a file on any of their steps.
    with_evidence: int = 0
    # Complaints imported from an earlier system (tousu import, docs/import.md).
    imported: int = 0


def _key(facts: ComplaintFacts, group_by: GroupBy) -> str | None:
    value = getattr(facts, group_by)
    return None if value is None else str(value)


def _rate(
    items: Sequence[ComplaintFacts],
    num: Callable[[ComplaintFacts], bool],
    den: Callable[[ComplaintFacts], bool],
) -> Rate:
    counted = [f for f in items if den(f)]
    return Rate(sum(1 for f in counted if num(f)), len(counted))


def _passed(due: datetime | None, as_of: datetime) -> bool:
    return due is not None and due < as_of


def _row(
    group: str | None, items: Sequence[ComplaintFacts], as_of: datetime, cal: WorkdayCalendar
) -> KpiRow:
    accepted = [f for f in items if f.accepted]

    def decided_in_time(f: ComplaintFacts) -> bool:
        # No acceptance deadline on record: nothing to miss.
        return f.decided_at is not None and (
            f.acceptance_due is None or f.decided_at <= f.acceptance_due
        )

    def answered_in_time(f: ComplaintFacts) -> bool:
        return (
            f.first_feedback_at is not None
            and f.first_feedback_due is not None
            and f.first_feedback_at <= f.first_feedback_due
        )

    handled = [
        cal.working_days_between(f.accepted_at, f.first_feedback_at)
        for f in accepted
        if f.accepted_at is not None and f.first_feedback_at is not None
    ]
    return KpiRow(
        group=group,
        received=len(items),
        accepted=len(accepted),
        rejected=sum(f.rejected for f in items),
        fed_back=sum(f.fed_back for f in items),
        closed=sum(f.closed for f in items),
        reopened=sum(f.reopen_count > 0 for f in items),
        overdue_now=sum(f.overdue_now for f in items),
        acceptance_timeliness=_rate(
            items,
            decided_in_time,
            lambda f: f.decided_at is not None or _passed(f.acceptance_due, as_of),
        ),
        feedback_timeliness=_rate(
            accepted,
            answered_in_time,
            lambda f: f.fed_back or _passed(f.first_feedback_due, as_of),
        ),
        # A reopened case stays in the denominator (it was fed back) and
        # leaves the numerator until its latest round is answered.
        closure_rate=_rate(
            accepted,
            lambda f: f.latest_round_fed_back and not f.reopened_after_feedback,
            lambda f: f.fed_back or _passed(f.current_feedback_due, as_of),
        ),
        satisfaction_rate=_rate(
            items, lambda f: f.satisfaction in SATISFIED, lambda f: f.satisfaction is not None
        ),
        avg_handling_working_days=sum(handled) / len(handled) if handled else None,
        late_entries=sum(f.late_entries for f in items),
        with_evidence=sum(f.files > 0 for f in items),
        imported=sum(f.imported for f in items),
    )


def kpis(
    facts: Iterable[ComplaintFacts],
    *,
    start: datetime,
    end: datetime,
    as_of: datetime,
    group_by: GroupBy | None,
    calendar: WorkdayCalendar,
) -> list[KpiRow]:
    """KPI rows for complaints received in [start, end), as they stood at ``as_of``.

    ``facts`` must have been built with the same ``as_of``. Rows are sorted
    by group key, the no-value group (e.g. not yet routed) last; with
    ``group_by=None`` there is exactly one row, even for an empty cohort.
    """
    if group_by is not None and group_by not in GROUPINGS:
        raise ValueError(f"cannot group by {group_by!r}")
    cohort = [f for f in facts if start <= f.received_at < end and f.received_at <= as_of]
    if group_by is None:
        return [_row(None, cohort, as_of, calendar)]
    groups: dict[str | None, list[ComplaintFacts]] = {}
    for f in cohort:
        groups.setdefault(_key(f, group_by), []).append(f)
    order = sorted(groups, key=lambda k: (k is None, k or ""))
    return [_row(k, groups[k], as_of, calendar) for k in order]


DEFAULT_RANKING: tuple[RateName, ...] = ("feedback_timeliness", "satisfaction_rate")


def rank(rows: Iterable[KpiRow], by: Sequence[RateName] = DEFAULT_RANKING) -> list[KpiRow]:
    """Rows best first by the rates in ``by`` in turn; a rate with no
    denominator ranks below any figure, and ties keep group-key order."""

    def key(row: KpiRow) -> tuple[object, ...]:
        parts: list[object] = []
        for name in by:
            value = getattr(row, name).value
            parts.extend((value is None, -(value or 0.0)))
        parts.extend((row.group is None, row.group or ""))
        return tuple(parts)

    return sorted(rows, key=key)

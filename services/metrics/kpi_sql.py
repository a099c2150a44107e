"""The KPI figures of docs/design.md, "Metrics", as SQL over ``kpi_facts``
rows: the one place they are written for PostgreSQL (:mod:`tousu.services.metrics.kpi.compute`
is the in-memory twin they are tested against).

Every figure of a complaint as of T is either fixed for as long as a facts
row is in force (how many were accepted, fed back, satisfied …), or becomes
1 while the row is in force once a deadline has passed (the denominators of
the timeliness and closure rates, and "overdue now"). A figure of the second
kind is written as the instant it starts to count — the row's own start when
no deadline is involved, else the instant just after the deadline — so the
figures as of T are sums over the rows in force at T, and also sums of
changes at instants up to T (what :mod:`.projections.kpi_rollup` keeps).
"""

from __future__ import annotations

from collections.abc import Mapping

# Fixed while a row is in force: name → integer SQL over a kpi_facts row.
FIXED: Mapping[str, str] = {
    "received": "1",
    "accepted": "accepted::int",
    "rejected": "rejected::int",
    "fed_back": "(first_feedback_at IS NOT NULL)::int",
    "closed": "closed::int",
    "reopened": "(reopen_count > 0)::int",
    # No acceptance deadline on record: nothing to miss.
    "at_num": "(decided_at IS NOT NULL"
    " AND (acceptance_due IS NULL OR decided_at <= acceptance_due))::int",
    "ft_num": "coalesce(accepted AND first_feedback_at <= first_feedback_due, false)::int",
    # A reopened case leaves the numerator until its latest round is answered.
    "cr_num": "(accepted AND latest_round_fed_back AND NOT reopened_after_feedback)::int",
    "sr_num": "coalesce(satisfaction IN ('satisfied', 'basically_satisfied'), false)::int",
    "sr_den": "(satisfaction IS NOT NULL)::int",
    "wd_sum": "CASE WHEN accepted THEN coalesce(handling_working_days, 0) ELSE 0 END",
    "wd_n": "(accepted AND handling_working_days IS NOT NULL)::int",
    "late_entries": "late_entries",
    # Cases with evidence: a file on any step.
    "with_evidence": "(files > 0)::int",
    # Complaints brought in from an earlier system (tousu import).
    "imported": "imported::int",
}

_AFTER = "interval '1 microsecond'"  # "passed by T" is due < T: counts from due + 1 µs


def _after(due: str) -> str:
    # greatest() ignores NULLs, so the deadline's absence is tested first.
    return f"CASE WHEN {due} IS NOT NULL THEN greatest(valid_from, {due} + {_AFTER}) END"


# Counted from an instant: name → SQL for that instant (NULL: never).
FROM_INSTANT: Mapping[str, str] = {
    "at_den": "CASE WHEN decided_at IS NOT NULL THEN valid_from"
    f" ELSE {_after('acceptance_due')} END",
    "ft_den": "CASE WHEN NOT accepted THEN NULL WHEN first_feedback_at IS NOT NULL THEN valid_from"
    f" ELSE {_after('first_feedback_due')} END",
    "cr_den": "CASE WHEN NOT accepted THEN NULL WHEN first_feedback_at IS NOT NULL THEN valid_from"
    f" ELSE {_after('current_feedback_due')} END",
    "overdue_now": f"CASE WHEN decided_at IS NULL THEN {_after('acceptance_due')}"
    " WHEN accepted AND NOT latest_round_fed_back"
    f" THEN {_after('current_feedback_due')} END",
}

FIGURES: tuple[str, ...] = (*FIXED, *FROM_INSTANT)


def sums_as_of(as_of: str) -> str:
    """The select list summing every figure over rows in force at ``as_of``."""
    fixed = [f"sum({sql}) AS {name}" for name, sql in FIXED.items()]
    timed = [
        f"count(*) FILTER (WHERE ({sql}) <= {as_of}) AS {name}"
        for name, sql in FROM_INSTANT.items()
    ]
    return ",\n    ".join([*fixed, *timed])


def sums() -> str:
    """The select list summing already computed figure columns."""
    return ", ".join(f"sum({name})::bigint AS {name}" for name in FIGURES)

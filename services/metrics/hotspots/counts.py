"""Counting complaints per week or month and per group (a service item, a
place, a term) over the ``complaint_terms`` projection, and ranking a
period's groups by the surge rule (:mod:`.surge`).

"As of T": only complaints received by T count. A department's view counts
the complaints it holds now.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from tousu.services.metrics.hotspots.surge import HotspotRule, Verdict, Window, judge, window_of
from tousu.services.metrics.projections.terms_rollup import GRAINS, counts_table
from tousu.shared.calendar import TZ
from tousu.shared.events.quality import HotspotDimension, HotspotPeriod
from tousu.shared.store.postgres import Connection

TABLE = "complaint_terms"
# The SQL naming each dimension's key (the FROM clause's alias ``t``).
_KEY: dict[HotspotDimension, tuple[str, str]] = {
    # (the key's expression, what the FROM clause adds)
    "service_item": ("t.service_item", ""),
    "location": ("t.location", ""),
    "term": ("k.key", ", unnest(t.terms) AS k(key)"),
}
_TRUNC: dict[HotspotPeriod, str] = {"week": "week", "month": "month"}


def _counts_sql(dimension: HotspotDimension, period: HotspotPeriod) -> str:
    """The counts from the rows themselves, received in [$1, $2) and after $3
    (pass the window's start for all of it): the reference the kept counts
    are tested against, and the correction for complaints received after an
    instant asked about."""
    key, join = _KEY[dimension]
    # date_trunc('week') starts weeks on Monday, as the periods do.
    return f"""
SELECT {key} AS key,
       date_trunc('{_TRUNC[period]}', t.received_at AT TIME ZONE 'Asia/Shanghai')::date AS bucket,
       count(*)::int AS n
FROM {TABLE} t{join}
WHERE t.received_at >= $1 AND t.received_at < $2 AND t.received_at > $3
  AND ($4::text IS NULL OR t.department = $4)
  AND {key} IS NOT NULL
GROUP BY 1, 2
"""


# The kept counts (projections/terms_rollup.py) of one dimension and grain.
_KEPT = f"""
SELECT key, bucket, sum(n)::int AS n FROM {counts_table(TABLE)}
WHERE dim = $1 AND grain = $2 AND bucket >= $3 AND bucket <= $4
  AND ($5::text IS NULL OR department = $5)
GROUP BY 1, 2
HAVING sum(n) <> 0
"""


def _cases_sql(dimension: HotspotDimension) -> str:
    match = {
        "service_item": "t.service_item = $1",
        "location": "t.location = $1",
        "term": "t.terms @> ARRAY[$1::text]",
    }[dimension]
    return f"""
SELECT t.complaint_id, t.received_at, c.tracking_no, c.subject
FROM {TABLE} t LEFT JOIN case_view c USING (complaint_id)
WHERE {match} AND t.received_at >= $2 AND t.received_at < $3 AND t.received_at <= $4
  AND ($5::text IS NULL OR t.department = $5)
ORDER BY t.received_at DESC, t.complaint_id
LIMIT $6
"""


@dataclass(frozen=True)
class Counts:
    """Each key's count in each of ``windows`` (oldest first)."""

    windows: list[Window]
    by_key: dict[str, list[int]]


async def counts(
    conn: asyncpg.Pool | Connection,
    dimension: HotspotDimension,
    windows: Sequence[Window],
    as_of: datetime,
    department: str | None = None,
) -> Counts:
    """Complaints per key of ``dimension`` in each of ``windows`` (consecutive
    periods of one kind, oldest first), received by ``as_of``: the kept
    counts, less the complaints received after ``as_of`` in the last window
    (none when asking about now)."""
    ordered = sorted(windows)
    index = {w.start: i for i, w in enumerate(ordered)}
    by_key: dict[str, list[int]] = {}
    if department == "":
        return Counts(ordered, by_key)  # a department role with no department: nothing
    period = ordered[0].period
    kept = await conn.fetch(
        _KEPT, dimension, GRAINS[period], ordered[0].start, ordered[-1].start, department
    )
    later: list[asyncpg.Record] = []
    if as_of < ordered[-1].ends_at:
        later = await conn.fetch(
            _counts_sql(dimension, period),
            ordered[0].starts_at,
            ordered[-1].ends_at,
            as_of,
            department,
        )
    for rows, sign in ((kept, 1), (later, -1)):
        for row in rows:
            at = index.get(row["bucket"])
            if at is not None:
                by_key.setdefault(row["key"], [0] * len(ordered))[at] += sign * row["n"]
    return Counts(ordered, by_key)


async def counted_from_rows(
    conn: asyncpg.Pool | Connection,
    dimension: HotspotDimension,
    windows: Sequence[Window],
    as_of: datetime,
    department: str | None = None,
) -> Counts:
    """What :func:`counts` answers, counted from the rows themselves (tests
    hold the two to the same answers)."""
    ordered = sorted(windows)
    index = {w.start: i for i, w in enumerate(ordered)}
    by_key: dict[str, list[int]] = {}
    if department == "":
        return Counts(ordered, by_key)
    rows = await conn.fetch(
        _counts_sql(dimension, ordered[0].period),
        ordered[0].starts_at,
        min(ordered[-1].ends_at, as_of + timedelta(microseconds=1)),
        ordered[0].starts_at - timedelta(microseconds=1),
        department,
    )
    for row in rows:
        at = index.get(row["bucket"])
        if at is not None:
            by_key.setdefault(row["key"], [0] * len(ordered))[at] = row["n"]
    return Counts(ordered, by_key)


async def first_received(conn: asyncpg.Pool | Connection) -> datetime | None:
    """When the earliest complaint on record was received."""
    found: datetime | None = await conn.fetchval(f"SELECT min(received_at) FROM {TABLE}")
    return found


@dataclass(frozen=True)
class Ranked:
    key: str
    verdict: Verdict
    baseline_counts: list[int]


def rank(found: Counts, window: Window, rule: HotspotRule, first: datetime | None) -> list[Ranked]:
    """The groups with complaints in ``window``, most complaints first (then
    the steepest rise), each judged against the ``rule.baseline_periods``
    periods before it (which ``found`` must hold).

    Only periods the store recorded from their first day (the first
    complaint on record, ``first``, came on or before it) make the baseline:
    a store that began three weeks ago has no fourth week of nothing to
    compare with, nor a first week of a few days. With none left, nothing
    rises.
    """
    at = found.windows.index(window)
    if at < rule.baseline_periods:
        raise ValueError("the counts do not reach back over the baseline")
    span = range(at - rule.baseline_periods, at)
    since = first.astimezone(TZ).date() if first is not None else None
    recorded = [i for i in span if since is not None and found.windows[i].start >= since]
    observed = bool(recorded)
    used = recorded or list(span)
    out = []
    for key, series in found.by_key.items():
        count = series[at]
        if count == 0:
            continue
        before = [series[i] for i in used]
        out.append(Ranked(key, judge(count, before, rule, observed=observed), before))
    out.sort(key=lambda r: (-r.verdict.count, -(r.verdict.ratio or float("inf")), r.key))
    return out


def windows_for(
    period: HotspotPeriod, at: datetime, rule: HotspotRule, extra: int = 0
) -> list[Window]:
    """The period holding ``at``, the ``extra`` before it, and the baseline
    of the earliest of them, oldest first."""
    current = window_of(period, at)
    return [*current.baseline(rule.baseline_periods + extra), current]


@dataclass(frozen=True)
class CaseRef:
    complaint_id: uuid.UUID
    tracking_no: str | None
    subject: str | None
    received_at: datetime


async def cases_of(
    conn: asyncpg.Pool | Connection,
    dimension: HotspotDimension,
    key: str,
    window: Window,
    as_of: datetime,
    department: str | None = None,
    limit: int = 200,
) -> list[CaseRef]:
    """The complaints of one group in ``window``, latest first."""
    rows = await conn.fetch(
        _cases_sql(dimension),
        key,
        window.starts_at,
        window.ends_at,
        as_of,
        department,
        limit,
    )
    return [
        CaseRef(r["complaint_id"], r["tracking_no"], r["subject"], r["received_at"]) for r in rows
    ]

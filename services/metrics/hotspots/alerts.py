"""Hotspot alerts (热点预警): the stream each rise is raised on, the event, and
reading back what was raised.

One rise is one stream, ``hotspot-<uuid5(dimension, key, period,
period_start)>``, with a first event whose id is derived the same way:
replicas and restarts that find the same rise append the same event to the
same stream, which the store keeps once (a repeated append of stored ids
returns them; another id would meet the version check).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from tousu.services.metrics.hotspots.surge import Verdict, Window
from tousu.shared.events import Actor, NewEvent
from tousu.shared.events.quality import (
    HOTSPOT_PREFIX,
    HotspotAlertRaised,
    HotspotDimension,
    HotspotPeriod,
)
from tousu.shared.intake.commitments import SUPERVISION_DEPARTMENT
from tousu.shared.store import ConcurrencyConflict, EventStore
from tousu.shared.store.postgres import Connection

# Fixed: changing it would raise every past rise again.
_NAMESPACE = uuid.UUID("6f1d2c3e-8a4b-5c6d-9e0f-2b3c4d5e6f70")
WATCHER = Actor(id="hotspot-watcher", role="system")
_EVENT = HotspotAlertRaised.event_type()
MAX_CASES = 200  # HotspotAlertRaised.complaint_ids


def _name(dimension: str, key: str, period: str, start: date) -> str:
    return "\x1f".join((dimension, key, period, start.isoformat()))


def alert_id(dimension: str, key: str, period: str, start: date) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, _name(dimension, key, period, start))


def alert_stream(dimension: str, key: str, period: str, start: date) -> str:
    return f"{HOTSPOT_PREFIX}{alert_id(dimension, key, period, start)}"


def alert_event(
    dimension: HotspotDimension,
    key: str,
    window: Window,
    verdict: Verdict,
    baseline_periods: int,
    threshold: float,
    complaint_ids: list[uuid.UUID],
    now: datetime,
) -> NewEvent:
    stream_key = alert_id(dimension, key, window.period, window.start)
    data = HotspotAlertRaised(
        dimension=dimension,
        key=key,
        period=window.period,
        period_start=window.start,
        count=verdict.count,
        baseline=verdict.baseline,
        baseline_periods=baseline_periods,
        threshold=threshold,
        complaint_ids=[str(c) for c in complaint_ids[:MAX_CASES]],
    )
    return NewEvent(
        event_id=uuid.uuid5(stream_key, "raised"),
        type=_EVENT,
        data=data.model_dump(mode="json"),
        occurred_at=now,
        correlation_id=stream_key,
        actor=WATCHER,
        department=SUPERVISION_DEPARTMENT,
    )


async def raise_alert(store: EventStore, event: NewEvent, stream: str) -> bool:
    """Store the alert unless it is stored already; False when the stream
    was found raised. (Another replica raising it at the same moment may
    make both say True, as the deadline watcher's notices do; the store
    keeps one.)"""
    try:
        await store.append(stream, 0, [event])
    except ConcurrencyConflict:
        return False
    return True


async def raised_among(conn: asyncpg.Pool | Connection, streams: list[str]) -> set[str]:
    """Which of these alert streams have been raised."""
    if not streams:
        return set()
    rows = await conn.fetch(
        "SELECT stream_id FROM events WHERE stream_id = any($1::text[]) AND version = 1", streams
    )
    return {r["stream_id"] for r in rows}


@dataclass(frozen=True)
class Alert:
    stream_id: str
    raised_at: datetime
    dimension: HotspotDimension
    key: str
    period: HotspotPeriod
    period_start: date
    count: int
    baseline: float
    baseline_periods: int
    threshold: float
    complaint_ids: list[str]


async def alerts_since(
    conn: asyncpg.Pool | Connection, since: datetime, limit: int = 100
) -> list[Alert]:
    """The alerts raised at or after ``since``, newest first (migration
    0035's index holds just these rows)."""
    rows = await conn.fetch(
        "SELECT stream_id, occurred_at, data FROM events"
        " WHERE type = $1 AND occurred_at >= $2 ORDER BY occurred_at DESC LIMIT $3",
        _EVENT,
        since,
        limit,
    )
    out = []
    for row in rows:
        raw = row["data"]
        data = (
            HotspotAlertRaised.model_validate_json(raw)
            if isinstance(raw, str | bytes)
            else HotspotAlertRaised.model_validate(raw)
        )
        out.append(
            Alert(
                row["stream_id"],
                row["occurred_at"],
                data.dimension,
                data.key,
                data.period,
                data.period_start,
                data.count,
                data.baseline,
                data.baseline_periods,
                data.threshold,
                data.complaint_ids,
            )
        )
    return out

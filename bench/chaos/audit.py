"""After the run: what the store, the events stream, the consumers, the outbox
and the senders hold, checked against what the driver was told.

Definitions (the figures of `tousu chaos`):

- *lost, acknowledged*: a command answered ``ok`` whose first event (its id
  is derived from the command id) is not in the store.
- *lost, not published*: a stored event with no message in the events stream.
- *lost, not consumed*: messages a durable consumer has not acknowledged
  (pending or in flight) once the system is quiet.
- *duplicated, by event id*: stream messages beyond one per Nats-Msg-Id.
- *duplicated, by effect*: events beyond the expected count of each kind in
  a complaint's history (one ComplaintAccepted, one CaseClaimed, one
  ComplaintResolved per round, ...), and notices beyond one per kind, channel
  and round.
- *projections not as the events say*: the rows of ``case_view`` or
  ``kpi_facts`` (what the dashboards and KPIs read) that differ from the rows
  the stored events give when projected afresh, after the metrics service and
  PostgreSQL were killed under them.
- *sent twice*: notices the SMS sender handed over more than once (its log
  lines, one per hand-over, carry the notice id). A dispatcher killed between
  a hand-over and recording it as sent leaves the outcome unknown; when its
  lease ends the notice is sent again, with the same reference for the
  gateway to drop (services/followup/notices/dispatcher.py: at least once). Such repeats
  are counted apart (*sent twice after a takeover*: the row was tried more
  than once); any other repeat is a bug.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from bench.chaos.drive import Tally
from tousu.services.metrics.projections import PROJECTIONS
from tousu.services.relay.message import MSG_ID, STREAM_ID, VERSION
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.calendar.repository import load_years
from tousu.shared.naming import Naming
from tousu.shared.store.postgres import read_streams, snapshot_head

SMS_SENT = "sms (logged, not sent)"
NOTICE_CHANNELS = ("sms", "web")


def expected_events(reopened: bool) -> dict[str, int]:
    rounds = 2 if reopened else 1
    return {
        "ComplaintReceived": 1,
        "ComplaintAccepted": 1,
        "ComplaintRouted": 1,
        "CaseClaimed": 1,
        "InvestigationRecorded": rounds,
        "HandlingPlanProposed": rounds,
        "ComplainantConsulted": rounds,
        "ComplaintResolved": rounds,
        "ResultFeedbackSent": rounds,
        "FollowUpScheduled": rounds,
        "ComplaintFollowedUp": rounds,
        "ComplaintReopened": rounds - 1,
        "ComplaintClosed": 1,
    }


def expected_notices(reopened: bool) -> dict[str, int]:
    rounds = 2 if reopened else 1
    return {"acceptance": 1, "result": rounds, "follow_up_survey": rounds}


async def durables(js: JetStreamContext, naming: Naming) -> dict[str, dict[str, int]]:
    """What each durable consumer of the events and intake streams has yet to settle.

    The one list both the wait for a quiet system and the audit look at: the
    wait once looked at the events stream only, so a channel submission still
    due for redelivery failed the audit. Ephemeral consumers (the audit's own
    reader of the stream) are not the system's and are left out.
    """
    return {
        c.name: {
            "pending": c.num_pending or 0,
            "ack_pending": c.num_ack_pending or 0,
            "redelivered": c.num_redelivered or 0,
        }
        for stream in (naming.events_stream, naming.intake_stream)
        for c in await js.consumers_info(stream)
        if c.config.durable_name
    }


async def unsettled(pool: asyncpg.Pool, js: JetStreamContext, naming: Naming) -> str | None:
    """What is still under way (None: nothing): events to publish or consume, notices to send."""
    stored = await pool.fetchval("SELECT count(*) FROM events")
    info = await js.stream_info(naming.events_stream)
    if info.state.messages < stored:
        return f"{stored - info.state.messages} events not published"
    for name, counts in (await durables(js, naming)).items():
        if counts["pending"] or counts["ack_pending"]:
            return (
                f"consumer {name}: {counts['pending']} pending, "
                f"{counts['ack_pending']} unacknowledged"
            )
    notices = await pool.fetchval(
        "SELECT count(*) FROM notifications WHERE status NOT IN ('sent', 'dead')"
    )
    if notices:
        return f"{notices} notices not sent"
    async with pool.acquire() as conn:
        head = await snapshot_head(conn)
    behind = await pool.fetchval(
        "SELECT count(*) FROM projection_state WHERE position <> $1",
        head.position if head else 0,
    )
    return f"{behind} projections behind" if behind else None


async def audit(
    pool: asyncpg.Pool, js: JetStreamContext, naming: Naming, tally: Tally, logs: Path
) -> dict[str, Any]:
    streams = list(tally.plans)
    histories = await _histories(pool, streams)
    final = Counter(h[-1] if h else "none" for h in (histories.get(s, []) for s in streams))
    effect_dup, effect_missing = 0, 0
    for stream_id, reopened in tally.plans.items():
        counts = Counter(histories.get(stream_id, []))
        for event_type, want in expected_events(reopened).items():
            effect_dup += max(0, counts[event_type] - want)
            effect_missing += max(0, want - counts[event_type])

    acknowledged = [cid for ids in tally.acknowledged.values() for cid in ids]
    first_events = [uuid.uuid5(cid, "0") for cid in acknowledged]
    found = await pool.fetchval(
        "SELECT count(*) FROM events WHERE event_id = any($1::uuid[])", first_events
    )
    lost_acknowledged = len(first_events) - int(found)

    stored_ids = {str(r["event_id"]) for r in await pool.fetch("SELECT event_id FROM events")}
    published = await _published(js, naming)
    published_ids = Counter(msg_id for msg_id, _, _ in published)
    out_of_order = _out_of_order(published)

    consumers = await durables(js, naming)
    dlq = (await js.stream_info(naming.dlq_stream)).state.messages

    notices = await _notices(pool, tally)
    sends = _sms_sends(logs)
    sms_sent_rows = notices.pop("sms_sent_ids")
    retried = notices.pop("tried_more_than_once")
    twice = {ref for ref, n in sends.items() if n > 1}
    return {
        "complaints": {
            "driven": len(streams),
            "closed": final.get("ComplaintClosed", 0),
            "final_event": dict(final),
            "reopened_and_closed": tally.reopened,
            "driver_failures": len(tally.failures),
        },
        "commands": {
            "sent": tally.commands,
            "acknowledged": len(acknowledged),
            "resent_after_lost_answer": tally.retries,
            "why_resent": tally.retried_codes,
        },
        "events": {
            "stored": len(stored_ids),
            "published": sum(published_ids.values()),
        },
        "lost": {
            "acknowledged_not_stored": lost_acknowledged,
            "stored_not_published": len(stored_ids - published_ids.keys()),
            "not_consumed": sum(c["pending"] + c["ack_pending"] for c in consumers.values()),
            "expected_but_missing": effect_missing,
        },
        "duplicated": {
            "by_event_id": sum(n - 1 for n in published_ids.values() if n > 1),
            "by_effect": effect_dup,
            "notices_by_effect": notices["duplicated"],
            "published_not_stored": len(published_ids.keys() - stored_ids),
            "out_of_order": out_of_order,
        },
        "notifications": {
            **notices,
            "sms_handed_over": sum(sends.values()),
            "sent_twice": len(twice - retried),
            "sent_twice_after_takeover": len(twice & retried),
            "sent_not_logged": len(sms_sent_rows - sends.keys()),
        },
        "projections_differing_rows": await projections_differing(pool),
        "consumers": consumers,
        "consumers_resumed": all(
            c["pending"] == 0 and c["ack_pending"] == 0 for c in consumers.values()
        ),
        "dlq": dlq,
    }


async def _histories(pool: asyncpg.Pool, streams: list[str]) -> dict[str, list[str]]:
    rows = await pool.fetch(
        "SELECT stream_id, type FROM events WHERE stream_id = any($1::text[]) "
        "ORDER BY stream_id, version",
        streams,
    )
    out: dict[str, list[str]] = {}
    for row in rows:
        out.setdefault(row["stream_id"], []).append(row["type"])
    return out


async def _published(js: JetStreamContext, naming: Naming) -> list[tuple[str, str, int]]:
    """(Nats-Msg-Id, stream id, version) of every events-stream message, in order."""
    expected = (await js.stream_info(naming.events_stream)).state.messages
    sub = await js.pull_subscribe(
        naming.all_events,
        stream=naming.events_stream,
        config=ConsumerConfig(
            ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=30
        ),
    )
    found: list[tuple[str, str, int]] = []
    try:
        while len(found) < expected:
            for msg in await sub.fetch(batch=min(1000, expected - len(found)), timeout=10):
                headers = msg.headers or {}
                found.append(
                    (
                        headers.get(MSG_ID, ""),
                        headers.get(STREAM_ID, ""),
                        int(headers.get(VERSION, 0)),
                    )
                )
    finally:
        await sub.unsubscribe()
    return found


def _out_of_order(published: list[tuple[str, str, int]]) -> int:
    """Messages whose version is not above the last one seen of their stream."""
    last: dict[str, int] = {}
    wrong = 0
    for _, stream_id, version in published:
        if version <= last.get(stream_id, 0):
            wrong += 1
        last[stream_id] = max(version, last.get(stream_id, 0))
    return wrong


async def _notices(pool: asyncpg.Pool, tally: Tally) -> dict[str, Any]:
    rows = await pool.fetch(
        "SELECT id, complaint_id, kind, channel, status, attempts FROM notifications"
    )
    per = Counter((str(r["complaint_id"]), r["kind"], r["channel"]) for r in rows)
    duplicated, missing = 0, 0
    for stream_id, reopened in tally.plans.items():
        complaint_id = stream_id.removeprefix("complaint-")
        for kind, want in expected_notices(reopened).items():
            for channel in NOTICE_CHANNELS:
                have = per[(complaint_id, kind, channel)]
                duplicated += max(0, have - want)
                missing += max(0, want - have)
    status = Counter(r["status"] for r in rows)
    return {
        "enqueued": len(rows),
        "by_status": dict(status),
        "missing": missing,
        "duplicated": duplicated,
        "tried_more_than_once": {str(r["id"]) for r in rows if r["attempts"] > 1},
        "sms_sent_ids": {
            str(r["id"]) for r in rows if r["channel"] == "sms" and r["status"] == "sent"
        },
    }


async def projections_differing(pool: asyncpg.Pool) -> dict[str, int]:
    """Per projection, its rows that differ from the rows projected afresh from the events."""
    async with pool.acquire() as conn:
        calendar = WorkdayCalendar(await load_years(conn))  # the metrics service's calendar
        ids = await conn.fetch("SELECT DISTINCT stream_id FROM events")
        histories = await read_streams(conn, [r["stream_id"] for r in ids])
        out = {}
        for projection in PROJECTIONS:
            columns = ", ".join(projection.columns)
            records = await conn.fetch(f"SELECT {columns} FROM {projection.name}")
            kept = Counter(_comparable(tuple(r)) for r in records)
            fresh = Counter(
                _comparable(row) for h in histories.values() for row in projection.rows(h, calendar)
            )
            out[projection.name] = sum(((kept - fresh) + (fresh - kept)).values())
    return out


def _comparable(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row as a hashable value equal for equal rows, whatever time zone or type
    (an enum, its value) each side gave a cell."""

    def cell(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, list | dict):
            return json.dumps(value, sort_keys=True, default=str)
        return value

    return tuple(cell(v) for v in row)


def _sms_sends(logs: Path) -> Counter[str]:
    """Notice id → how many times an SMS sender logged handing it over."""
    sends: Counter[str] = Counter()
    for path in logs.glob("*.log"):
        for line in path.read_text(errors="replace").splitlines():
            if SMS_SENT not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") == SMS_SENT:
                sends[str(entry.get("ref"))] += 1
    return sends


def problems(figures: dict[str, Any]) -> list[str]:
    """What in ``figures`` is not as it must be after a chaos run; empty: all well."""
    out = []
    complaints = figures["complaints"]
    if complaints["closed"] != complaints["driven"]:
        out.append(f"{complaints['driven'] - complaints['closed']} complaints not closed")
    out += [f"lost ({k}): {v}" for k, v in figures["lost"].items() if v]
    out += [f"duplicated ({k}): {v}" for k, v in figures["duplicated"].items() if v]
    notices = figures["notifications"]
    for key in ("missing", "duplicated", "sent_twice", "sent_not_logged"):
        if notices[key]:
            out.append(f"notifications {key}: {notices[key]}")
    if set(notices["by_status"]) - {"sent"}:
        out.append(f"notifications not sent: {notices['by_status']}")
    if not figures["consumers_resumed"]:
        out.append("consumers did not resume: messages pending")
    for name, differing in figures["projections_differing_rows"].items():
        if differing:
            out.append(f"projection {name}: {differing} rows not as the events say")
    if figures["dlq"]:
        out.append(f"{figures['dlq']} dead letters")
    commands = figures["commands"]
    if not figures["complaints"]["driver_failures"] and commands["sent"] != commands["planned"]:
        # The kills are spread by the share of planned commands acknowledged:
        # a wrong plan lets the load end before the last kills, or never.
        out.append(f"commands sent {commands['sent']}, planned {commands['planned']}")
    if len(figures["kills"]) != figures["kills_planned"]:
        out.append(f"{len(figures['kills'])} of {figures['kills_planned']} kills done")
    idle = [k["process"] for k in figures["kills"] if k["at_progress"] >= 1]
    if idle:
        out.append(f"killed after the load had ended: {idle}")
    return out

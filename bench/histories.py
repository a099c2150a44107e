"""Realistic complaint histories, generated fast and bulk-loaded into ``events``.

Each complaint's lifecycle is decided by the real domain (``decide`` /
``evolve``, as the CommandExecutor would) for a few thousand *templates*:
one per receipt day and lifecycle, with random departments, handlers,
channels, topics and delays. Every further complaint is a *clone* of a
template: new complaint, event and correlation ids, a new tracking number,
and all its instants moved by one offset that keeps every event on its own
day in Asia/Shanghai, so every deadline (the end of a working day) stays
what the domain computed. The events go in with ``COPY`` in the order they
happened, interleaved across complaints as a live store would hold them.

The mix (see ``_LIFECYCLES``): rejected, accepted and never routed, waiting
to be claimed, returned and re-routed, in handling, resolved awaiting
feedback, fed back awaiting follow-up, closed satisfied, dissatisfied and
reopened (then closed), extended (approved or refused), and late cases with
the deadline watcher's warning and overdue notices; about ten events per
complaint. Complaints received near the end of the period are cut off at
``NOW``: still in progress, as in a real store; older ones are mostly
finished, with a small backlog still open.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from tousu.demo.data import GIVEN, OUT_OF_SCOPE, SURNAMES, TOPICS, Topic
from tousu.services.metrics.projections.kpi_facts import KpiFacts
from tousu.services.metrics.projections.state import ensure_table
from tousu.shared.calendar import TZ, WorkdayCalendar
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import ComplaintState, DecisionContext, decide, evolve
from tousu.shared.events import Actor, Envelope
from tousu.shared.events.types import Channel, Complainant, DeadlineKind, PlanMeasure, Satisfaction
from tousu.shared.intake.identifiers import new_tracking_no

# Complaints are received in [START, END); nothing happens after NOW, the
# instant the histories are taken at ("now" for the benchmarks' queries).
START = datetime(2026, 1, 1, tzinfo=TZ)
END = datetime(2027, 1, 1, tzinfo=TZ)
NOW = datetime(2027, 1, 1, tzinfo=TZ)

CALENDAR = WorkdayCalendar()
# At most this many complaints are driven through the domain; the rest are clones.
MAX_TEMPLATES = 4000
COPY_BATCH = 20_000

COLUMNS = (
    "event_id",
    "stream_id",
    "version",
    "type",
    "schema_version",
    "occurred_at",
    "recorded_at",
    "correlation_id",
    "causation_id",
    "actor",
    "department",
    "data",
)

OPERATORS = tuple(Actor(id=f"op-{i:02d}", role="operator") for i in range(12))
SUPERVISOR = Actor(id="sup-wang", role="supervisor")
SYSTEM = Actor(id="tousu", role="system")
COMPLAINANT = Actor(id="public", role="complainant")
DEPARTMENTS = tuple(sorted({t.department for t in TOPICS}))
HANDLERS_PER_DEPARTMENT = 8
CHANNELS = (
    (Channel.PHONE, 45),
    (Channel.WEB, 20),
    (Channel.WECHAT, 20),
    (Channel.WALK_IN, 8),
    (Channel.LETTER, 4),
    (Channel.OPEN311, 3),
)


class _Stop(Exception):
    """The next step would happen after NOW: the history ends here."""


@dataclass
class _Driver:
    """One complaint in memory: commands decided and applied in turn."""

    rng: random.Random
    at: datetime
    stream_id: str = field(default_factory=lambda: f"complaint-{uuid.uuid4()}")
    state: ComplaintState = field(default_factory=ComplaintState)
    events: list[tuple[Envelope, Any]] = field(default_factory=list)

    def later(self, days: float = 0.0, *, workday: bool = True) -> datetime:
        """An instant ``days`` calendar days on (at least a few minutes after
        the last step), within office hours, on a working day if ``workday``."""
        day = (self.at + timedelta(days=days)).astimezone(TZ).date()
        while workday and not CALENDAR.is_workday(day):
            day += timedelta(days=1)
        minute = self.rng.randrange(9 * 60, 17 * 60 + 30)
        at = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=TZ)
        floor = self.at + timedelta(minutes=self.rng.randrange(3, 40))
        if at < floor:
            at = floor
        if at.astimezone(TZ).hour >= 18:  # keep to the day's office hours: next morning
            nxt = at.astimezone(TZ).date() + timedelta(days=1)
            at = datetime(nxt.year, nxt.month, nxt.day, 9, self.rng.randrange(60), tzinfo=TZ)
        return at

    def do(self, command: type[c.Command], actor: Actor, at: datetime, **fields: Any) -> None:
        if at >= NOW:
            raise _Stop
        cmd = command(actor=actor, occurred_at=at, correlation_id=uuid.uuid4(), **fields)
        # Recorded as it happens: a generated history has no late entries.
        for new in decide(self.state, cmd, DecisionContext(calendar=CALENDAR, now=at)):
            envelope = Envelope.model_construct(
                event_id=new.event_id,
                type=new.type,
                stream_id=self.stream_id,
                version=self.state.version + 1,
                global_position=1,
                occurred_at=new.occurred_at,
                recorded_at=new.occurred_at,
                correlation_id=new.correlation_id,
                causation_id=new.causation_id,
                actor=new.actor,
                schema_version=new.schema_version,
                data=new.data,
                department=new.department,
            )
            self.state = evolve(self.state, envelope)
            self.events.append((envelope, new))
        self.at = at

    def due(self, kind: DeadlineKind) -> datetime:
        return self.state.deadlines[kind].due_at


# -- the lifecycles ---------------------------------------------------------------


@dataclass(frozen=True)
class _People:
    operator: Actor
    department: str
    handler: Actor
    head: Actor


def _people(rng: random.Random, department: str) -> _People:
    n = rng.randrange(HANDLERS_PER_DEPARTMENT)
    return _People(
        operator=rng.choice(OPERATORS),
        department=department,
        handler=Actor(id=f"h-{department}-{n}", role="handler", department=department),
        head=Actor(id=f"dh-{department}", role="dept_head", department=department),
    )


def _submit(d: _Driver, topic: Topic | None, channel: Channel, out_of_scope: int) -> None:
    rng = d.rng
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    complainant = Complainant(
        name=name,
        phone=f"138{rng.randrange(10**8):08d}",
        anonymous=rng.random() < 0.05,
        preferred_channel=channel if channel != Channel.WALK_IN else Channel.PHONE,
    )
    if topic is None:
        subject, description, _kind = OUT_OF_SCOPE[out_of_scope % len(OUT_OF_SCOPE)]
        fields: dict[str, Any] = {"subject": subject, "description": description}
    else:
        fields = {
            "subject": topic.subject,
            "description": topic.description,
            "location": topic.location,
            "demands": topic.demands,
            "service_item": topic.service_item,
            # The intake classifier's guess, when it had one.
            "category": topic.category if rng.random() < 0.7 else None,
            "subcategory": topic.subcategory if rng.random() < 0.5 else None,
        }
        if fields["category"] is None:
            fields["subcategory"] = None  # a subcategory needs its category
    d.do(
        c.SubmitComplaint,
        COMPLAINANT if channel in (Channel.WEB, Channel.WECHAT) else d.rng.choice(OPERATORS),
        d.at,
        channel=channel,
        complainant=complainant,
        tracking_no=new_tracking_no(d.at, rng),
        **fields,
    )


def _accept(d: _Driver, p: _People, topic: Topic) -> None:
    late = d.rng.random() < 0.06
    d.do(
        c.AcceptComplaint,
        p.operator,
        d.later(d.rng.choice((3, 4, 5)) if late else d.rng.choice((0, 0, 0, 1, 1, 2))),
        category=topic.category,
        subcategory=topic.subcategory,
        verification_note="已电话核实诉求。" if d.rng.random() < 0.3 else None,
    )


def _route(d: _Driver, p: _People, department: str | None = None) -> None:
    actor = SUPERVISOR if d.state.needs_arbitration else p.operator
    d.do(
        c.RouteComplaint,
        actor,
        d.later(d.rng.choice((0, 0, 1))),
        department=department or p.department,
    )


def _claim(d: _Driver, p: _People) -> None:
    d.do(c.ClaimCase, p.handler, d.later(d.rng.choice((0, 0, 1, 2))))


def _work(d: _Driver, p: _People, *, to_the_result: bool = True) -> None:
    """Investigation, a plan, the complainant's opinion on it, then progress
    reports, in the policy's order; a case still in handling
    (``to_the_result=False``) may have stopped after any step."""
    rng = d.rng
    d.do(
        c.RecordInvestigation,
        p.handler,
        d.later(rng.choice((0, 1, 2, 3))),
        findings="经现场核查，投诉反映情况基本属实。",
        methods=["现场勘查", "调阅记录"][: rng.randrange(1, 3)],
    )
    if not to_the_result and rng.random() < 0.5:
        return
    d.do(
        c.ProposePlan,
        p.handler,
        d.later(rng.choice((0, 1, 2))),
        measures=[PlanMeasure(measure="约谈责任人并限期整改", owner=p.handler.id)],
        summary="限期整改，整改后回访。",
    )
    if not to_the_result and rng.random() < 0.4:
        return
    d.do(c.RecordConsultation, p.handler, d.later(1), agrees=rng.random() < 0.9)
    for _ in range(rng.choice((0, 0, 1, 1, 2))):
        d.do(
            c.ReportProgress,
            p.handler,
            d.later(rng.choice((1, 2, 3, 5))),
            progress="已督促责任单位整改，正在落实。",
            notify_complainant=rng.random() < 0.7,
        )


def _watch(d: _Driver, resolve_at: datetime) -> None:
    """The deadline watcher's notices for a case answered late (or not yet)."""
    due = d.due(DeadlineKind.FEEDBACK)
    warn = due - timedelta(days=2, hours=8)
    if d.at < warn < resolve_at:
        d.do(
            c.RaiseSupervision,
            SYSTEM,
            warn,
            kind="warning",
            deadline=DeadlineKind.FEEDBACK,
            due_at=due,
        )
    overdue = due + timedelta(hours=9, minutes=d.rng.randrange(60))  # the next morning
    if d.at < overdue < resolve_at:
        d.do(
            c.RaiseSupervision,
            SYSTEM,
            overdue,
            kind="overdue",
            deadline=DeadlineKind.FEEDBACK,
            due_at=due,
        )


def _resolve(d: _Driver, p: _People, *, late: bool = False) -> None:
    rng = d.rng
    if late:
        at = d.later((d.due(DeadlineKind.FEEDBACK) - d.at).days + rng.randrange(1, 10))
        _watch(d, at)
        at = max(at, d.later(0))
    else:
        room = max(0, (d.due(DeadlineKind.FEEDBACK) - d.at).days - 1)
        at = d.later(rng.randrange(0, room + 1) if room else 0)
    d.do(
        c.ResolveComplaint,
        p.handler,
        at,
        result="问题已整改完毕，并向投诉人说明情况。",
        basis="《政务服务投诉处理办法》",
        improvements="加强人员培训。" if rng.random() < 0.4 else None,
    )


def _feedback(d: _Driver, p: _People) -> None:
    d.do(c.SendFeedback, p.handler, d.later(d.rng.choice((0, 0, 1))))


def _follow_up(d: _Driver, p: _People, satisfaction: Satisfaction) -> None:
    actor = COMPLAINANT if d.rng.random() < 0.2 else p.operator
    d.do(c.RecordFollowUp, actor, d.later(d.rng.choice((1, 2, 3))), satisfaction=satisfaction)


def _extension(d: _Driver, p: _People, approved: bool) -> None:
    d.do(
        c.RequestExtension,
        p.handler,
        d.later(d.rng.randrange(3, 12)),
        working_days=d.rng.choice((3, 5, 10)),
        reason="涉及多个部门协调，需延长办理期限。",
    )
    d.do(
        c.DecideExtension,
        SUPERVISOR,
        d.later(d.rng.choice((0, 1))),
        approved=approved,
        reason=None if approved else "理由不充分。",
    )


def _closed(d: _Driver, p: _People) -> None:
    _feedback(d, p)
    _follow_up(
        d, p, d.rng.choices((Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED), (3, 1))[0]
    )


def _handled(d: _Driver, p: _People, *, late: bool = False) -> None:
    _claim(d, p)
    _work(d, p)
    _resolve(d, p, late=late)


def _lc_rejected(d: _Driver, p: _People, t: Topic) -> None:
    d.do(
        c.RejectComplaint,
        p.operator,
        d.later(d.rng.choice((0, 0, 1, 2))),
        reason="不属于投诉受理范围。",
        suggestion="请向有关部门咨询或通过司法途径解决。",
        reason_code="out_of_scope",
    )


def _lc_not_routed(d: _Driver, p: _People, t: Topic) -> None:
    _accept(d, p, t)


def _lc_unclaimed(d: _Driver, p: _People, t: Topic) -> None:
    _accept(d, p, t)
    _route(d, p)


def _lc_in_handling(d: _Driver, p: _People, t: Topic) -> None:
    _accept(d, p, t)
    _route(d, p)
    _claim(d, p)
    _work(d, p, to_the_result=False)


def _lc_resolved(d: _Driver, p: _People, t: Topic) -> None:
    _accept(d, p, t)
    _route(d, p)
    _handled(d, p)


def _lc_fed_back(d: _Driver, p: _People, t: Topic) -> None:
    _lc_resolved(d, p, t)
    _feedback(d, p)


def _lc_satisfied(d: _Driver, p: _People, t: Topic) -> None:
    _lc_resolved(d, p, t)
    _closed(d, p)


def _lc_late(d: _Driver, p: _People, t: Topic) -> None:
    _accept(d, p, t)
    _route(d, p)
    _handled(d, p, late=True)
    _closed(d, p)


def _lc_reopened(d: _Driver, p: _People, t: Topic) -> None:
    _lc_resolved(d, p, t)
    _feedback(d, p)
    _follow_up(d, p, Satisfaction.DISSATISFIED)  # reopened: round 2
    _work(d, p)
    _resolve(d, p)
    _feedback(d, p)
    if d.rng.random() < 0.3:
        _follow_up(d, p, Satisfaction.UNREACHABLE)
    _follow_up(d, p, d.rng.choice((Satisfaction.BASICALLY_SATISFIED, Satisfaction.DISSATISFIED)))


def _lc_extended(d: _Driver, p: _People, t: Topic) -> None:
    _accept(d, p, t)
    _route(d, p)
    _claim(d, p)
    _work(d, p)
    _extension(d, p, approved=d.rng.random() < 0.85)
    _resolve(d, p)
    _closed(d, p)


def _lc_returned(d: _Driver, p: _People, t: Topic) -> None:
    _accept(d, p, t)
    wrong = d.rng.choice([x for x in DEPARTMENTS if x != p.department])
    _route(d, p, wrong)
    d.do(
        c.ReturnCase,
        Actor(id=f"h-{wrong}-0", role="handler", department=wrong),
        d.later(d.rng.choice((0, 1))),
        reason="不属于本部门职责。",
        basis="部门职责清单",
    )
    _route(d, p)
    _handled(d, p)
    _closed(d, p)


Lifecycle = Callable[[_Driver, _People, Topic], None]
_LIFECYCLES: tuple[tuple[Lifecycle, int], ...] = (
    (_lc_rejected, 10),
    (_lc_not_routed, 3),
    (_lc_unclaimed, 3),
    (_lc_in_handling, 10),
    (_lc_resolved, 3),
    (_lc_fed_back, 6),
    (_lc_satisfied, 38),
    (_lc_late, 7),
    (_lc_reopened, 8),
    (_lc_extended, 7),
    (_lc_returned, 5),
)

# Lifecycles that leave the complaint open; received before NOW - RECENT,
# they are STALE times as likely.
_OPEN = frozenset({_lc_not_routed, _lc_unclaimed, _lc_in_handling, _lc_resolved, _lc_fed_back})
RECENT = timedelta(days=45)
STALE = 0.15


def _history(rng: random.Random, received: datetime, lifecycle: Lifecycle) -> _Driver:
    d = _Driver(rng, received)
    topic = rng.choice(TOPICS)
    channel = rng.choices([ch for ch, _ in CHANNELS], [w for _, w in CHANNELS])[0]
    rejected = lifecycle is _lc_rejected
    department = topic.department if rng.random() < 0.8 else rng.choice(DEPARTMENTS)
    people = _people(rng, department)
    try:
        _submit(d, None if rejected else topic, channel, rng.randrange(len(OUT_OF_SCOPE)))
        lifecycle(d, people, topic)
    except _Stop:
        pass
    return d


# -- templates and clones ------------------------------------------------------


@dataclass(frozen=True)
class _TemplateEvent:
    type: str
    schema_version: int
    occurred_at: datetime
    actor: str  # json
    department: str | None
    data: str  # json, with the template's tracking number in it
    tracked: bool  # whether ``data`` mentions the tracking number


@dataclass(frozen=True)
class _Template:
    received_at: datetime
    tracking_no: str
    events: tuple[_TemplateEvent, ...]
    # How far its instants may move and stay on their own Shanghai days.
    earliest: timedelta
    latest: timedelta


def _template(d: _Driver) -> _Template:
    received = d.events[0][0].occurred_at
    tracking_no = d.state.tracking_no or ""
    events = []
    for envelope, new in d.events:
        # As the store writes them (its jsonb codec is json.dumps).
        data = json.dumps(new.data)
        events.append(
            _TemplateEvent(
                type=envelope.type,
                schema_version=envelope.schema_version,
                occurred_at=envelope.occurred_at,
                actor=json.dumps(new.actor.model_dump(mode="json", exclude_none=True)),
                department=envelope.department,
                data=data,
                tracked=tracking_no in data,
            )
        )
    local = [e.occurred_at.astimezone(TZ) for e in events]
    zero = timedelta(0)
    earliest = max(t.replace(hour=0, minute=1, second=0, microsecond=0) - t for t in local)
    latest = min(t.replace(hour=23, minute=59, second=0, microsecond=0) - t for t in local)
    return _Template(received, tracking_no, tuple(events), min(earliest, zero), max(latest, zero))


def _days(start: datetime, end: datetime) -> list[date]:
    first, last = (
        start.astimezone(TZ).date(),
        (end - timedelta(microseconds=1)).astimezone(TZ).date(),
    )
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def make_templates(count: int, rng: random.Random) -> list[_Template]:
    """``count`` lifecycles through the domain, receipt days spread evenly over the period."""
    days = _days(START, END)
    lifecycles = [lc for lc, _ in _LIFECYCLES]
    recent = [w for _, w in _LIFECYCLES]
    # Older complaints are mostly finished: few are still open (a backlog).
    older = [w * (STALE if lc in _OPEN else 1) for lc, w in _LIFECYCLES]
    templates = []
    for i in range(count):
        day = days[i * len(days) // count]
        minute = rng.randrange(8 * 60 + 30, 18 * 60)
        received = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=TZ)
        weights = recent if NOW - received < RECENT else older
        lifecycle = rng.choices(lifecycles, weights)[0]
        templates.append(_template(_history(rng, received, lifecycle)))
    return templates


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


Record = tuple[Any, ...]


@dataclass(frozen=True)
class _Placement:
    """Where a clone of a template goes: its stream, how far its instants move,
    its tracking number."""

    stream_id: str
    shift: timedelta
    tracking_no: str


def _place(t: _Template, rng: random.Random, fresh: bool) -> _Placement:
    """A new complaint from template ``t`` (``fresh``: the template itself)."""
    stream_id = f"complaint-{_uuid(rng)}"
    if fresh:
        return _Placement(stream_id, timedelta(0), t.tracking_no)
    lo, hi = int(t.earliest.total_seconds()), int(t.latest.total_seconds())
    shift = timedelta(seconds=rng.randint(lo, hi) if hi > lo else 0)
    return _Placement(stream_id, shift, new_tracking_no(t.received_at, rng))


def _clone(t: _Template, rng: random.Random, fresh: bool) -> list[Record]:
    """The template's events as a new complaint (``fresh``: the template itself)."""
    return _records(t, _place(t, rng, fresh), rng)


def _records(t: _Template, place: _Placement, rng: random.Random) -> list[Record]:
    records = []
    correlation = _uuid(rng)
    for version, e in enumerate(t.events, start=1):
        at = e.occurred_at + place.shift
        data = e.data.replace(t.tracking_no, place.tracking_no) if e.tracked else e.data
        if version == 1 or e.occurred_at != t.events[version - 2].occurred_at:
            correlation = _uuid(rng)  # one per command: events of one command share it
        records.append(
            (
                _uuid(rng),
                place.stream_id,
                version,
                e.type,
                e.schema_version,
                at,
                at + timedelta(milliseconds=rng.randrange(20, 3000)),
                correlation,
                None,
                e.actor,
                e.department,
                data,
            )
        )
    return records


@dataclass(frozen=True)
class Generated:
    complaints: int
    events: int
    templates: int
    seconds: float  # generating and loading

    def as_dict(self) -> dict[str, Any]:
        return {
            "complaints": self.complaints,
            "events": self.events,
            "templates": self.templates,
            "events_per_complaint": round(self.events / self.complaints, 2),
            "seconds": round(self.seconds, 3),
        }


def _in_order(
    templates: list[_Template], complaints: int, rng: random.Random
) -> Iterator[list[Record]]:
    """Every complaint's events, day by day in the order they happened."""
    # Which templates each clone copies: the templates first, then at random.
    picks = list(range(min(complaints, len(templates))))
    picks += [rng.randrange(len(templates)) for _ in range(complaints - len(picks))]
    picks.sort(key=lambda i: templates[i].received_at)
    pending: dict[date, list[Record]] = {}
    fresh = set(range(len(templates)))

    def flush(before: date) -> Iterator[list[Record]]:
        for day in sorted(d for d in pending if d < before):
            records = pending.pop(day)
            records.sort(key=lambda r: r[5])
            yield records

    current: date | None = None
    for i in picks:
        t = templates[i]
        day = t.received_at.astimezone(TZ).date()
        if day != current:
            yield from flush(day)
            current = day
        for record in _clone(t, rng, i in fresh):
            pending.setdefault(record[5].astimezone(TZ).date(), []).append(record)
        fresh.discard(i)
    yield from flush(date.max)


def templates_for(complaints: int) -> int:
    return min(complaints, MAX_TEMPLATES)


async def fill(
    database_url: str,
    *,
    complaints: int | None = None,
    events: int | None = None,
    seed: int = 2026,
) -> Generated:
    """Load about ``complaints`` complaints (or about ``events`` events) into the store."""
    started = time.perf_counter()
    rng = random.Random(seed)
    if complaints is None:
        assert events is not None
        # Size the templates by a first estimate, then the clones by their mean.
        templates = make_templates(templates_for(max(1, events // 10)), rng)
        mean = sum(len(t.events) for t in templates) / len(templates)
        complaints = max(1, round(events / mean))
        if complaints < len(templates):  # every one a complaint, spread over the period
            templates = [templates[i * len(templates) // complaints] for i in range(complaints)]
    else:
        templates = make_templates(templates_for(complaints), rng)
    conn = await asyncpg.connect(database_url)
    total = 0
    try:
        batch: list[Record] = []
        for day in _in_order(templates, complaints, rng):
            batch.extend(day)
            if len(batch) >= COPY_BATCH:
                await conn.copy_records_to_table("events", records=batch, columns=COLUMNS)
                total += len(batch)
                batch = []
        if batch:
            await conn.copy_records_to_table("events", records=batch, columns=COLUMNS)
            total += len(batch)
        # As a live store would be: vacuumed (hint bits, visibility map) and analysed.
        await conn.execute("VACUUM (ANALYZE) events")
    finally:
        await conn.close()
    return Generated(complaints, total, len(templates), time.perf_counter() - started)


# -- kpi_facts without the events ----------------------------------------------------

# The kpi_facts columns that are instants of events, and so move with a clone's
# events; the rest (deadlines from the events' data, flags, groups) are the
# template's own, as the projection computes them from the clone's events.
_SHIFTED = frozenset(
    {"valid_from", "valid_to", "received_at", "decided_at", "accepted_at", "first_feedback_at"}
)
_SHIFTED_AT = frozenset(i for i, c in enumerate(KpiFacts.columns) if c in _SHIFTED)


def _envelopes(records: list[Record]) -> list[Envelope]:
    """Records as the store would give them back."""
    return [
        Envelope.model_validate(
            dict(zip(COLUMNS, r, strict=True))
            | {"global_position": i, "actor": json.loads(r[9]), "data": json.loads(r[11])}
        )
        for i, r in enumerate(records, start=1)
    ]


def _template_facts(t: _Template, rng: random.Random) -> list[Record]:
    """The template's kpi_facts rows, as the projection computes them."""
    place = _Placement(f"complaint-{_uuid(rng)}", timedelta(0), t.tracking_no)
    return KpiFacts().rows(_envelopes(_records(t, place, rng)), CALENDAR)


def _clone_facts(rows: list[Record], place: _Placement) -> list[Record]:
    """A template's kpi_facts rows as those of its clone at ``place``."""
    complaint_id = uuid.UUID(place.stream_id.removeprefix("complaint-"))
    return [
        tuple(
            complaint_id
            if i == 0
            else (v + place.shift if i in _SHIFTED_AT and v is not None else v)
            for i, v in enumerate(row)
        )
        for row in rows
    ]


async def fill_kpi_facts(database_url: str, *, complaints: int, seed: int = 2026) -> dict[str, Any]:
    """The ``kpi_facts`` of ``complaints`` complaints, loaded without their
    events: each template's rows computed once by the projection, each clone's
    moved with its instants (exactly what the projection would compute from
    the clone's events; tests/unit/test_bench_histories.py checks it). The
    rows go in complaint by complaint in complaint id order, as a rebuild
    writes them."""
    started = time.perf_counter()
    rng = random.Random(seed)
    templates = make_templates(templates_for(complaints), rng)
    facts = [_template_facts(t, rng) for t in templates]
    picks = list(range(min(complaints, len(templates))))
    picks += [rng.randrange(len(templates)) for _ in range(complaints - len(picks))]
    fresh = set(range(len(templates)))
    placed = []
    for i in picks:
        placed.append((i, _place(templates[i], rng, i in fresh)))
        fresh.discard(i)
    placed.sort(key=lambda p: p[1].stream_id)
    conn = await asyncpg.connect(database_url)
    total = 0
    try:
        await ensure_table(conn, KpiFacts())
        batch: list[Record] = []
        for i, place in placed:
            batch.extend(_clone_facts(facts[i], place))
            if len(batch) >= COPY_BATCH:
                await conn.copy_records_to_table(
                    "kpi_facts", records=batch, columns=KpiFacts.columns
                )
                total, batch = total + len(batch), []
        if batch:
            await conn.copy_records_to_table("kpi_facts", records=batch, columns=KpiFacts.columns)
            total += len(batch)
        await conn.execute("VACUUM (ANALYZE) kpi_facts")
        rolled = time.perf_counter()
        await KpiFacts().table_filled(conn, "kpi_facts", database_url)
        rollup_seconds = time.perf_counter() - rolled
        await conn.execute("VACUUM (ANALYZE) kpi_facts_rollup")
        rollup_rows = await conn.fetchval("SELECT count(*) FROM kpi_facts_rollup")
    finally:
        await conn.close()
    return {
        "complaints": complaints,
        "kpi_facts_rows": total,
        "rollup_rows": rollup_rows,
        "rollup_seconds": round(rollup_seconds, 3),
        "templates": len(templates),
        "seconds": round(time.perf_counter() - started, 3),
    }

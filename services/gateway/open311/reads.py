"""GET requests, a request and a token: Open311 requests as tousu knows them.

Lists read the Open311 channel's cases from the metrics service's views (the
``case_view`` projection, with the description and place the complainant
gave), and add the Open311 fields the gateway keeps beside them. The
projection follows the store by a moment, so a single request it does not
have yet — one just posted — is read from the event store instead. Only
complaints filed through Open311 are shown: the spec's reads are public, and
other channels' complaints are not published.

Being public, they show what a case is (its status, service, agency, dates
and public id), never what the complainant wrote or where they are: the
description, the address, the position and the photo link the client sent
stay empty unless the operator opts in with ``TOUSU_OPEN311_PUBLIC_DETAILS``.
Contacts and names are never shown (a request record does not even hold
them). A file staff published is shown as ``media_url`` (open311/media.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from tousu.services.gateway.problems import Lang
from tousu.services.metrics.views import channel_cases
from tousu.shared.domain.state import replay
from tousu.shared.domain.status import Status
from tousu.shared.events import complaint_stream, decode
from tousu.shared.events import types as ev
from tousu.shared.events.types import Channel, DeadlineKind
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.intake.taxonomy import UnknownCode
from tousu.shared.intake.tracking_numbers import complaint_of
from tousu.shared.store import EventStore

# What Open311 calls closed: nothing more will be done (closed after the
# follow-up, rejected with a reason, merged into the case that is handled).
# Everything else, "fed back, follow-up due" included, is open: a
# dissatisfied follow-up can still send it back for re-handling.
CLOSED = frozenset({Status.CLOSED, Status.REJECTED, Status.MERGED})
MAX_REQUESTS = 1000  # the spec's suggested cap on one answer


@dataclass(frozen=True)
class RequestRecord:
    complaint_id: uuid.UUID
    tracking_no: str
    status: Status
    service_item: str | None
    department: str | None
    description: str | None
    location: str | None
    received_at: datetime | None
    updated_at: datetime | None
    acceptance_due_at: datetime | None
    feedback_due_at: datetime | None
    lat: float | None = None
    long: float | None = None
    address_id: str | None = None
    media_url: str | None = None

    @property
    def expected_at(self) -> datetime | None:
        """When the next answer is due: the acceptance decision, then the result."""
        if self.status == Status.RECEIVED:
            return self.acceptance_due_at
        if self.status in (Status.REJECTED, Status.MERGED):
            return None
        return self.feedback_due_at


def open311_status(status: Status) -> str:
    return "closed" if status in CLOSED else "open"


# Free text and places: empty in a public answer unless the operator opts in.
# GeoReport v2 lets every one of them be empty.
DETAIL_FIELDS = ("description", "address", "address_id", "lat", "long", "media_url")


def as_open311(
    record: RequestRecord,
    register: CommitmentRegister,
    lang: Lang,
    *,
    details: bool = False,
    media: str | None = None,
) -> dict[str, Any]:
    """The spec's request object; ``details`` (the operator's opt-in) adds the
    complainant's description, address, position and photo link; ``media``
    is the link to a file staff published, shown either way."""
    item = _item_name(register, record.service_item, lang)
    agency = _department_name(register, record.department, lang)
    shown: dict[str, Any] = {
        "service_request_id": record.tracking_no,
        "token": str(record.complaint_id),
        "status": open311_status(record.status),
        "status_notes": record.status.label(lang),
        "service_name": item,
        "service_code": record.service_item,
        "description": record.description,
        "agency_responsible": agency,
        "service_notice": None,
        "requested_datetime": record.received_at,
        "updated_datetime": record.updated_at,
        "expected_datetime": record.expected_at,
        "address": record.location,
        "address_id": record.address_id,
        "zipcode": None,
        "lat": record.lat,
        "long": record.long,
        "media_url": record.media_url,
    }
    if not details:
        shown |= dict.fromkeys(DETAIL_FIELDS)
    if media is not None:
        shown["media_url"] = media
    return shown


def _item_name(register: CommitmentRegister, code: str | None, lang: Lang) -> str | None:
    try:
        return register.item(code).name.get(lang) if code else None
    except UnknownCode:
        return None  # an item since dropped from the register


def _department_name(register: CommitmentRegister, code: str | None, lang: Lang) -> str | None:
    try:
        return register.department(code).name.get(lang) if code else None
    except UnknownCode:
        return code


@dataclass(frozen=True)
class RequestQuery:
    """GET requests' filters; ``tracking_nos`` overrides the others, as the spec says."""

    tracking_nos: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    closed: bool | None = None  # None: both


# The Open311 fields a request brings beyond a complaint's (the gateway's own table).
_EXTRA = "SELECT complaint_id, lat, long, address_id, media_url FROM open311_requests"


async def find_requests(db: asyncpg.Pool, query: RequestQuery) -> list[RequestRecord]:
    """Newest first, at most MAX_REQUESTS. Raises UndefinedTableError before
    the metrics service has made its projection."""
    rows = await channel_cases(
        db,
        Channel.OPEN311,
        tracking_nos=query.tracking_nos,
        service_items=query.service_codes,
        received_from=query.start,
        received_to=query.end,
        status_in=CLOSED if query.closed else None,
        status_not_in=CLOSED if query.closed is False else None,
        limit=MAX_REQUESTS,
    )
    found = await db.fetch(
        f"{_EXTRA} WHERE complaint_id = any($1::uuid[])", [r["complaint_id"] for r in rows]
    )
    extra = {e["complaint_id"]: e for e in found}
    return [
        RequestRecord(
            **{**dict(r), "status": Status(r["status"])},
            **_extra_fields(extra.get(r["complaint_id"])),
        )
        for r in rows
    ]


def _extra_fields(row: asyncpg.Record | None) -> dict[str, Any]:
    return {k: v for k, v in dict(row).items() if k != "complaint_id"} if row is not None else {}


async def find_request(
    db: asyncpg.Pool, store: EventStore, tracking_no: str
) -> RequestRecord | None:
    """The request, from the projection, else (not there yet) from the store."""
    try:
        found = await find_requests(db, RequestQuery(tracking_nos=(tracking_no,)))
    except asyncpg.UndefinedTableError:
        found = []
    if found:
        return found[0]
    complaint_id = await complaint_of(db, tracking_no)
    return await _from_store(db, store, complaint_id) if complaint_id is not None else None


async def _from_store(
    db: asyncpg.Pool, store: EventStore, complaint_id: uuid.UUID
) -> RequestRecord | None:
    history = await store.read_stream(complaint_stream(complaint_id))
    state = replay(history)
    if state.status is None or state.channel != Channel.OPEN311 or not state.tracking_no:
        return None
    received = decode(history[0])
    assert isinstance(received, ev.ComplaintReceived)
    extra = await db.fetchrow(f"{_EXTRA} WHERE complaint_id = $1", complaint_id)

    def due(kind: DeadlineKind) -> datetime | None:
        deadline = state.deadlines.get(kind)
        return deadline.due_at if deadline else None

    return RequestRecord(
        complaint_id=complaint_id,
        tracking_no=state.tracking_no,
        status=state.status,
        service_item=state.service_item,
        department=state.department,
        description=received.description,
        location=received.location,
        received_at=state.received_at,
        updated_at=history[-1].recorded_at,
        acceptance_due_at=due(DeadlineKind.ACCEPTANCE),
        feedback_due_at=due(DeadlineKind.FEEDBACK),
        **_extra_fields(extra),
    )


async def tracking_no_for_token(store: EventStore, token: str) -> str | None:
    """The service_request_id of an Open311 request's token (its complaint id)."""
    try:
        complaint_id = uuid.UUID(token)
    except ValueError:
        return None
    history = await store.read_stream(complaint_stream(complaint_id))
    if not history or history[0].type != "ComplaintReceived":
        return None
    received = decode(history[0])
    assert isinstance(received, ev.ComplaintReceived)
    if received.channel != Channel.OPEN311:
        return None
    return received.tracking_no


def split(values: Sequence[str]) -> tuple[str, ...]:
    """A comma list (the spec's way of giving several), repeated or not."""
    return tuple(p.strip() for v in values for p in v.split(",") if p.strip())

"""``complaint_terms``: one row per complaint — when it was received, the
department holding it, its service item, its place (normalised) and the terms
of its subject, description and demands — and beside it their counts per
week and month (``complaint_terms_counts``, :mod:`.terms_rollup`). The
hotspot counts (热点诉求, services/metrics/hotspots) read them.

Cheap per event: a complaint's row is rewritten on each of its events, as
every projection's is, but only its first event (ComplaintReceived) and an
acceptance are read, the data straight from the envelope, and its terms are
cut once per process and kept by the receipt's event id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from tousu.services.metrics.hotspots.terms import location_key, segmenter, without_place
from tousu.services.metrics.projections import terms_rollup
from tousu.services.metrics.projections.base import Projection, Row
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.events import Envelope
from tousu.shared.events.envelope import STREAM_PREFIX
from tousu.shared.store.postgres import Connection

# Terms cut lately, by the ComplaintReceived's event id: a complaint's later
# events rewrite its row without cutting its text again.
_CACHE_SIZE = 8192
_cut: dict[uuid.UUID, list[str]] = {}


def _terms(received: Envelope) -> list[str]:
    found = _cut.get(received.event_id)
    if found is None:
        data: dict[str, Any] = received.data
        found = segmenter().terms(data.get("subject"), data.get("description"), data.get("demands"))
        if len(_cut) >= _CACHE_SIZE:
            _cut.pop(next(iter(_cut)))  # the oldest entry
        _cut[received.event_id] = found
    return found


class ComplaintTerms(Projection):
    name = "complaint_terms"
    # Bump also when stopwords.yaml changes, so the terms are cut afresh.
    schema_version = 3
    columns = ("complaint_id", "received_at", "department", "service_item", "location", "terms")

    def create_sql(self, table: str) -> str:
        return f"""
CREATE TABLE {table} (
    complaint_id uuid        PRIMARY KEY,
    received_at  timestamptz NOT NULL,
    -- The department holding the case now (None before routing).
    department   text,
    service_item text,
    location     text,
    terms        text[]      NOT NULL
);
CREATE INDEX ON {table} (received_at);
CREATE INDEX ON {table} (location, received_at) WHERE location IS NOT NULL;
CREATE INDEX ON {table} (service_item, received_at) WHERE service_item IS NOT NULL;
CREATE INDEX ON {table} USING gin (terms);
{terms_rollup.create_sql(table)}"""

    # The counts per week and month are kept beside the rows (terms_rollup).
    def derived_tables(self, table: str) -> tuple[str, ...]:
        return (terms_rollup.counts_table(table),)

    async def rows_leaving(self, conn: Connection, table: str, ids: list[Any]) -> None:
        await terms_rollup.subtract(conn, table, ids)

    async def rows_written(self, conn: Connection, table: str, ids: list[Any]) -> None:
        await terms_rollup.add(conn, table, ids)

    async def table_filled(self, conn: Connection, table: str, dsn: str) -> None:
        await terms_rollup.add_all(conn, table)

    def rows(self, history: Sequence[Envelope], calendar: WorkdayCalendar) -> list[Row]:
        if not history or not history[0].stream_id.startswith(STREAM_PREFIX):
            return []
        received = history[0]
        if received.type != "ComplaintReceived":
            return []
        service_item = received.data.get("service_item")
        department: str | None = None
        for envelope in history:
            match envelope.type:
                case "ComplaintAccepted":
                    # The desk may name the item when accepting.
                    service_item = envelope.data.get("service_item") or service_item
                # The holder as the domain has it (shared/domain/state.py): an
                # envelope's own department may name the department a
                # returned case came from.
                case "ComplaintRouted":
                    department = envelope.data.get("department")
                case "CaseReturned":
                    department = None
        place = location_key(received.data.get("location"))
        return [
            (
                uuid.UUID(received.stream_id.removeprefix(STREAM_PREFIX)),
                received.occurred_at,
                department,
                service_item,
                place,
                without_place(_terms(received), place),
            )
        ]

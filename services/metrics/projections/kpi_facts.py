"""``kpi_facts``: each complaint's KPI facts, one row per period they held.

A row is valid from ``valid_from`` until the next row's ``valid_from``
(``valid_to`` NULL: still current), so the facts as of any instant T are the
rows with ``valid_from <= T < valid_to``, and the KPIs of docs/design.md,
"Metrics", as of T are an aggregate over them (:mod:`tousu.services.metrics.kpis`).
Whether a deadline has passed depends on T and is decided by the query, not
stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from tousu.services.metrics.kpi import fact_intervals
from tousu.services.metrics.projections import kpi_rollup
from tousu.services.metrics.projections.base import Projection, Row
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.events import Envelope
from tousu.shared.events.envelope import STREAM_PREFIX
from tousu.shared.store.postgres import Connection


class KpiFacts(Projection):
    name = "kpi_facts"
    # 2: the current rows' index covers the KPI query. 3: the rollup.
    # 4: late entries (补录). 5: files (cases with evidence). 6: imported.
    schema_version = 6
    columns = (
        "complaint_id",
        "valid_from",
        "valid_to",
        "received_at",
        "month",
        "channel",
        "category",
        "department",
        "handler",
        "acceptance_due",
        "decided_at",
        "accepted",
        "rejected",
        "accepted_at",
        "first_feedback_due",
        "current_feedback_due",
        "first_feedback_at",
        "round",
        "latest_round_fed_back",
        "reopened_after_feedback",
        "closed",
        "satisfaction",
        "reopen_count",
        "handling_working_days",
        "late_entries",
        "files",
        "imported",
    )

    def create_sql(self, table: str) -> str:
        return f"""
CREATE TABLE {table} (
    complaint_id            uuid        NOT NULL,
    valid_from              timestamptz NOT NULL,
    valid_to                timestamptz,
    received_at             timestamptz NOT NULL,
    month                   text        NOT NULL,
    channel                 text        NOT NULL,
    category                text,
    department              text,
    handler                 text,
    acceptance_due          timestamptz,
    decided_at              timestamptz,
    accepted                boolean     NOT NULL,
    rejected                boolean     NOT NULL,
    accepted_at             timestamptz,
    first_feedback_due      timestamptz,
    current_feedback_due    timestamptz,
    first_feedback_at       timestamptz,
    round                   integer     NOT NULL,
    latest_round_fed_back   boolean     NOT NULL,
    reopened_after_feedback boolean     NOT NULL,
    closed                  boolean     NOT NULL,
    satisfaction            text,
    reopen_count            integer     NOT NULL,
    handling_working_days   integer,
    late_entries            integer     NOT NULL,
    files                   integer     NOT NULL,
    imported                boolean     NOT NULL,
    PRIMARY KEY (complaint_id, valid_from)
);
-- "As of now" reads only the current rows, from this index alone: it holds
-- every column the KPI query reads, so a cohort is one range of the index
-- rather than a row on nearly every page of the table (a rebuild writes the
-- rows complaint by complaint, not in received_at order). "As of T" reads
-- the cohort's history.
CREATE INDEX ON {table} (received_at) INCLUDE (
    valid_from, month, channel, category, department, handler, acceptance_due, decided_at,
    accepted, rejected, first_feedback_due, current_feedback_due, first_feedback_at,
    latest_round_fed_back, reopened_after_feedback, closed, satisfaction, reopen_count,
    handling_working_days, late_entries, files, imported
) WHERE valid_to IS NULL;
CREATE INDEX ON {table} (received_at, valid_from);
CREATE INDEX ON {table} (valid_from);
{kpi_rollup.create_sql(table)}
"""

    def derived_tables(self, table: str) -> tuple[str, ...]:
        return (kpi_rollup.rollup_table(table),)

    async def rows_leaving(self, conn: Connection, table: str, ids: list[Any]) -> None:
        await kpi_rollup.subtract(conn, table, ids)

    async def rows_written(self, conn: Connection, table: str, ids: list[Any]) -> None:
        await kpi_rollup.add(conn, table, ids)

    async def table_filled(self, conn: Connection, table: str, dsn: str) -> None:
        await kpi_rollup.add_all(conn, table, dsn)

    def rows(self, history: Sequence[Envelope], calendar: WorkdayCalendar) -> list[Row]:
        if not history or not history[0].stream_id.startswith(STREAM_PREFIX):
            return []
        complaint_id = uuid.UUID(history[0].stream_id.removeprefix(STREAM_PREFIX))
        intervals = fact_intervals(history)
        rows: list[Row] = []
        for i, (begins, f) in enumerate(intervals):
            ends = intervals[i + 1][0] if i + 1 < len(intervals) else None
            handling = (
                calendar.working_days_between(f.accepted_at, f.first_feedback_at)
                if f.accepted_at is not None and f.first_feedback_at is not None
                else None
            )
            rows.append(
                (
                    complaint_id,
                    begins,
                    ends,
                    f.received_at,
                    f.month,
                    f.channel.value,
                    f.category,
                    f.department,
                    f.handler,
                    f.acceptance_due,
                    f.decided_at,
                    f.accepted,
                    f.rejected,
                    f.accepted_at,
                    f.first_feedback_due,
                    f.current_feedback_due,
                    f.first_feedback_at,
                    f.round,
                    f.latest_round_fed_back,
                    f.reopened_after_feedback,
                    f.closed,
                    f.satisfaction.value if f.satisfaction else None,
                    f.reopen_count,
                    handling,
                    f.late_entries,
                    f.files,
                    f.imported,
                )
            )
        return rows

"""What the recurring-problems analysis (热点诉求) costs, per 10,000 complaints,
beside what tousu already pays for the same complaints — in the same run,
the two interleaved round by round (ABBA), so that a busy machine weighs on
both alike.

1. The projection step: each complaint's whole history through
   ``complaint_terms`` (jieba segmentation with the user dictionary, the row
   and its counts written) against the same histories through ``kpi_facts``
   (the KPI projection step every complaint already takes, its rollup kept),
   both by ``replace_rows`` as a live step does, 500 complaints a
   transaction: into empty tables (``first``), then once more over the rows
   just written (``again``: what one more event of each complaint costs).
   CPU of this process (the Python work: folding, segmenting) and of its
   PostgreSQL backend (``/proc/<pid>/stat``: the writes), and wall time.
2. Segmentation alone against a plain whitespace split of the same texts.
3. The queries: the hotspot lists of a week and a month (every dimension,
   counted and ranked, with the cases of the top groups) against the KPI
   cards of a month (the total and by department) — per call, over these
   complaints.

The histories are bench/histories.py's (realistic lifecycles, about ten
events a complaint), loaded into a scratch database and read back once.

Run by `tousu bench hotspots` (20,000 complaints; `--quick`: 2,000).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from bench.histories import CALENDAR, fill
from bench.scratch import Scratch
from tousu.services.metrics.hotspots import terms as hotspot_terms
from tousu.services.metrics.hotspots.views import DIMENSIONS, HotspotRule, hotspots
from tousu.services.metrics.kpis import PgKpiSource
from tousu.services.metrics.projections import complaint_terms
from tousu.services.metrics.projections.apply import replace_rows
from tousu.services.metrics.projections.base import Projection
from tousu.services.metrics.projections.complaint_terms import ComplaintTerms
from tousu.services.metrics.projections.kpi_facts import KpiFacts
from tousu.services.metrics.projections.state import ensure_table
from tousu.shared.calendar import TZ
from tousu.shared.events import Envelope
from tousu.shared.store.postgres import (
    Connection,
    PostgresEventStore,
    scan_streams,
    snapshot_head,
)

PER = 10_000
HORIZON_TIMEOUT = 120.0
BATCH = 500
# The queries ask about December of the histories' year (bench/histories.py).
AT = datetime(2026, 12, 16, 15, 0, tzinfo=TZ)
_TICK = os.sysconf("SC_CLK_TCK")


def _backend_cpu(pid: int) -> float | None:
    """CPU seconds of a PostgreSQL backend on this machine; None if not readable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


class _Meter:
    """CPU of this process and of the pool's PostgreSQL backends, and wall time."""

    def __init__(self, backends: list[int]) -> None:
        self._backends = backends

    def _db(self) -> float | None:
        found = [_backend_cpu(pid) for pid in self._backends]
        return None if None in found else sum(f for f in found if f is not None)

    async def measure(self, work: Callable[[], Awaitable[None]]) -> dict[str, float | None]:
        db0, cpu0, wall0 = self._db(), time.process_time(), time.perf_counter()
        await work()
        wall, cpu, db = time.perf_counter() - wall0, time.process_time() - cpu0, None
        db1 = self._db()
        if db0 is not None and db1 is not None:
            db = db1 - db0
        return {"cpu_s": cpu, "db_cpu_s": db, "wall_s": wall}


def _median(runs: list[dict[str, float | None]], scale: float) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key in runs[0]:
        values = [v for r in runs if (v := r[key]) is not None]
        out[key] = round(statistics.median(values) * scale, 4) if values else None
    cpu, db = out["cpu_s"], out["db_cpu_s"]
    out["total_cpu_s"] = round((cpu or 0) + (db or 0), 4)
    return out


def _ratio(a: dict[str, float | None], b: dict[str, float | None], key: str) -> float | None:
    x, y = a.get(key), b.get(key)
    return round(x / y, 3) if x is not None and y else None


async def _histories(conn: Connection, events: int) -> list[list[Envelope]]:
    """Every loaded history, once all ``events`` are below the server's
    transaction horizon (a transaction open elsewhere on the server holds
    the freshly loaded ones back; see bench/projection_bench.py)."""
    deadline = time.monotonic() + HORIZON_TIMEOUT
    while True:
        out: list[list[Envelope]] = []
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            head = await snapshot_head(conn)
            if head is not None and head.count >= events:
                async for batch in scan_streams(conn, head):
                    out.extend(batch)
                return out
        if time.monotonic() > deadline:
            raise RuntimeError("a transaction open elsewhere keeps the loaded events out of reach")
        await asyncio.sleep(0.1)


async def _step(
    conn: Connection, projection: Projection, histories: Sequence[Sequence[Envelope]]
) -> None:
    """Every complaint's rows afresh, as live steps of BATCH complaints do."""
    complaint_terms._cut.clear()  # no terms cut in an earlier round
    for i in range(0, len(histories), BATCH):
        async with conn.transaction():
            await replace_rows(
                conn, projection, projection.name, histories[i : i + BATCH], CALENDAR
            )


async def _empty(conn: Connection, projection: Projection) -> None:
    for table in (projection.name, *projection.derived_tables(projection.name)):
        await conn.execute(f"TRUNCATE {table}")


async def run_hotspots_bench(space: Scratch, *, complaints: int, rounds: int) -> dict[str, Any]:
    generated = await fill(space.database_url, complaints=complaints)
    result: dict[str, Any] = {"generated": generated.as_dict(), "rounds": rounds}
    # The store's pool: its connections decode the events' JSON.
    store = await PostgresEventStore.connect(space.database_url, min_size=2, max_size=2)
    pool = store.pool
    try:
        async with pool.acquire() as one, pool.acquire() as two:
            # Every backend of the pool, whose CPU the meter reads.
            backends = [int(await c.fetchval("SELECT pg_backend_pid()")) for c in (one, two)]
        async with pool.acquire() as conn:
            histories = await _histories(conn, generated.events)
            n = len(histories)
            scale = PER / n
            terms, kpi = ComplaintTerms(), KpiFacts()
            for projection in (terms, kpi):
                await ensure_table(conn, projection)
            hotspot_terms.segmenter()  # built once per process, outside the measurement
            meter = _Meter(backends)

            # 1. The projection step, interleaved A B B A ...
            # "first": into empty tables (each complaint's first step); "again":
            # every complaint's rows rewritten once more with nothing changed,
            # what a further event of each complaint costs.
            runs: dict[tuple[str, str], list[dict[str, float | None]]] = {
                (name, phase): []
                for name in ("complaint_terms", "kpi_facts")
                for phase in ("first", "again")
            }
            for r in range(rounds):
                order = (terms, kpi) if r % 2 == 0 else (kpi, terms)
                for projection in order:
                    await _empty(conn, projection)
                    for phase in ("first", "again"):
                        runs[(projection.name, phase)].append(
                            await meter.measure(lambda p=projection: _step(conn, p, histories))  # type: ignore[misc]
                        )
            for phase in ("first", "again"):
                a = _median(runs[("complaint_terms", phase)], scale)
                b = _median(runs[("kpi_facts", phase)], scale)
                result[f"projection_step_per_10k_{phase}"] = {
                    "complaint_terms": a,
                    "kpi_facts": b,
                    "ratio_total_cpu": _ratio(a, b, "total_cpu_s"),
                    "ratio_wall": _ratio(a, b, "wall_s"),
                }

            # 2. Segmentation alone, against a whitespace split.
            texts = [
                (h[0].data.get("subject"), h[0].data.get("description"), h[0].data.get("demands"))
                for h in histories
                if h and h[0].type == "ComplaintReceived"
            ]
            seg = hotspot_terms.segmenter()
            cut: list[float] = []
            split: list[float] = []
            for r in range(rounds):
                for which in ("cut", "split") if r % 2 == 0 else ("split", "cut"):
                    began = time.process_time()
                    if which == "cut":
                        for t in texts:
                            seg.terms(*t)
                        cut.append(time.process_time() - began)
                    else:
                        for t in texts:
                            [w for part in t if part for w in part.split()]
                        split.append(time.process_time() - began)
            per_text = PER / len(texts)
            result["segmentation_per_10k"] = {
                "rjieba_cpu_s": round(statistics.median(cut) * per_text, 4),
                "whitespace_split_cpu_s": round(statistics.median(split) * per_text, 4),
                "ratio": round(statistics.median(cut) / statistics.median(split), 1),
            }

            # 3. The queries, over the tables just written.
            # (kpi_facts' rollup was kept by the last round's step.)
            await conn.execute("ANALYZE complaint_terms; ANALYZE kpi_facts")
            rule = HotspotRule()
            source = PgKpiSource(pool)
            month_start = datetime(2026, 12, 1, tzinfo=TZ)
            month_end = datetime(2027, 1, 1, tzinfo=TZ)

            async def lists() -> None:
                for period in ("week", "month"):
                    await hotspots(conn, period=period, at=AT, rule=rule, dimensions=DIMENSIONS)

            async def cards() -> None:
                for group_by in (None, "department"):
                    await source.kpis(start=month_start, end=month_end, as_of=AT, group_by=group_by)

            q: dict[str, list[dict[str, float | None]]] = {"hotspots": [], "kpi_cards": []}
            for r in range(rounds * 2):
                order2 = (("hotspots", lists), ("kpi_cards", cards))
                for name, work in order2 if r % 2 == 0 else order2[::-1]:
                    q[name].append(await meter.measure(work))
            qa, qb = _median(q["hotspots"], 1.0), _median(q["kpi_cards"], 1.0)
            result["queries_per_call"] = {
                "what": "hotspots: the week's and the month's lists (3 dimensions, top 5 each, "
                "their cases); kpi_cards: a month's total and by department",
                "complaints": n,
                "hotspots": qa,
                "kpi_cards": qb,
                "ratio_wall": _ratio(qa, qb, "wall_s"),
            }
    finally:
        await store.close()
    return result

"""An import run: rows in batches, each batch decided in memory and its
accepted rows appended in one transaction.

Per batch: the old ids the file repeats are refused (the first row with an id
is the record); rows whose complaint exists already (a second run, a run cut
short) are counted as already there; the rest get tracking numbers not yet
taken and are decided (records.py); the decided rows' events are appended,
one append per complaint, and their tracking numbers reserved, all in one
transaction. A batch is small (a few hundred rows) because readers of the
store wait for any open writing transaction (docs/architecture.md). A
tracking number taken meanwhile by a live registration, or a complaint a
concurrent run imported first, fails the transaction: the batch is then done
again from the start. One batch is written while the next is decided.
Nothing is published from here: the relay publishes what was appended, and
the services project it as any other history.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from itertools import islice

import asyncpg

from tousu.importer.records import Decided, Recorder, Refusal, complaint_id_of
from tousu.importer.rows import Row
from tousu.shared.events import complaint_stream, utcnow
from tousu.shared.intake.identifiers import new_tracking_no
from tousu.shared.intake.tracking_numbers import reserve, taken
from tousu.shared.store import ConcurrencyConflict
from tousu.shared.store.postgres import (
    Connection,
    PgUnitOfWork,
    PostgresEventStore,
    read_streams,
)

BATCH = 250
ATTEMPTS = 5


@dataclass
class Summary:
    read: int = 0
    imported: int = 0
    already: int = 0
    refused: list[Refusal] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def rows_per_second(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Prepared:
    size: int  # rows of the file in the batch, refused duplicates included
    rows: list[tuple[Row, str | None]]  # the rows with an old id not given before
    already: int = 0
    decided: list[Decided] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


class Importer:
    def __init__(
        self,
        store: PostgresEventStore,
        recorder: Recorder,
        *,
        dry_run: bool = False,
        batch: int = BATCH,
    ) -> None:
        self.store = store
        self.recorder = recorder
        self.dry_run = dry_run
        self.batch = batch
        self._first_row: dict[str, int] = {}  # old id -> the row that has it first

    async def run(
        self, rows: Iterable[Row], progress: Callable[[int], None] = lambda _n: None
    ) -> Summary:
        summary = Summary(dry_run=self.dry_run)
        started = time.perf_counter()
        # One batch is written while the next is decided: the decisions are
        # this process's work, the writes mostly PostgreSQL's.
        writing: tuple[asyncio.Task[None], _Prepared] | None = None
        for batch in _batches(rows, self.batch):
            prepared = await self._prepare(len(batch), self._unique(batch, summary))
            if writing is not None:
                await self._settle(*writing, summary, progress)
            writing = (asyncio.create_task(self._write(prepared.decided)), prepared)
        if writing is not None:
            await self._settle(*writing, summary, progress)
        summary.seconds = time.perf_counter() - started
        return summary

    def _unique(self, batch: list[Row], summary: Summary) -> list[tuple[Row, str | None]]:
        """The rows whose old id the file has not given before (a row without
        one goes on, to be refused with the others' reasons)."""
        out: list[tuple[Row, str | None]] = []
        for row in batch:
            old_id = self.recorder.old_id(row)
            if old_id is not None:
                first = self._first_row.setdefault(old_id, row.number)
                if first != row.number:
                    summary.refused.append(
                        Refusal(
                            row.number,
                            old_id,
                            "external_id",
                            f"the same old id as row {first}: each record once",
                        )
                    )
                    continue
            out.append((row, old_id))
        return out

    async def _settle(
        self,
        task: asyncio.Task[None],
        prepared: _Prepared,
        summary: Summary,
        progress: Callable[[int], None],
    ) -> None:
        try:
            await task
        except (asyncpg.UniqueViolationError, ConcurrencyConflict):
            prepared = await self._again(prepared)
        summary.read += prepared.size
        summary.imported += len(prepared.decided)
        summary.already += prepared.already
        summary.refused.extend(prepared.refused)
        progress(prepared.size)

    async def _again(self, prepared: _Prepared) -> _Prepared:
        """A batch whose write failed because a tracking number or a complaint
        was taken since we looked (a live registration, a concurrent run):
        looked at and decided afresh, then written, alone."""
        for attempt in range(ATTEMPTS):
            prepared = await self._prepare(prepared.size, prepared.rows)
            try:
                await self._write(prepared.decided)
            except (asyncpg.UniqueViolationError, ConcurrencyConflict):
                if attempt == ATTEMPTS - 1:
                    raise
                continue
            return prepared
        raise AssertionError("unreachable")

    async def _prepare(self, size: int, rows: list[tuple[Row, str | None]]) -> _Prepared:
        """The batch's rows not imported before, decided (in memory)."""
        source = self.recorder.source
        streams = {
            old_id: complaint_stream(complaint_id_of(source, old_id))
            for _, old_id in rows
            if old_id is not None
        }
        async with self.store.pool.acquire() as conn:
            histories = await read_streams(conn, list(streams.values()))
            fresh = [(r, o) for r, o in rows if o is None or not histories.get(streams[o])]
            numbers = await self._numbers(conn, [r for r, _ in fresh])
        prepared = _Prepared(size, rows, already=len(rows) - len(fresh))
        for (row, _), number in zip(fresh, numbers, strict=True):
            outcome = self.recorder.decide(row, number)
            if isinstance(outcome, Decided):
                prepared.decided.append(outcome)
            else:
                prepared.refused.append(outcome)
        return prepared

    async def _write(self, decided: list[Decided]) -> None:
        """The decided rows' events and tracking numbers, in one transaction."""
        if not decided or self.dry_run:
            return
        async with self.store.unit_of_work() as uow:
            for d in decided:
                stream = complaint_stream(d.complaint_id)
                stored = await uow.append(stream, 0, d.events)
                if stored[0].data.get("tracking_no") != d.tracking_no:
                    # The same events' ids, stored by a concurrent run of the
                    # same rows (the store answers a repeated append with
                    # what it holds): theirs stands, this batch goes again.
                    raise ConcurrencyConflict(stream, 0, len(stored))
            assert isinstance(uow, PgUnitOfWork)  # the reservation is SQL
            uow.defer(partial(reserve, pairs=[(d.tracking_no, d.complaint_id) for d in decided]))

    async def _numbers(self, conn: Connection, rows: list[Row]) -> list[str]:
        """An unused tracking number for each row, of the month it was received."""
        received = [self._received(row) for row in rows]
        numbers = [new_tracking_no(at) for at in received]
        while True:
            seen: set[str] = set()
            clash = await taken(conn, numbers)
            again = False
            for i, number in enumerate(numbers):
                if number in clash or number in seen:
                    numbers[i] = new_tracking_no(received[i])
                    again = True
                seen.add(numbers[i])
            if not again:
                return numbers

    def _received(self, row: Row) -> datetime:
        try:
            at = self.recorder.mapping.instant(row.values, "received_at")
        except ValueError:
            at = None  # refused when decided; any month will do meanwhile
        return at or utcnow()

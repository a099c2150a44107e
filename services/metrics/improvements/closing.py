"""``<root>.cmd.metrics.improvement-close``: load the item's stream, decide
the closing (shared/domain/improvements.py), append it and update its row in
one transaction. A concurrent closing makes the append refuse; the item is
read again and the second closing refused as closed already."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tousu.services.metrics.improvements import table
from tousu.shared.application.catalogue import METRICS
from tousu.shared.application.improvement_close import (
    CloseImprovementRequest,
    ImprovementClosed,
    close_admission,
)
from tousu.shared.application.replies import Request
from tousu.shared.domain.errors import NotFound
from tousu.shared.domain.improvements import decide_close, item_stream, replay
from tousu.shared.events.quality import ImprovementItemOpened
from tousu.shared.store import ConcurrencyConflict
from tousu.shared.store.postgres import PgUnitOfWork, PostgresEventStore

ATTEMPTS = 5


async def close(
    store: PostgresEventStore, asked: CloseImprovementRequest, now: Callable[[], datetime]
) -> ImprovementClosed:
    stream = item_stream(asked.item_id)
    command = asked.command
    for attempt in range(ATTEMPTS):
        try:
            async with store.unit_of_work() as uow:
                assert isinstance(uow, PgUnitOfWork)
                history = await uow.read_stream(stream)
                if not history:
                    raise NotFound("no such improvement item")
                opened = ImprovementItemOpened.model_validate(history[0].data)
                state = replay(history)
                if command.command_id is not None:
                    again = uuid.uuid5(command.command_id, "0")
                    if any(e.event_id == again and e.actor == command.actor for e in history):
                        return _result(asked.item_id, opened, state.version, repeated=True)
                new = decide_close(state, command, now())
                stored = await uow.append(stream, state.version, new)
                await table.record_closed(uow.connection, stored[0])
                return _result(asked.item_id, opened, stored[-1].version, repeated=False)
        except ConcurrencyConflict:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _result(
    item: uuid.UUID, opened: ImprovementItemOpened, version: int, *, repeated: bool
) -> ImprovementClosed:
    return ImprovementClosed(
        item_id=item,
        complaint_id=uuid.UUID(opened.complaint_id),
        department=opened.department,
        version=version,
        repeated=repeated,
    )


def request(
    store: PostgresEventStore, now: Callable[[], datetime]
) -> Request[CloseImprovementRequest]:
    async def handle(asked: CloseImprovementRequest) -> dict[str, Any]:
        return (await close(store, asked, now)).model_dump(mode="json")

    return Request(
        CloseImprovementRequest.model_validate,
        handle,
        failed="the improvement item could not be closed",
        title=METRICS.requests["improvement-close"].title,
        context=lambda asked: {"item_id": str(asked.item_id)},
        admit=close_admission,
    )

"""The departments with an active webhook, kept in followup's memory: read
again on the NOTIFY that adding or removing one sends; an event of a
department without one is acked with no transaction at all."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from nats.js import JetStreamContext

from tests.helpers import eventually, make_envelope
from tests.integration.test_consumer import publish, settled
from tousu.services.followup.webhooks import endpoints
from tousu.services.followup.webhooks.active import ActiveDepartments
from tousu.services.followup.webhooks.consumer import CONSUMER, webhooks_consumer
from tousu.shared.consumer import ConsumerHost
from tousu.shared.settings import Settings
from tousu.shared.store import UnitOfWork
from tousu.shared.store.postgres import PostgresEventStore


async def test_the_set_follows_add_and_remove(
    settings: Settings, store: PostgresEventStore
) -> None:
    active = ActiveDepartments()
    async with active.kept(store.pool, str(settings.database_url)):

        def reads(expected: frozenset[str]) -> Callable[[], bool]:
            return lambda: active.departments == expected

        await eventually(reads(frozenset()), "the first read")
        await endpoints.add(store.pool, "water", "http://127.0.0.1:9/hook")
        await eventually(reads(frozenset({"water"})), "water's webhook seen")
        await endpoints.remove(store.pool, "water")
        await eventually(reads(frozenset()), "water's webhook gone")


class Counting(PostgresEventStore):
    def __init__(self, store: PostgresEventStore) -> None:
        super().__init__(store.pool, store.dsn)
        self.opened = 0

    @contextlib.asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        self.opened += 1
        async with super().unit_of_work() as uow:
            yield uow


async def test_an_event_of_a_department_without_a_webhook_opens_no_transaction(
    settings: Settings, store: PostgresEventStore, js: JetStreamContext
) -> None:
    active = ActiveDepartments()
    active.departments = frozenset({"transport"})
    counting = Counting(store)
    routed = make_envelope("ComplaintRouted", {"department": "water", "rule_id": None})
    routed = routed.model_copy(update={"department": "water"})
    async with ConsumerHost(settings, [webhooks_consumer(active)], store=counting):
        await publish(js, settings, routed)

        async def acked() -> bool:
            return await settled(js, settings, CONSUMER, 1)

        await eventually(acked, "the event acked")
    assert counting.opened == 0

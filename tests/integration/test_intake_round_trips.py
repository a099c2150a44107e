"""What one submission costs PostgreSQL: intake registers a complaint in one
transaction, with nothing read before it. A complaint named by a fresh random
id has no stream to read; one named by its channel's ``external_ref`` (a
resend may name it again) is read inside the registration's transaction, and
a resend is answered there with the complaint it names, nothing written.

Every statement on the store's connections is logged (asyncpg's query
logger), with whether it ran inside a transaction: real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import pytest

from tests.integration.test_intake_registration import CHANNEL, RECEIVED, call, intake
from tousu.services.intake import endpoints
from tousu.shared.application.credentials import Kind, Principal
from tousu.shared.application.replies import answer
from tousu.shared.events import Actor
from tousu.shared.events.types import Channel, Complainant
from tousu.shared.intake.submission import Submission
from tousu.shared.settings import Settings
from tousu.shared.store import postgres
from tousu.shared.store.postgres import PostgresEventStore

PUBLIC = Actor(id="public", role="complainant")
_ENDS = ("BEGIN", "COMMIT", "ROLLBACK", "RESET", "SELECT pg_advisory_unlock_all", "CLOSE ALL")


class Statements:
    """Each statement run: its text, and whether a transaction was open."""

    def __init__(self) -> None:
        self.logged: list[tuple[str, bool]] = []
        self.on = False

    async def init(self, conn: asyncpg.Connection) -> None:
        await postgres._init_connection(conn)

        def log(query: Any) -> None:
            if self.on:
                self.logged.append((" ".join(query.query.split()), conn.is_in_transaction()))

        conn.add_query_logger(log)

    def outside(self) -> list[str]:
        """The statements that were a transaction of their own (autocommit)."""
        return [q for q, inside in self.logged if not inside and not q.upper().startswith(_ENDS)]

    def transactions(self) -> int:
        return sum(1 for q, _ in self.logged if q.upper().startswith("BEGIN"))


@pytest.fixture
async def statements(database_url: str) -> AsyncIterator[tuple[PostgresEventStore, Statements]]:
    seen = Statements()
    pool = await asyncpg.create_pool(
        database_url, min_size=1, max_size=2, init=seen.init, reset=postgres._keep_session
    )
    store = PostgresEventStore(pool, database_url)
    try:
        yield store, seen
    finally:
        await store.close()


def web(n: int) -> Submission:
    return Submission(
        channel=Channel.WEB,
        complainant=Complainant(phone=f"1390000{n:04d}"),
        subject="路灯不亮",
        description="小区门口的路灯坏了一周。",
        category="service_quality",
    )


def without_notify(queries: list[str]) -> list[str]:
    # The wake-up of the relay after a commit: shared by the commits made meanwhile.
    return [q for q in queries if "pg_notify" not in q and not q.startswith("NOTIFY")]


async def test_a_fresh_submission_is_one_transaction_and_nothing_read_before_it(
    statements: tuple[PostgresEventStore, Statements], settings: Settings
) -> None:
    store, seen = statements
    desk = intake(store, settings, group_commit=1)
    seen.on = True
    done = await desk.submit(web(1), PUBLIC, details=False)

    assert done.access_code and not done.repeated
    assert seen.transactions() == 1
    assert without_notify(seen.outside()) == [], seen.logged


async def test_a_resend_is_read_and_answered_inside_the_transaction(
    statements: tuple[PostgresEventStore, Statements], settings: Settings
) -> None:
    store, seen = statements
    desk = intake(store, settings, group_commit=1)
    seen.on = True
    first = await desk.submit(call(1, "call-7"), CHANNEL, details=False)
    again = await desk.submit(call(1, "call-7"), CHANNEL, details=False)

    assert not first.repeated and first.access_code
    assert again.repeated and again.access_code is None
    assert (again.complaint_id, again.tracking_no) == (first.complaint_id, first.tracking_no)
    assert seen.transactions() == 2
    assert without_notify(seen.outside()) == [], seen.logged
    seen.on = False
    assert await store.pool.fetchval("SELECT count(*) FROM tracking_numbers") == 1
    assert await store.pool.fetchval("SELECT count(*) FROM events") == len(
        await store.read_stream(f"complaint-{first.complaint_id}")
    )


async def test_a_resend_names_the_complaint_with_its_first_details(
    statements: tuple[PostgresEventStore, Statements], settings: Settings
) -> None:
    store, _ = statements
    desk = intake(store, settings)
    first = await desk.submit(call(2, "call-8"), CHANNEL, details=False)
    later: datetime = RECEIVED.replace(day=3)
    again = await desk.submit(
        call(2, "call-8").model_copy(update={"received_at": later}), CHANNEL, details=True
    )

    assert again.repeated and again.status == first.status
    assert again.acceptance_due == first.acceptance_due


async def test_a_request_without_details_skips_the_duplicate_search(
    statements: tuple[PostgresEventStore, Statements], settings: Settings
) -> None:
    store, seen = statements
    handler = endpoints.submit(intake(store, settings, group_commit=1))
    sender = Principal(Kind.TRUSTED, "gateway", 0)
    body = {"submission": web(5).model_dump(mode="json"), "actor": PUBLIC.model_dump(mode="json")}
    await answer(handler, body, sender)  # the same contact complained before
    seen.on = True

    plain = await answer(handler, {**body, "details": False}, sender)
    assert plain["ok"] and plain["result"]["duplicates"] == [], plain
    assert without_notify(seen.outside()) == [], seen.logged

    seen.logged.clear()
    shown = await answer(handler, body, sender)
    assert shown["ok"] and len(shown["result"]["duplicates"]) == 2, shown
    assert shown["result"]["suggestions"], shown
    assert without_notify(seen.outside()) != []  # the search

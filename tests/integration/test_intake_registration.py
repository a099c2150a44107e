"""Intake writes submissions that arrive together in shared transactions,
and a refused one (a tracking number drawn twice, a resend racing its
original) fails alone: real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest

from tousu.services.intake import intake as intake_module
from tousu.services.intake.intake import Intake, Submitted
from tousu.shared.application.context_source import ContextSource
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.calendar import TZ
from tousu.shared.events import Actor
from tousu.shared.events.types import Channel, Complainant
from tousu.shared.intake.identifiers import new_tracking_no
from tousu.shared.intake.submission import Submission
from tousu.shared.keys import access_code_key
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

RECEIVED = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
CHANNEL = Actor(id="channel:phone", role="system")


def intake(store: PostgresEventStore, settings: Settings, group_commit: int = 25) -> Intake:
    executor = CommandExecutor(store, ContextSource.for_settings(settings))
    return Intake(
        store,
        executor,
        access_code_key=access_code_key(settings),
        auto_accept=True,
        group_commit=group_commit,
    )


def call(n: int, ref: str | None = None) -> Submission:
    return Submission(
        channel=Channel.PHONE,
        external_ref=ref or f"call-{n}",
        received_at=RECEIVED,
        complainant=Complainant(phone=f"1390000{n:04d}"),
        subject="停水未通知",
        description="小区连续两天停水，供水公司未提前公告。",
        category="service_quality",
    )


async def submit_all(desk: Intake, submissions: list[Submission]) -> list[Submitted]:
    return list(
        await asyncio.gather(*(desk.submit(s, CHANNEL, details=False) for s in submissions))
    )


async def received_per_transaction(store: PostgresEventStore) -> list[int]:
    rows = await store.pool.fetch(
        "SELECT count(*) AS n FROM events WHERE type = 'ComplaintReceived' GROUP BY tx_id"
    )
    return sorted(int(r["n"]) for r in rows)


async def test_submissions_arriving_together_share_transactions(
    store: PostgresEventStore, settings: Settings
) -> None:
    done = await submit_all(intake(store, settings), [call(n) for n in range(12)])

    assert len({s.complaint_id for s in done}) == 12
    assert len({s.tracking_no for s in done}) == 12
    assert all(s.status == "accepted" and not s.repeated for s in done)
    per_transaction = await received_per_transaction(store)
    # At most four transactions at a time: the ones arriving while they run wait and share.
    assert sum(per_transaction) == 12 and max(per_transaction) > 1, per_transaction
    reserved = await store.pool.fetchval("SELECT count(*) FROM tracking_numbers")
    assert reserved == 12


async def test_a_tracking_number_drawn_twice_costs_only_its_own_submission_a_redraw(
    store: PostgresEventStore, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = intake(store, settings)
    [first] = await submit_all(desk, [call(99)])
    draws: list[str] = []

    def draw(at: datetime, *args: Any) -> str:
        # The fourth draw repeats a number already given out.
        number = first.tracking_no if len(draws) == 3 else new_tracking_no(at, *args)
        draws.append(number)
        return number

    monkeypatch.setattr(intake_module, "new_tracking_no", draw)
    done = await submit_all(desk, [call(n) for n in range(8)])

    assert len(draws) == 9  # one redraw, for the one that drew the taken number
    numbers = [s.tracking_no for s in done]
    assert first.tracking_no not in numbers and len(set(numbers)) == 8
    assert sum(await received_per_transaction(store)) == 9


async def test_a_resend_in_the_same_batch_as_its_original_is_answered_as_a_repeat(
    store: PostgresEventStore, settings: Settings
) -> None:
    done = await submit_all(intake(store, settings), [call(1), call(2, "same"), call(3, "same")])

    same = [s for s in done if s.complaint_id == done[1].complaint_id]
    assert len(same) == 2 and sorted(s.repeated for s in same) == [False, True]
    assert same[0].tracking_no == same[1].tracking_no
    assert sum(await received_per_transaction(store)) == 2


async def test_group_commit_of_one_is_a_transaction_per_submission(
    store: PostgresEventStore, settings: Settings
) -> None:
    await submit_all(intake(store, settings, group_commit=1), [call(n) for n in range(6)])

    assert await received_per_transaction(store) == [1] * 6

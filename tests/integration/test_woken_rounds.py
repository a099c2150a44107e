"""followup's dispatchers' loop (services/followup/woken_rounds.py): a LISTEN
connection that closes wakes it at once; it listens anew and runs a round.

Before, the loop only listened again after its idle timeout ran out: the
dispatchers looked at their tables every 5 s for the sake of that case alone,
and with a longer timeout a closed connection left them deaf until it ran out.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tests.helpers import eventually
from tousu.services.followup.woken_rounds import run_woken_rounds
from tousu.shared.tasks import cancel_and_wait

pytestmark = pytest.mark.timeout(60)

CHANNEL = "tousu_test_rounds"
NEVER = 3600.0  # an idle timeout beyond the test's patience: only wake-ups count


async def _listening(pool: asyncpg.Pool) -> int:
    return int(
        await pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE $1",
            f"LISTEN%{CHANNEL}%",
        )
    )


async def test_a_closed_listen_connection_wakes_the_loop_which_listens_again(
    database_url: str, pool: asyncpg.Pool
) -> None:
    rounds = 0

    async def round_() -> bool:
        nonlocal rounds
        rounds += 1
        return False

    async def idle_timeout() -> float:
        return NEVER

    loop = asyncio.create_task(
        run_woken_rounds(
            database_url=database_url,
            channel=CHANNEL,
            round_=round_,
            idle_timeout=idle_timeout,
            max_pause=0.1,
            failed="test round failed",
        )
    )
    try:
        await eventually(lambda: rounds >= 1, "the first round")

        async def listening() -> bool:
            return await _listening(pool) == 1

        await eventually(listening, "the loop to LISTEN")
        before = rounds
        await pool.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE $1",
            f"LISTEN%{CHANNEL}%",
        )
        # A round for what a NOTIFY lost meanwhile would have announced.
        await eventually(lambda: rounds > before, "a round after the connection closed")
        await eventually(listening, "the loop to LISTEN again")
        woken = rounds
        await pool.execute("SELECT pg_notify($1, '')", CHANNEL)
        await eventually(lambda: rounds > woken, "a round on the next NOTIFY")
    finally:
        await cancel_and_wait(loop)

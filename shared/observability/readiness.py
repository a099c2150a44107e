"""What ``/readyz`` asks: is each connection a process depends on usable now?"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import asyncpg

# Answers "ok", "degraded: <what>" (working, but an operator must look) or
# what is wrong.
Check = Callable[[], Awaitable[str]]
DEGRADED = "degraded"

CHECK_TIMEOUT = 2.0


def database_check(pool: asyncpg.Pool) -> Check:
    async def check() -> str:
        await pool.fetchval("SELECT 1")
        return "ok"

    return check


def nats_check(connected: Callable[[], bool]) -> Check:
    async def check() -> str:
        return "ok" if connected() else "error: not connected"

    return check


async def readiness(checks: Mapping[str, Check]) -> tuple[dict[str, Any], int]:
    """The body and status of ``/readyz``: 200 when no check says "error", else 503.

    A check may answer "degraded: ..." (the relay's quarantine holds events):
    the process works and stays ready, and ``status`` says "degraded" so that
    a probe or an operator sees it.
    """
    answers = await run_checks(checks)
    ready = all(answer == "ok" or answer.startswith(DEGRADED) for answer in answers.values())
    status = "unavailable" if not ready else "ok"
    if ready and any(answer != "ok" for answer in answers.values()):
        status = DEGRADED
    return {"ready": ready, "status": status, "checks": answers}, 200 if ready else 503


async def run_checks(checks: Mapping[str, Check]) -> dict[str, str]:
    """Each check's answer; an exception or a timeout is an error, not a crash."""

    async def one(check: Check) -> str:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                return await check()
        except Exception as exc:
            return f"error: {exc!r}"

    names = list(checks)
    answers = await asyncio.gather(*(one(checks[name]) for name in names))
    return dict(zip(names, answers, strict=True))

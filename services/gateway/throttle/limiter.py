"""Counting requests and failures per key, in this gateway process's memory.

In memory, so each gateway replica counts on its own: behind N replicas a
client gets up to N times each limit (still bounded, and a lockout holds on the
replica that counted it). Moving windows: no burst at a window's edge.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from tousu.services.gateway.throttle.config import (
    FAILURE_RULES,
    RULES,
    FailureRule,
    Rule,
)
from tousu.services.gateway.throttle.failures import Attempt, Clock, FailureWindow, Key
from tousu.shared.settings import RateSection, load_settings


class Throttle:
    def __init__(self, settings: RateSection | None = None, clock: Clock = time.time) -> None:
        settings = settings or load_settings().rate
        self.enabled = settings.limits
        self._items: dict[Rule, RateLimitItem] = {
            rule: parse(getattr(settings, rule)) for rule in RULES
        }
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        # The clock only moves the failure windows (tests pass one they move).
        self._failures: dict[FailureRule, FailureWindow] = {
            rule: FailureWindow(parse(getattr(settings, rule)), clock) for rule in FAILURE_RULES
        }

    async def hit(self, rule: Rule, key: str) -> int | None:
        """Count one; the seconds to wait (Retry-After) if over the limit, else None."""
        if not self.enabled:
            return None
        item = self._items[rule]
        if await self._limiter.hit(item, rule, key):
            return None
        return await self._retry_after(item, rule, key)

    def failure_blocked(self, rule: FailureRule, key: Key) -> int | None:
        """Seconds to wait (Retry-After) while ``key`` has used up its failures, else None."""
        return self._failures[rule].blocked(key) if self.enabled else None

    def attempt(self, counts: Sequence[tuple[FailureRule, Key]]) -> Attempt:
        """Count a failure under each of ``counts`` now, until the attempt succeeds."""
        if not self.enabled:
            return Attempt()
        windows = [(self._failures[rule], key) for rule, key in counts]
        return Attempt([(window, key, window.fail(key)) for window, key in windows])

    def forgive(self, rule: FailureRule, key: Key) -> None:
        """Forget ``key``'s failures (after a success)."""
        self._failures[rule].clear(key)

    async def _retry_after(self, item: RateLimitItem, rule: Rule, key: str) -> int:
        stats = await self._limiter.get_window_stats(item, rule, key)
        return max(1, math.ceil(stats.reset_time - time.time()))

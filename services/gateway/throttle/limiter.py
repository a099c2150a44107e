"""Counting requests and failures per key, in this gateway process's memory.

In memory, so each gateway replica counts on its own: behind N replicas a
client gets up to N times each limit (still bounded, and a lockout holds on the
replica that counted it). Moving windows: no burst at a window's edge.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from services.gateway.throttle.config import RULES, Rule, ThrottleSettings


class Throttle:
    def __init__(self, settings: ThrottleSettings | None = None) -> None:
        settings = settings or ThrottleSettings()
        self.enabled = settings.limits
        self._items: dict[Rule, RateLimitItem] = {
            rule: parse(getattr(settings, rule)) for rule in RULES
        }
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def hit(self, rule: Rule, key: str) -> int | None:
        """Count one; the seconds to wait (Retry-After) if over the limit, else None."""
        if not self.enabled:
            return None
        item = self._items[rule]
        if await self._limiter.hit(item, rule, key):
            return None
        return await self._retry_after(item, rule, key)

    async def blocked(self, rule: Rule, key: str) -> int | None:
        """Like :meth:`hit` without counting: has ``key`` used up ``rule`` already?"""
        if not self.enabled:
            return None
        item = self._items[rule]
        if await self._limiter.test(item, rule, key):
            return None
        return await self._retry_after(item, rule, key)

    async def clear(self, rule: Rule, key: str) -> None:
        if self.enabled:
            await self._limiter.clear(self._items[rule], rule, key)

    async def _retry_after(self, item: RateLimitItem, rule: Rule, key: str) -> int:
        stats = await self._limiter.get_window_stats(item, rule, key)
        return max(1, math.ceil(stats.reset_time - time.time()))

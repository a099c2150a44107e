"""Failure counts in moving windows, with the clock passed in.

The request limits use the ``limits`` library; failures (wrong codes, wrong
passwords) are counted here instead because a lockout's end is part of the
contract ("locked for at most a minute") and the tests must be able to move
the clock past it without waiting. ``limits`` reads ``time.time()`` itself.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from limits import RateLimitItem

Clock = Callable[[], float]
# A tracking number or username, or one with the client IP: (number, ip).
Key = str | tuple[str, ...]

# Keys kept before a sweep drops the ones whose failures have all expired:
# memory stays bounded by the failures of the last window. The next sweep
# waits until the keys have doubled again, so sweeps cost O(1) a failure
# even while many keys are live.
_SWEEP_AT = 10_000


class FailureWindow:
    """At most ``item.amount`` failures per key within ``item.get_expiry()`` seconds."""

    def __init__(self, item: RateLimitItem, clock: Clock = time.time) -> None:
        self.amount = item.amount
        self.window = float(item.get_expiry())
        self._clock = clock
        self._failures: dict[Key, deque[float]] = {}
        self._sweep_at = _SWEEP_AT

    def _recent(self, key: Key, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def blocked(self, key: Key) -> int | None:
        """Seconds until ``key`` may try again (Retry-After), or None if it may now."""
        now = self._clock()
        times = self._recent(key, now)
        if times is None or len(times) < self.amount:
            return None
        # Free again when the oldest failure that still counts leaves the window.
        oldest = times[len(times) - self.amount]
        return max(1, math.ceil(oldest + self.window - now))

    def fail(self, key: Key) -> float:
        """Count a failure of ``key`` now; its time, to :meth:`retract` it by."""
        now = self._clock()
        if len(self._failures) >= self._sweep_at:
            for stale in list(self._failures):
                self._recent(stale, now)
            self._sweep_at = max(_SWEEP_AT, 2 * len(self._failures))
        times = self._recent(key, now) or self._failures.setdefault(key, deque())
        times.append(now)
        # Failures beyond the limit add nothing: the key is blocked either way.
        while len(times) > self.amount:
            times.popleft()
        return now

    def retract(self, key: Key, stamp: float) -> None:
        """Take back one failure counted at ``stamp`` (an attempt that succeeded)."""
        times = self._failures.get(key)
        if times is not None and stamp in times:
            times.remove(stamp)

    def clear(self, key: Key) -> None:
        self._failures.pop(key, None)


@dataclass
class Attempt:
    """An attempt counted as a failure before its outcome is known.

    Counted at once, in the same step as the check that let it through (no
    await between them), so concurrent guesses cannot all pass the check
    before any of them is counted; :meth:`succeeded` takes it back.
    """

    counted: list[tuple[FailureWindow, Key, float]] = field(default_factory=list)

    def succeeded(self) -> None:
        for window, key, stamp in self.counted:
            window.retract(key, stamp)
        self.counted.clear()

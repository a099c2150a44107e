"""How often a failing handler is tried, and how long to wait between tries."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from tousu.shared.settings import Settings


@dataclass(frozen=True)
class RetryPolicy:
    """``max_deliver`` counts every delivery, the first one included.

    ``conflict_retries`` is separate: a ConcurrencyConflict means another writer
    got in first, so calling the handler again at once (it reloads and decides
    anew) is the fix, and those in-place tries do not use up deliveries.
    """

    max_deliver: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    conflict_retries: int = 3

    @classmethod
    def from_settings(cls, settings: Settings, *, conflict_retries: int = 3) -> RetryPolicy:
        return cls(
            max_deliver=settings.consumer_max_deliver,
            backoff_base=settings.consumer_backoff_base,
            backoff_max=settings.consumer_backoff_max,
            conflict_retries=conflict_retries,
        )

    def should_retry(self, deliveries: int) -> bool:
        return deliveries < self.max_deliver

    def gives_up(self, error: BaseException, deliveries: int) -> bool:
        """True when delivery number ``deliveries``, failed with ``error``, is
        the last: dead-letter it. An outage never is (see :func:`is_outage`)."""
        return not is_outage(error) and not self.should_retry(deliveries)

    def backoff(self, deliveries: int) -> float:
        """Delay before the next delivery after delivery number ``deliveries`` failed."""
        exponent = max(deliveries - 1, 0)
        # Cap the exponent too, so a huge delivery count cannot overflow the float.
        return float(min(self.backoff_base * 2 ** min(exponent, 62), self.backoff_max))


# The database or the network is away, not the message at fault: asyncpg's
# connection errors, a server shut down under us, a socket error, a timeout.
_OUTAGES: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
)


def is_outage(exc: BaseException) -> bool:
    """True when retrying later is the cure, however often it failed: such a
    failure must not use up the deliveries that lead to the dead-letter queue,
    or a database outage longer than the back-off would dead-letter good events."""
    return isinstance(exc, _OUTAGES)

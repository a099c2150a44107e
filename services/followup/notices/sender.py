"""The interface every channel's sender implements."""

from __future__ import annotations

from typing import Protocol

from tousu.services.followup.notices.model import Notification


class SendError(Exception):
    """A notice could not be sent.

    ``retryable``: the same send may succeed later (a server down, a full
    mailbox, a 4xx reply); otherwise it never will (a refused address, a 5xx
    reply) and the notice is dead at once.
    """

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class Sender(Protocol):
    async def send(self, n: Notification) -> str:
        """Deliver ``n``; return the provider's id of the message.

        Raise :class:`SendError` on failure. May be called again for a notice
        it already sent (after a crash before the outcome was recorded), so a
        sender that can be idempotent should be.
        """
        ...

"""SMS notices as free text: the sender that logs them, and the base of a free-text gateway.

A gateway that takes any text subclasses :class:`SmsSender` and implements
:meth:`deliver`. China's providers send approved templates only: that is
:class:`~tousu.services.followup.notices.sms_gateway.HttpSmsSender`
(``TOUSU_SMS_PROVIDER``); until one is configured :class:`LoggingSmsSender`
writes each SMS to the log.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from tousu.services.followup.notices.model import Notification
from tousu.services.followup.notices.sender import SendError
from tousu.shared.logs import get_logger


def sms_text(n: Notification, organisation: str) -> str:
    # China's SMS rules want the sender's signature in 【】 at the start.
    return f"【{organisation}】{n.title}：{n.body}"


def masked(phone: str) -> str:
    """A phone number fit for a log line: 138****5678."""
    digits = phone.strip()
    return digits[:3] + "*" * max(len(digits) - 7, 0) + digits[-4:] if len(digits) > 7 else "***"


class SmsSender(ABC):
    def __init__(self, organisation: str = "投诉受理中心") -> None:
        self.organisation = organisation

    async def send(self, n: Notification) -> str:
        if not n.recipient:
            raise SendError("an SMS notice needs a phone number", retryable=False)
        # Addressed by name, the access code in its slot (both kept sealed).
        text = sms_text(n.sendable(), self.organisation)
        return await self.deliver(n.recipient.strip(), text, str(n.id))

    @abstractmethod
    async def deliver(self, phone: str, text: str, reference: str) -> str:
        """Hand one SMS to the gateway; return the gateway's message id.

        ``reference`` is the same for every try of one notice: pass it to a
        gateway that deduplicates by a client reference.
        """


class LoggingSmsSender(SmsSender):
    """Stands in for a gateway: the SMS goes to the log, not to a phone."""

    def __init__(self, organisation: str = "投诉受理中心", log: Any = None) -> None:
        super().__init__(organisation)
        self._log = log or get_logger("tousu.notify.sms")

    async def send(self, n: Notification) -> str:
        if not n.recipient:
            raise SendError("an SMS notice needs a phone number", retryable=False)
        # The text as stored, not as sent: no name, no access code in a log.
        return await self.deliver(n.recipient.strip(), sms_text(n, self.organisation), str(n.id))

    async def deliver(self, phone: str, text: str, reference: str) -> str:
        self._log.info("sms (logged, not sent)", phone=masked(phone), text=text, ref=reference)
        return f"sms-log:{reference}"

"""Subject and stream names, all derived from one configurable root.

With the default root ``tousu`` these are exactly the names of docs/design.md,
"Subjects and streams" (``tousu.events.<dept|_>.<EventType>`` in stream
``TOUSU_EVENTS``); a test run picks its own root and so gets subjects and
streams no other run sees.

A department code comes from stored data, so it may be anything (a space, a
dot, Chinese). :func:`department_token` maps it to a token that is always
valid: a code that already is one is kept as it is, any other becomes
``X-`` and a hash of it. The relay's subjects, the department subscriptions
and ``tousu nats-config``'s permissions all derive the token here, so a
department still receives its events whatever its code looks like.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

NO_DEPARTMENT = "_"
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
# Register codes start with a lowercase letter and hold no hyphen, so a derived
# token never equals a department's own code.
DERIVED_PREFIX = "X-"
_DERIVED_HEX = 24  # 96 bits of SHA-256: no two codes share a token by chance


def is_token(value: str) -> bool:
    """Whether ``value`` may stand as one subject token as it is."""
    # fullmatch: "$" would let a trailing line break through.
    return _TOKEN.fullmatch(value) is not None


def _token(value: str, what: str) -> str:
    if not is_token(value):
        raise ValueError(f"{what} {value!r} is not a valid subject token")
    return value


def department_token(department: str) -> str:
    """The subject token of a department code; the same code, the same token."""
    if is_token(department):
        return department
    digest = hashlib.sha256(department.encode("utf-8", "surrogatepass")).hexdigest()
    return DERIVED_PREFIX + digest[:_DERIVED_HEX]


@dataclass(frozen=True)
class Naming:
    root: str

    @property
    def _stream_prefix(self) -> str:
        return re.sub(r"[^A-Z0-9_]", "_", self.root.upper())

    # -- streams -----------------------------------------------------------
    @property
    def events_stream(self) -> str:
        return f"{self._stream_prefix}_EVENTS"

    @property
    def intake_stream(self) -> str:
        return f"{self._stream_prefix}_INTAKE"

    @property
    def dlq_stream(self) -> str:
        return f"{self._stream_prefix}_DLQ"

    # -- subjects ----------------------------------------------------------
    def event(self, department: str | None, event_type: str) -> str:
        # Event types are fixed names, not data: one that is not a token is no
        # event tousu knows, and the relay sets it aside (ValueError).
        dept = department_token(department) if department else NO_DEPARTMENT
        return f"{self.root}.events.{dept}.{_token(event_type, 'event type')}"

    @property
    def all_events(self) -> str:
        return f"{self.root}.events.>"

    def department_events(self, department: str) -> str:
        return f"{self.root}.events.{department_token(department)}.>"

    def intake(self, channel: str) -> str:
        return f"{self.root}.intake.{_token(channel, 'channel')}"

    @property
    def all_intake(self) -> str:
        return f"{self.root}.intake.>"

    def command(self, service: str, command: str) -> str:
        return f"{self.root}.cmd.{_token(service, 'service')}.{_token(command, 'command')}"

    def dlq(self, consumer: str) -> str:
        return f"{self.root}.dlq.{_token(consumer, 'consumer')}"

    def dlq_retry(self, consumer: str) -> str:
        return f"{self.root}.dlq-retry.{_token(consumer, 'consumer')}"

    @property
    def all_dlq(self) -> list[str]:
        return [f"{self.root}.dlq.>", f"{self.root}.dlq-retry.>"]

"""Subject and stream names, all derived from one configurable root.

With the default root ``tousu`` these are exactly DESIGN's names
(``tousu.events.<dept|_>.<EventType>`` in stream ``TOUSU_EVENTS``); a test run
picks its own root and so gets subjects and streams no other run sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NO_DEPARTMENT = "_"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


def _token(value: str, what: str) -> str:
    if not _TOKEN.match(value):
        raise ValueError(f"{what} {value!r} is not a valid subject token")
    return value


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
        dept = _token(department, "department") if department else NO_DEPARTMENT
        return f"{self.root}.events.{dept}.{_token(event_type, 'event type')}"

    @property
    def all_events(self) -> str:
        return f"{self.root}.events.>"

    def department_events(self, department: str) -> str:
        return f"{self.root}.events.{_token(department, 'department')}.>"

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

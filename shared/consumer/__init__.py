"""Consumers of stored events: exactly-once effect, retries, dead letters.

Services declare :class:`Consumer` objects and run them with
:class:`ConsumerHost` (or :func:`build_app`); ``tousu.shared.dlq`` reads and replays
what ended in the dead-letter stream. Messages that are not stored events
(channel submissions) come in through an ``inputs.Input``; every message, of
either kind, is settled by ``settle.Settler``.
"""

from tousu.shared.consumer.consumer import Consumer, Handler
from tousu.shared.consumer.dead_letter import DeadLetters
from tousu.shared.consumer.host import ConsumerHost, build_app
from tousu.shared.consumer.policy import RetryPolicy
from tousu.shared.consumer.processor import (
    MalformedMessage,
    MessageProcessor,
    Outcome,
    parse_envelope,
)

__all__ = [
    "Consumer",
    "ConsumerHost",
    "DeadLetters",
    "Handler",
    "MalformedMessage",
    "MessageProcessor",
    "Outcome",
    "RetryPolicy",
    "build_app",
    "parse_envelope",
]

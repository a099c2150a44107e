"""The logger FastStream's brokers and apps write to.

FastStream's default loggers have handlers of their own that write coloured
text (ANSI escapes) and do not propagate, so their lines bypassed
:func:`tousu.shared.logs.configure_logging` and landed as terminal colour codes in
the JSON logs. Every broker and app is given :func:`broker_logger` instead: a
plain stdlib logger that propagates to the root handler (JSON or console, as
configured, redacted like every other line).

Its filter drops two kinds of line an idle service wrote all the time:

- nats-py ends an idle pull ``fetch`` with the builtin ``TimeoutError`` when
  its deadline runs out between two requests, while FastStream's fetch loop
  suppresses only ``nats.errors.TimeoutError``; the loop's task dies and
  FastStream's supervisor restarts it, logging an ERROR with a traceback. Only
  a timeout raised inside nats-py's fetch is dropped: nothing was lost, the
  loop fetches again.
- the supervisor's "callback for Task-N is being executed..." line, written
  whenever a subscriber task ends (at every such restart and at shutdown).
"""

from __future__ import annotations

import logging
from types import TracebackType

LOGGER_NAME = "tousu.faststream"
# nats-py's functions that end an idle fetch with the builtin TimeoutError.
_FETCH_FUNCTIONS = frozenset({"fetch", "_fetch_one", "_fetch_n"})


def _raised_by_fetch(tb: TracebackType | None) -> bool:
    last = None
    while tb is not None:
        last, tb = tb, tb.tb_next
    if last is None:
        return False
    code = last.tb_frame.f_code
    return code.co_name in _FETCH_FUNCTIONS and "nats" in code.co_filename


def idle_fetch_timeout(record: logging.LogRecord) -> bool:
    """Whether ``record`` reports a pull fetch that ended without messages."""
    exc = record.exc_info[1] if record.exc_info else None
    return isinstance(exc, TimeoutError) and _raised_by_fetch(exc.__traceback__)


class IdleNoise(logging.Filter):
    """Drops the lines an idle subscriber causes (see the module's docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if idle_fetch_timeout(record):
            return False
        message = record.getMessage()
        return not (
            message.startswith("callback for ") and message.endswith(" is being executed...")
        )


def broker_logger() -> logging.Logger:
    """The logger to pass as ``logger=`` to every ``NatsBroker`` and ``FastStream``."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(f, IdleNoise) for f in logger.filters):
        logger.addFilter(IdleNoise())
    return logger

"""structlog setup: JSON when not on a terminal, context bound on every line."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any

import structlog
from structlog.contextvars import bind_contextvars, bound_contextvars

__all__ = [
    "REDACTED",
    "REDACTED_FIELDS",
    "REDACTED_QUERY_PARAMS",
    "bind_contextvars",
    "bound_contextvars",
    "configure_logging",
    "get_logger",
    "redact",
    "redact_text",
    "scrub_contacts",
]

REDACTED = "[redacted]"
# Query parameters whose values never reach a log line: access codes, search
# terms (staff search by phone number or name), contact details and secrets a
# client may put in a URL. uvicorn's access log writes the whole URL, so the
# values are cut out of every line's text, whichever logger wrote it.
REDACTED_QUERY_PARAMS = (
    "code",
    "access_code",
    "q",
    "query",
    "search",
    "phone",
    "email",
    "name",
    "first_name",
    "last_name",
    "address",
    "address_string",
    "description",
    "id_number",
    "api_key",
    "token",
    "password",
)
# Keys of a structlog line whose values are personal data or secrets.
REDACTED_FIELDS = frozenset(
    {
        "access_code",
        "q",
        "query",
        "search",
        "phone",
        "email",
        "recipient",
        "recipient_name",
        "id_number",
        "address",
        "openid",
        "wechat_openid",
        "api_key",
        "password",
        "token",
        # A channel's or department's Tousu-Credential, a webhook's signing secret.
        "credential",
        "secret",
    }
)
_QUERY_VALUE = re.compile(
    r"(?P<key>(?:^|[?&;\s\"'])(?:" + "|".join(REDACTED_QUERY_PARAMS) + r")=)[^&;\s\"']*",
    re.IGNORECASE,
)


def configure_logging(service: str, level: str = "INFO", fmt: str = "auto") -> None:
    """Configure structlog and route stdlib logging (faststream, uvicorn) through it.

    ``service`` is bound for the whole process; handlers bind ``correlation_id``
    and ``event_id`` with :func:`bound_contextvars` around each message.
    """
    as_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        redact,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if as_json
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        # Below the level, a call stops at the first processor: no context
        # merged, nothing redacted or stamped for a line never written (a
        # debug line per handled event costs next to nothing at INFO).
        processors=[
            structlog.stdlib.filter_by_level,
            *shared_processors,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if as_json else _identity,
            # Again, now that a traceback is text: an exception's message may
            # quote its input (pydantic does).
            redact,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    structlog.contextvars.clear_contextvars()
    bind_contextvars(service=service)


# Contact details inside free text (an SMTP server's refusal quotes the
# address; an exception may quote a phone number): e-mail addresses and
# mainland mobile numbers standing alone (not inside an id or a longer number).
# The last label starts with a letter: `user@127.0.0.1` in a server's URL is
# no e-mail address.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z][\w-]*")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86[ -]?)?1[3-9]\d{9}(?![0-9A-Za-z])")


def scrub_contacts(text: str) -> str:
    """``text`` without e-mail addresses and mobile numbers."""
    if "@" in text:
        text = _EMAIL.sub(REDACTED, text)
    return _MOBILE.sub(REDACTED, text)


def redact_text(text: str) -> str:
    """``text`` with the values of :data:`REDACTED_QUERY_PARAMS` cut out of
    any query string in it (``?code=AB12CD34`` → ``?code=[redacted]``), and
    without contact details (:func:`scrub_contacts`)."""
    if "=" in text:
        text = _QUERY_VALUE.sub(lambda m: m["key"] + REDACTED, text)
    return scrub_contacts(text)


def redact(_: Any, __: str, event_dict: Mapping[str, Any]) -> dict[str, Any]:
    """structlog processor: no access code, search term or contact detail in a line.

    Runs on structlog's own lines and on stdlib ones (uvicorn's access log,
    whose message is already formatted with the request's full URL).
    """
    return {
        key: REDACTED
        if key in REDACTED_FIELDS and value is not None and not _masked(value)
        else redact_text(value)
        if isinstance(value, str)
        else redact_text(value.decode("utf-8", "replace"))
        if isinstance(value, bytes)
        else value
        for key, value in event_dict.items()
    }


def _masked(value: object) -> bool:
    # Already masked for a log line (138****5678): kept, it names no one.
    return isinstance(value, str) and "****" in value


def _identity(_: Any, __: str, event_dict: Any) -> Any:
    return event_dict


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)

"""The value types every entry point shares: text free of control characters
and instants inside the calendar's range.

Both are ``Annotated`` types, so one definition serves the domain's commands,
the channel submissions built on them and the gateway bodies generated from
them: a refused value is a pydantic error at the field that carries it (422
naming the field over HTTP, ``validation_error`` naming it over NATS).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, StringConstraints
from pydantic_core import PydanticCustomError

from tousu.shared.calendar import FIRST_INSTANT, FIRST_YEAR, LAST_YEAR, UNTIL_INSTANT

# C0 controls except tab, line feed and carriage return (a browser sends a
# textarea's line breaks as CR LF), DEL, the C1 controls, and lone surrogates
# (not text at all: PostgreSQL and UTF-8 encoders refuse them, and NUL is
# refused by jsonb, which is how a NUL once ended as a 503).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

CONTROL_CHARACTER = "control_character"
INSTANT_OUT_OF_RANGE = "instant_out_of_range"


def control_character(text: str) -> str | None:
    """Why ``text`` is refused (its first control character), or None when clean."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    return (
        f"contains the control character U+{ord(found.group()):04X} at position "
        f"{found.start()}; only tab and line breaks are allowed"
    )


def clean_text(text: str) -> str:
    """``text`` itself, or a ``control_character`` error naming the character."""
    problem = control_character(text)
    if problem is not None:
        raise PydanticCustomError(CONTROL_CHARACTER, problem)
    return text


def instant_problem(instant: datetime) -> str | None:
    """Why ``instant`` (aware) is out of range, or None when it is inside."""
    if instant < FIRST_INSTANT:
        return f"is before {FIRST_YEAR}, the first year of the working-day calendar"
    if instant >= UNTIL_INSTANT:
        return f"is after {LAST_YEAR}, the last year of the working-day calendar"
    return None


def bounded_instant(instant: datetime) -> datetime:
    """``instant`` itself, or an ``instant_out_of_range`` error."""
    problem = instant_problem(instant)
    if problem is not None:
        raise PydanticCustomError(INSTANT_OUT_OF_RANGE, problem)
    return instant


def bounded_month(month: str) -> str:
    """``month`` (``YYYY-MM``, pattern checked before) itself, or an
    ``instant_out_of_range`` error when its year is outside the calendar's."""
    year = int(month[:4])
    problem = None
    if year < FIRST_YEAR:
        problem = f"is before {FIRST_YEAR}, the first year of the working-day calendar"
    elif year > LAST_YEAR:
        problem = f"is after {LAST_YEAR}, the last year of the working-day calendar"
    if problem is not None:
        raise PydanticCustomError(INSTANT_OUT_OF_RANGE, problem)
    return month


Text = Annotated[str, AfterValidator(clean_text)]
"""Free text or an identifier typed by someone: control characters refused."""

Instant = Annotated[AwareDatetime, AfterValidator(bounded_instant)]
"""An aware instant inside the calendar's years: nothing before the first year
a deadline can be counted in, nothing absurdly far ahead."""

Month = Annotated[
    str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$"), AfterValidator(bounded_month)
]
"""A month, ``YYYY-MM``, inside the calendar's years (a period of the
supervision office's inspections)."""

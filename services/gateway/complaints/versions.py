"""Optimistic concurrency over HTTP: a case's version as its ETag, If-Match on actions.

A client that read the case at version 7 sends ``If-Match: "7"``; if anyone
acted on the case since, the service refuses with 409 ``stale_version`` and the
current state and version, instead of acting on a state the person never saw.
Without If-Match an action applies to whatever the case is by then (and is
refused with 409 only when that state does not allow it).
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Header

from tousu.services.gateway.problems import BadRequest, Text

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=40,
        description='The case\'s version as last read (its ETag, e.g. `"7"`): the action is '
        "refused with 409 `stale_version` if the case has changed since.",
    ),
]

_ETAG = re.compile(r'\s*(?:W/)?"?(\d{1,9})"?\s*')
BAD_IF_MATCH = Text(
    'If-Match 应为投诉的版本号，例如 "7"',
    'If-Match must be the case\'s version, e.g. "7"',
)


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None) -> int | None:
    """The version an If-Match header names; None when absent or ``*`` (any version)."""
    if if_match is None or if_match.strip() == "*":
        return None
    found = _ETAG.fullmatch(if_match)
    if found is None:
        raise BadRequest(BAD_IF_MATCH, code="bad_if_match")
    return int(found.group(1))

"""A channel submission off NATS, checked before anything else: small enough,
UTF-8 text, JSON, a submission (as the model and the published schema read
it) of the channel it was sent on. What fails is
refused with a reason a person reading ``tousu dlq list`` can act on."""

from __future__ import annotations

import json

from pydantic import ValidationError

from tousu.shared.application import schemas
from tousu.shared.intake.submission import Submission

# How many field problems a reason names; the rest are counted.
SHOWN_PROBLEMS = 5


class RefusedSubmission(ValueError):
    """The payload can never become a complaint: dead-letter it at once."""


def parse_submission(data: bytes, channel: str, max_bytes: int) -> Submission:
    if len(data) > max_bytes:
        raise RefusedSubmission(
            f"submission too large: {len(data):,} bytes, the limit is {max_bytes:,}"
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RefusedSubmission(
            f"submission is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    try:
        submission = Submission.model_validate_json(data)
    except ValidationError as exc:
        raise RefusedSubmission(_reason(exc)) from None
    # What the model reads leniently ("yes" for a boolean) the published schema refuses.
    if problems := schemas.violations(schemas.SUBMISSION, json.loads(data)):
        shown = [f"{field or 'payload'}: {why}" for field, why in problems[:SHOWN_PROBLEMS]]
        raise RefusedSubmission(f"not a valid submission ({'; '.join(shown)})")
    if submission.channel.value != channel:
        raise RefusedSubmission(
            f"submitted on channel {channel} but names channel {submission.channel.value}"
        )
    return submission


def _reason(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return f"submission is not valid JSON ({errors[0]['msg']})"
    problems = [
        f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}" for e in errors[:SHOWN_PROBLEMS]
    ]
    more = len(errors) - SHOWN_PROBLEMS
    if more > 0:
        problems.append(f"and {more} more")
    return f"not a valid submission ({'; '.join(problems)})"

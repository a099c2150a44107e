"""A channel submission off NATS, checked before anything else: small enough,
UTF-8 text, JSON, a submission (as the model and the published schema read
it) of the channel it was sent on. What fails is
refused with a reason a person reading ``tousu dlq list`` can act on.

The bytes are parsed once, by the model in pydantic's strict mode for JSON:
a JSON value is taken only as the type the published schema gives it (no
``"yes"`` for a boolean, no ``"3"`` for a number; an instant, an enum's value
or an id is a string, as the schema says), so the model refuses whatever its
schema refuses, naming the field, and the schema need not be checked again
(tests/unit/test_strict_submissions.py holds the two to that)."""

from __future__ import annotations

from pydantic import ValidationError

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
        submission = Submission.model_validate_json(data, strict=True)
    except ValidationError as exc:
        raise RefusedSubmission(_reason(exc)) from None
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

"""``Idempotency-Key`` on public submissions: a resend files nothing new.

Built on intake's own resend rule (a submission's ``external_ref`` names its
complaint, so a second submission with the same one answers the first
complaint, ``repeated``): the key becomes the reference, and a digest of the
body rides along after ``#`` (see tousu.shared.intake.submission.FINGERPRINT). On a
repeat the stored reference is compared with this one: the same key with
another body is a client error (422 naming the header), not a silent answer
about a different complaint.

The key and the body are stored only as SHA-256 digests. A repeat answers the
same tracking number with ``access_code: null``: the code was shown once and
only its keyed hash is kept, so it cannot be shown again.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from tousu.services.gateway.complaints.reader import load_case
from tousu.services.gateway.problems import Text, Unprocessable
from tousu.shared.events import decode
from tousu.shared.events import types as ev
from tousu.shared.intake.submission import Submission, fingerprinted
from tousu.shared.store import EventStore

HEADER = "Idempotency-Key"
KEY_REUSED = Text(
    "该 Idempotency-Key 已用于另一份不同的投诉：新的投诉请换一个新的键",
    "This Idempotency-Key was used for a different complaint: send a new key for a new one",
)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def keyed(submission: Submission, prefix: str, key: str | None) -> Submission:
    """``submission`` named by ``key`` (and fingerprinted), or as it is without one."""
    if key is None:
        return submission
    body = submission.model_dump(mode="json", exclude_unset=True, exclude={"external_ref"})
    fingerprint = _digest(json.dumps(body, sort_keys=True, ensure_ascii=False))
    reference = fingerprinted(f"{prefix}-{_digest(key)}", fingerprint)
    return submission.model_copy(update={"external_ref": reference})


async def check_resend(store: EventStore, submission: Submission, result: dict[str, Any]) -> None:
    """Refuse (422) a repeat whose key was first sent with another body."""
    if not result.get("repeated") or submission.external_ref is None:
        return
    case = await load_case(store, uuid.UUID(str(result["complaint_id"])))
    stored = next(
        (
            data.external_ref
            for envelope in case.history
            if envelope.type == "ComplaintReceived"
            and isinstance(data := decode(envelope), ev.ComplaintReceived)
        ),
        None,
    )
    if stored != submission.external_ref:
        raise Unprocessable(
            KEY_REUSED,
            code="idempotency_key_reused",
            errors=[
                {
                    "field": f"header.{HEADER}",
                    "message": "used before with a different body",
                    "type": "idempotency_key_reused",
                }
            ],
        )

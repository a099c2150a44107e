"""Finding the recent complaints a new one may repeat (重复件): the search
:func:`.duplicates.find_duplicates` scores, written once for intake (which
suggests them as a complaint comes in) and the staff intake console (which
asks again when staff verify it).

It reads the store's ``ComplaintReceived`` events directly rather than a
projection, so a complaint registered a moment ago is found too. Events hold
contact details sealed: the same person is found by their complainant key.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tousu.shared.events.envelope import STREAM_PREFIX
from tousu.shared.events.types import Complainant
from tousu.shared.intake.duplicates import (
    DEFAULT_WINDOW_DAYS,
    DuplicateCandidate,
    DuplicateMatch,
    find_duplicates,
    normalize_email,
    normalize_phone,
)
from tousu.shared.privacy.keys import Queryable, keys_by_contact
from tousu.shared.privacy.reveal import reveal_all

WINDOW = timedelta(days=DEFAULT_WINDOW_DAYS)

_RECEIVED_FROM = """
SELECT e.stream_id, e.occurred_at, e.data, t.tracking_no
  FROM events e LEFT JOIN tracking_numbers t
    ON t.complaint_id = substr(e.stream_id, 11)::uuid
 WHERE e.type = 'ComplaintReceived' AND e.occurred_at >= $1
   AND e.stream_id <> $2
   AND (e.data -> 'complainant' ->> 'key') = any($3::text[])"""


@dataclass(frozen=True)
class Repeated:
    """An earlier complaint the new one may repeat, and why."""

    match: DuplicateMatch
    tracking_no: str | None
    received_at: datetime
    subject: str


def _json(value: Any) -> dict[str, Any]:
    # A pool without the store's jsonb codec gives the text.
    found = json.loads(value) if isinstance(value, str | bytes) else value
    return dict(found)


async def repeats_of(
    pool: Queryable,
    complaint_id: uuid.UUID,
    who: Complainant,
    subject: str,
    description: str,
    received_at: datetime,
) -> list[Repeated]:
    """The complaints received from the same contact within the window before
    ``received_at`` whose text is similar, best match first (as
    :func:`find_duplicates` orders them); none when ``who`` left no phone
    number or e-mail address."""
    if not (who.phone or who.email):
        return []
    rows = await pool.fetch(
        _RECEIVED_FROM,
        received_at - WINDOW,
        f"{STREAM_PREFIX}{complaint_id}",
        await keys_by_contact(
            pool,
            normalize_phone(who.phone) if who.phone else None,
            normalize_email(who.email) if who.email else None,
        ),
    )
    by_id = {r["stream_id"].removeprefix(STREAM_PREFIX): r for r in rows}
    data = {cid: _json(r["data"]) for cid, r in by_id.items()}
    people = await reveal_all(
        pool, [Complainant.model_validate(d["complainant"]) for d in data.values()]
    )
    candidates = [
        DuplicateCandidate.of(
            cid, r["occurred_at"], person, data[cid]["subject"], data[cid]["description"]
        )
        for (cid, r), person in zip(by_id.items(), people, strict=True)
    ]
    this = DuplicateCandidate.of(str(complaint_id), received_at, who, subject, description)
    return [
        Repeated(
            match=match,
            tracking_no=by_id[match.complaint_id]["tracking_no"]
            or data[match.complaint_id].get("tracking_no"),
            received_at=by_id[match.complaint_id]["occurred_at"],
            subject=data[match.complaint_id]["subject"],
        )
        for match in find_duplicates(this, candidates, received_at)
    ]

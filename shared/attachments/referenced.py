"""The files the event store refers to, for the sweep and the audit, and
the files staff published (for the public Open311 reads)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from tousu.shared.events.types import FileRef
from tousu.shared.privacy.keys import Queryable


def _ref(raw: object) -> FileRef:
    # JSON text, or a dict where a codec decodes jsonb.
    if isinstance(raw, str):
        return FileRef.model_validate_json(raw)
    return FileRef.model_validate(raw)


async def referenced(conn: Queryable) -> AsyncIterator[tuple[str, FileRef]]:
    """(stream, file) for every file an event names, stream by stream."""
    rows = await conn.fetch(
        "SELECT stream_id, f AS ref FROM events, jsonb_array_elements(data -> 'attachments') f "
        "WHERE data ? 'attachments' ORDER BY global_position"
    )
    for row in rows:
        yield row["stream_id"], _ref(row["ref"])


async def published(conn: Queryable, streams: list[str]) -> dict[str, list[FileRef]]:
    """Per stream, the files a step named as public, in the order they were
    named, each once: only staff publish a file (the decider refuses a
    complainant's own ``public``), by naming it with ``public`` in a step."""
    rows = await conn.fetch(
        "SELECT stream_id, f AS ref FROM events, jsonb_array_elements(data -> 'attachments') f "
        "WHERE stream_id = any($1::text[]) AND data ? 'attachments' "
        "AND (f ->> 'public')::boolean ORDER BY global_position",
        streams,
    )
    found: dict[str, list[FileRef]] = {}
    for row in rows:
        ref = _ref(row["ref"])
        files = found.setdefault(row["stream_id"], [])
        if all(f.sha256 != ref.sha256 for f in files):
            files.append(ref)
    return found


async def erased_owners(conn: Queryable, owners: set[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``owners`` were erased: their files are meant to be unreadable."""
    rows = await conn.fetch(
        "SELECT complainant_id FROM complainant_keys "
        "WHERE complainant_id = any($1::uuid[]) AND data_key IS NULL",
        list(owners),
    )
    return {r["complainant_id"] for r in rows}

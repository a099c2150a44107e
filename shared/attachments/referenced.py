"""The files the event store refers to, for the sweep and the audit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from tousu.shared.events.types import FileRef
from tousu.shared.privacy.keys import Queryable


async def referenced(conn: Queryable) -> AsyncIterator[tuple[str, FileRef]]:
    """(stream, file) for every file an event names, stream by stream."""
    rows = await conn.fetch(
        "SELECT stream_id, f AS ref FROM events, jsonb_array_elements(data -> 'attachments') f "
        "WHERE data ? 'attachments' ORDER BY global_position"
    )
    for row in rows:
        raw = row["ref"]  # JSON text, or a dict where a codec decodes jsonb
        ref = (
            FileRef.model_validate_json(raw)
            if isinstance(raw, str)
            else FileRef.model_validate(raw)
        )
        yield row["stream_id"], ref


async def erased_owners(conn: Queryable, owners: set[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``owners`` were erased: their files are meant to be unreadable."""
    rows = await conn.fetch(
        "SELECT complainant_id FROM complainant_keys "
        "WHERE complainant_id = any($1::uuid[]) AND data_key IS NULL",
        list(owners),
    )
    return {r["complainant_id"] for r in rows}

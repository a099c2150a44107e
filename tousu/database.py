"""Bring a database to what this version of tousu needs: the SQL migrations,
then the projections' tables (which the metrics service owns and creates
itself, so that a rebuild can swap them)."""

from __future__ import annotations

import asyncpg

from tousu.services.metrics.projections import PROJECTIONS
from tousu.services.metrics.projections.state import ensure_table
from tousu.shared.privacy.upgrade import upgrade as upgrade_personal_data
from tousu.shared.store.chain import seal_all
from tousu.shared.store.migrate import migrate

_CHAIN_MIGRATION = "0012_event_chain"


async def prepare_database(url: str) -> list[str]:
    """What was applied now: migration names, then ``projection <name>``."""
    applied = await migrate(url)
    conn = await asyncpg.connect(url)
    try:
        if _CHAIN_MIGRATION in applied:
            # The events stored before the chain existed are sealed now, in
            # commit order, so verification covers the whole history.
            sealed = await seal_all(conn)
            if sealed:
                applied.append(f"sealed {sealed} events")
        # Keys stored unwrapped and contacts kept in plain text by earlier
        # versions (docs/personal-data.md).
        applied += (await upgrade_personal_data(conn)).as_list()
        for projection in PROJECTIONS:
            if await ensure_table(conn, projection):
                applied.append(f"projection {projection.name}")
    finally:
        await conn.close()
    return applied

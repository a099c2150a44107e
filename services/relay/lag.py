"""How far the relay is behind, counted in PostgreSQL (for the lag metric)."""

from __future__ import annotations

import asyncpg

# Commit order is (tx_id, global_position), as read_all uses; events of
# transactions still below the horizon count too, they are about to be read.
_PENDING_AFTER = """
SELECT count(*) FROM events
WHERE (tx_id, global_position) > (SELECT tx_id, global_position FROM events
                                  WHERE global_position = $1)
"""


async def pending_events(pool: asyncpg.Pool, after: int) -> int:
    """Events stored after read_all position ``after`` (0: all of them)."""
    if after == 0:
        return int(await pool.fetchval("SELECT count(*) FROM events"))
    return int(await pool.fetchval(_PENDING_AFTER, after) or 0)

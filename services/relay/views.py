"""What other processes read of the relay: its quarantine, counted.

The relay owns the ``relay_quarantine`` table (:mod:`tousu.services.relay.quarantine`);
a service that wants to know whether events are held reads it here, never
with its own SQL. The CLI (``tousu relay quarantine``) is an entry point and
uses the quarantine module itself.
"""

from __future__ import annotations

from tousu.services.relay import quarantine
from tousu.services.relay.quarantine import Db


async def quarantined(db: Db) -> int:
    """Events the relay set aside and has not published (yet)."""
    return await quarantine.open_count(db)


async def quarantine_readiness(db: Db) -> str:
    """A ``/readyz`` check: "ok", or "degraded" with the number of events held."""
    return await quarantine.readiness_check(db)

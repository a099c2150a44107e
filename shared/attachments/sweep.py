"""Removing stored files no event refers to: an upload whose command failed,
or was never sent. Only files older than the grace period go, so an upload
whose command is on its way is never taken from under it (the command's
decider would then refuse it as missing, not store a dangling reference)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tousu.shared.attachments.referenced import referenced
from tousu.shared.attachments.store import BlobStore, LocalStore, blob_name
from tousu.shared.privacy.keys import Queryable


@dataclass
class Swept:
    removed: list[str] = field(default_factory=list)
    kept: int = 0  # referenced, or younger than the grace period
    leftovers: int = 0  # temporary files a crash left mid-write


async def referenced_names(conn: Queryable) -> set[str]:
    """The blob names the events refer to (a file and its thumbnail)."""
    wanted: set[str] = set()
    async for _stream, ref in referenced(conn):
        wanted.add(blob_name(ref.owner, ref.sha256))
        if ref.thumbnail:
            wanted.add(blob_name(ref.owner, ref.sha256, thumbnail=True))
    return wanted


async def sweep(
    conn: Queryable,
    store: BlobStore,
    *,
    grace: timedelta,
    now: datetime,
    dry_run: bool = False,
    wanted: set[str] | None = None,
) -> Swept:
    """Remove the unreferenced files older than ``grace`` (listed only, with
    ``dry_run``); ``wanted``: the referenced names, when the caller read them."""
    if wanted is None:
        wanted = await referenced_names(conn)
    out = Swept()
    cutoff = now - grace
    async for blob in store.listing():
        if blob.name in wanted or blob.modified_at > cutoff:
            out.kept += 1
            continue
        out.removed.append(blob.name)
        if not dry_run:
            await store.delete(blob.name)
    if isinstance(store, LocalStore):
        for temp in store.leftovers():
            if datetime.fromtimestamp(temp.stat().st_mtime, now.tzinfo) <= cutoff:
                out.leftovers += 1
                if not dry_run:
                    temp.unlink(missing_ok=True)
    return out

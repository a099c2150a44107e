"""Adding and reading attachments: check, seal, store; fetch, open.

:meth:`Attachments.add` is what every upload surface calls (web form, staff
API, Open311 media, a channel adapter's upload) before the command that
names the file: the file is checked and kept (shared/attachments/checks.py),
sealed for its owner and stored, thumbnail first, and only then is its
:class:`FileRef` handed back to go into a command. A refusal stores nothing;
a command that then fails leaves a blob no event names, which the sweep
removes after its grace period (shared/attachments/sweep.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass, field

from tousu.shared.attachments.checks import Kept, check
from tousu.shared.attachments.limits import AttachmentLimits
from tousu.shared.attachments.sealing import Unreadable, open_blob, owner_key, seal_blob
from tousu.shared.attachments.store import BlobStore, blob_name, store_for
from tousu.shared.events.types import FileRef
from tousu.shared.privacy.keys import Queryable
from tousu.shared.settings import Settings


@dataclass(frozen=True)
class Attachments:
    store: BlobStore
    keys: Queryable  # where the complainants' data keys are (the database)
    limits: AttachmentLimits = field(default_factory=AttachmentLimits)

    @classmethod
    def for_settings(cls, settings: Settings, keys: Queryable) -> Attachments:
        """The deployment's: its store (data folder or bucket) and its limits."""
        return cls(store_for(settings), keys, AttachmentLimits.of(settings.attachments))

    async def add(
        self,
        owner: uuid.UUID | None,
        data: bytes,
        name: str,
        *,
        field: str = "attachments",
        shared_with_complainant: bool = False,
        public: bool = False,
    ) -> FileRef:
        """Check ``data`` and store what is kept of it, sealed for ``owner``
        (the case's complainant key: :mod:`tousu.shared.attachments.owners`).
        Raises :class:`~tousu.shared.attachments.checks.Refused`."""
        kept = await self.check(data, name, field=field)
        return await self.keep(
            owner, kept, shared_with_complainant=shared_with_complainant, public=public
        )

    async def check(self, data: bytes, name: str, *, field: str = "attachments") -> Kept:
        """What would be kept of ``data``, nothing stored yet: a form taking
        several files checks them all first, so that one refused file leaves
        none of the others stored. Raises :class:`Refused`."""
        # Half a second for a 12 MP photo (docs/attachments.md): off the event
        # loop, so other requests go on meanwhile (Pillow releases the GIL).
        return await asyncio.to_thread(check, data, name, field, self.limits)

    async def keep(
        self,
        owner: uuid.UUID | None,
        kept: Kept,
        *,
        shared_with_complainant: bool = False,
        public: bool = False,
    ) -> FileRef:
        """Store a checked file sealed for ``owner``, thumbnail first; its reference."""
        sha256 = hashlib.sha256(kept.content).hexdigest()
        key = await owner_key(self.keys, owner)
        if kept.thumbnail is not None:
            thumb = blob_name(owner, sha256, thumbnail=True)
            await self.store.put(thumb, seal_blob(key, owner, sha256, thumb, kept.thumbnail))
        main = blob_name(owner, sha256)
        await self.store.put(main, seal_blob(key, owner, sha256, main, kept.content))
        return FileRef(
            sha256=sha256,
            size=len(kept.content),
            media_type=kept.media_type,
            name=kept.name,
            owner=owner,
            thumbnail=kept.thumbnail is not None,
            shared_with_complainant=shared_with_complainant,
            public=public,
        )

    async def read(self, ref: FileRef, *, thumbnail: bool = False) -> bytes:
        """The file's plain bytes (or its thumbnail's); :class:`Unreadable`
        when missing, erased or altered."""
        if thumbnail and not ref.thumbnail:
            raise Unreadable(f"{ref.name} has no thumbnail")
        name = blob_name(ref.owner, ref.sha256, thumbnail=thumbnail)
        box = await self.store.get(name)
        if box is None:
            raise Unreadable(f"{ref.name} is not in the attachment store")
        plain = open_blob(await owner_key(self.keys, ref.owner), ref.owner, ref.sha256, name, box)
        if not thumbnail and hashlib.sha256(plain).hexdigest() != ref.sha256:
            raise Unreadable(f"{ref.name} does not have the hash its event records")
        return plain

    async def problem(self, ref: FileRef) -> str | None:
        """Why ``ref`` cannot be attached, or None: the file must be stored first."""
        if not await self.store.exists(blob_name(ref.owner, ref.sha256)):
            return "no such file in the attachment store (upload it first)"
        return None

"""A case's files, who may see which, and how one is served (docs/attachments.md).

Every surface that shows or serves a file (the staff pages, the tracking
page, the APIs) finds it here, in the case's own events, by its hash: a URL
names a file only within a case the reader may already see, so a hash from
another case leads nowhere. Staff see every file of a case they may open;
the complainant sees the files they sent (their complaint's) and those a
department marked ``shared_with_complainant``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Final

from starlette.responses import Response

from tousu.services.gateway.complaints.reader import Case
from tousu.shared.attachments.files import Attachments
from tousu.shared.attachments.sealing import Unreadable
from tousu.shared.attachments.serving import headers
from tousu.shared.events import decode
from tousu.shared.events.types import FileRef

SHA256: Final = re.compile(r"^[0-9a-f]{64}$")
STAFF_FILES: Final = "/staff/cases/{complaint_id}/files/{sha256}"
PUBLIC_FILES: Final = "/track/files/{sha256}"


def case_files(case: Case) -> Iterator[tuple[str, FileRef]]:
    """(event type, file) for each file the case's events name, in order."""
    for envelope in case.history:
        data = decode(envelope)
        for ref in getattr(data, "attachments", None) or ():
            if isinstance(ref, FileRef):
                yield envelope.type, ref


def complainant_files(case: Case) -> list[FileRef]:
    """The files the complainant may see: their own, and those shared with them."""
    seen: dict[str, FileRef] = {}
    for event_type, ref in case_files(case):
        if event_type == "ComplaintReceived" or ref.shared_with_complainant:
            seen.setdefault(ref.sha256, ref)
    return list(seen.values())


def staff_file(case: Case, sha256: str) -> FileRef | None:
    return next((ref for _, ref in case_files(case) if ref.sha256 == sha256), None)


def complainant_file(case: Case, sha256: str) -> FileRef | None:
    return next((ref for ref in complainant_files(case) if ref.sha256 == sha256), None)


def staff_file_url(complaint_id: uuid.UUID, ref: FileRef, *, thumbnail: bool = False) -> str:
    url = STAFF_FILES.format(complaint_id=complaint_id, sha256=ref.sha256)
    return f"{url}/thumb" if thumbnail else url


def public_file_url(ref: FileRef, *, thumbnail: bool = False) -> str:
    url = PUBLIC_FILES.format(sha256=ref.sha256)
    return f"{url}/thumb" if thumbnail else url


async def file_response(
    attachments: Attachments, ref: FileRef | None, *, thumbnail: bool = False
) -> Response:
    """The file (or its thumbnail) with the serving headers; 404 for no such
    file here, an erased complainant's, or one missing from the store."""
    if ref is None or (thumbnail and not ref.thumbnail):
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    try:
        content = await attachments.read(ref, thumbnail=thumbnail)
    except Unreadable:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    return Response(content, headers=headers(ref, thumbnail=thumbnail))

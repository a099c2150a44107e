"""Open311 media: a photo posted with a request, and ``media_url`` on reads.

Posting: GeoReport v2's ``media_url`` names a picture the client hosts; the
common ``media`` extension (as FixMyStreet and SeeClickFix take it) sends the
file itself, a multipart part named ``media``. That file is checked and
kept like every upload (docs/attachments.md), sealed with the key of the
complainant the request's ``email`` or ``phone`` names, and named in the
submission: it becomes the complaint's own file, which staff see with the case.

Reading: the reads are public and a citizen's photo may show their face,
their door or their car, so ``media_url`` shows no citizen file by default.
It shows a file only once staff publish it, by naming it with ``public`` in
a step of the case (their own photo of the repair, or the citizen's photo
they judged fit to show); it then links to :data:`MEDIA`, which serves only
such files of Open311 requests.
"""

from __future__ import annotations

import uuid
from typing import Final

import asyncpg
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from tousu.services.gateway.open311.formats import Open311Error
from tousu.shared.attachments.checks import Refused
from tousu.shared.attachments.files import Attachments
from tousu.shared.attachments.owners import owner_for_contact
from tousu.shared.attachments.referenced import published
from tousu.shared.attachments.sealing import Unreadable
from tousu.shared.attachments.serving import headers
from tousu.shared.events import complaint_stream
from tousu.shared.events.types import FileRef
from tousu.shared.intake.submission import Submission

FIELD: Final = "media"
# Under the Open311 prefix; a path with no format suffix, as a file has none.
MEDIA: Final = "/requests/{service_request_id}/media/{sha256}"


def uploaded(form: FormData) -> UploadFile | None:
    """The ``media`` part, if one was sent; 400 for more than one."""
    files = [v for v in form.getlist(FIELD) if isinstance(v, UploadFile)]
    if len(files) > 1:
        raise Open311Error(400, "media: send one file")
    return files[0] if files else None


async def with_media(
    submission: Submission, media: UploadFile, attachments: Attachments, pool: asyncpg.Pool
) -> Submission:
    """``submission`` naming ``media``, kept for its complainant; 400 with the
    reason when the file is refused (nothing is stored then)."""
    who = submission.complainant
    owner = await owner_for_contact(pool, who.phone, who.email)
    data = await media.read(attachments.limits.max_bytes + 1)
    try:
        ref = await attachments.add(owner, data, media.filename or "", field=FIELD)
    except Refused as refusal:
        raise Open311Error(400, f"{refusal.field}: {refusal.reason}") from None
    return submission.model_copy(update={"attachments": [ref]})


async def published_media(
    pool: asyncpg.Pool, complaints: list[uuid.UUID]
) -> dict[uuid.UUID, FileRef]:
    """Per complaint, the first file staff published, if any."""
    found = await published(pool, [complaint_stream(c) for c in complaints])
    return {c: files[0] for c in complaints if (files := found.get(complaint_stream(c)))}


def media_url(base: str, service_request_id: str, ref: FileRef) -> str:
    return base + MEDIA.format(service_request_id=service_request_id, sha256=ref.sha256)


async def media_response(
    attachments: Attachments, pool: asyncpg.Pool, complaint_id: uuid.UUID, sha256: str
) -> Response:
    """A published file of the complaint, with the serving headers; 404 for
    any other (not published, not this complaint's, erased, missing)."""
    found = await published(pool, [complaint_stream(complaint_id)])
    ref = next(
        (f for f in found.get(complaint_stream(complaint_id), ()) if f.sha256 == sha256), None
    )
    if ref is None:
        raise Open311Error(404, "no such published media")
    try:
        content = await attachments.read(ref)
    except Unreadable:
        raise Open311Error(404, "no such published media") from None
    return Response(content, headers=headers(ref))
